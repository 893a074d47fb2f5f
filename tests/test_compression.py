"""Compression: metrics, yjpeg/size-limit codec behaviour, imageSlim, Guetzli, sweep/recommend/plots, tuner.

Images are small crops (AVIF and Guetzli are slow). Results are checked against independent facts:
the ``ssimulacra2`` package's own implementation, JPEG markers read from the bytes, brute-force
searches, and plain re-encodes with Pillow.
"""

from __future__ import annotations

import io
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image, JpegImagePlugin

import cinb
import cinb.compression as cc
from cinb import data
from cinb.compression import metrics
from cinb.errors import CIError
from reference_metrics import reference_ssimulacra2

SAMPLE = data.sample_dir()


@cache
def photo(name: str = "coffee.jpg", box=(200, 120, 360, 240)) -> Image.Image:
    return Image.open(SAMPLE / name).convert("RGB").crop(box)


def jpeg_bytes(img: Image.Image, quality: int, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=quality, **kw)
    return buf.getvalue()


def decoded(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data)).convert("RGB")


def markers(data: bytes) -> set[int]:
    out, pos = set(), 2
    while pos + 4 <= len(data) and data[pos] == 0xFF:
        m = data[pos + 1]
        out.add(m)
        if m == 0xDA:
            break
        pos += 2 + int.from_bytes(data[pos + 2:pos + 4], "big")
    return out


# --- metrics ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("quality", [25, 80])
@pytest.mark.parametrize("box", [(200, 120, 360, 240), (0, 0, 77, 61)])
def test_ssimulacra2_matches_reference_package(quality, box):
    src = photo(box=box)
    dist = decoded(jpeg_bytes(src, quality))
    assert metrics.ssimulacra2(src, dist) == pytest.approx(reference_ssimulacra2(src, dist), abs=0.05)


def test_metrics_identity_and_order():
    src = photo()
    assert metrics.ssimulacra2(src, src) == 100.0
    assert metrics.psnr(src, src) == float("inf")
    assert metrics.ssim(src, src) == pytest.approx(1.0)
    lo, hi = decoded(jpeg_bytes(src, 20)), decoded(jpeg_bytes(src, 90))
    ref = metrics.Reference(src)
    for name in ("psnr", "ssim", "ssimulacra2"):
        assert ref.score(lo, (name,))[name] < ref.score(hi, (name,))[name]


def test_metrics_refuse_different_sizes():
    with pytest.raises(CIError, match="different sizes"):
        metrics.psnr(photo(), photo().resize((10, 10)))
    with pytest.raises(CIError, match="unknown metric 'vmaf'"):
        metrics.get_metric("vmaf")


# --- codecs: yjpeg, subsampling, size-limit ------------------------------------------------------------

def test_yjpeg_is_smaller_baseline_and_keeps_metadata():
    src = SAMPLE / "display-p3.jpg"
    y = cinb.process(src, "imageMogr2/format/yjpeg")
    j = cinb.process(src, "imageMogr2/format/jpg")
    assert 0xC2 not in markers(y.data) and (0xC0 in markers(y.data) or 0xC1 in markers(y.data))
    assert len(y.data) < len(j.data)
    with Image.open(src) as im:
        assert Image.open(io.BytesIO(y.data)).info.get("icc_profile") == im.info.get("icc_profile")
    rotated = cinb.process(SAMPLE / "orientation-6.jpg", "imageMogr2/format/yjpeg")
    assert Image.open(io.BytesIO(rotated.data)).getexif().get(0x0112) == 6


def test_jpeg_subsampling_control():
    from cinb.codecs.jpeg import encode_jpeg

    for name, expected in (("4:4:4", 0), ("4:2:2", 1), ("4:2:0", 2)):
        data = encode_jpeg(photo(), 80, subsampling=name)
        assert JpegImagePlugin.get_sampling(Image.open(io.BytesIO(data))) == expected


def _av1_chroma_subsampling(data: bytes) -> tuple[int, int]:
    """(subsampling_x, subsampling_y) from the AV1 codec configuration box (av1C) of an AVIF file."""
    pos = data.index(b"av1C") + 4
    flags = data[pos + 2]  # marker/version, profile/level, then tier|hbd|12bit|mono|ss_x|ss_y|pos(2)
    return (flags >> 3) & 1, (flags >> 2) & 1


def test_avif_chroma_is_full_resolution_from_quality_70():
    from cinb.codecs.avif import FULL_CHROMA_QUALITY

    src = jpeg_bytes(photo(), 95)
    assert FULL_CHROMA_QUALITY == 70
    for q, expected in ((40, (1, 1)), (69, (1, 1)), (70, (0, 0)), (90, (0, 0))):
        out = cinb.process(src, f"imageMogr2/format/avif/quality/{q}")
        assert out.format == "avif" and _av1_chroma_subsampling(out.data) == expected, q


def test_size_limit_finds_the_highest_fitting_quality():
    src = jpeg_bytes(photo(box=(0, 0, 300, 200)), 95)
    limit = 9 * 1024
    out = cinb.process(src, "imageMogr2/size-limit/9k")
    # brute force with the same encoder: every quality up to the source's
    from cinb.codecs.jpeg import encode_jpeg
    frame = Image.open(io.BytesIO(src)).convert("RGB")
    fits = [q for q in range(1, 96) if len(encode_jpeg(frame, q)) <= limit]
    assert len(out.data) <= limit
    assert out.info["quality"] == max(fits)


# --- imageSlim -----------------------------------------------------------------------------------------

def test_imageslim_parses_and_refuses_parameters_and_overrides_size_limit():
    assert str(cinb.parse_rule("imageMogr2/thumbnail/80x|imageSlim")) == "imageMogr2/thumbnail/80x|imageSlim"
    with pytest.raises(CIError) as err:
        cinb.parse_rule("imageSlim/quality/50")
    assert err.value.code == -103 and "imageSlim takes no parameters" in str(err.value)
    # CI 1246/109211: with size-limit, only imageSlim takes effect.
    src = jpeg_bytes(photo(), 90)
    both = cinb.process(src, "imageMogr2/size-limit/10k|imageSlim")
    assert both.data == cinb.process(src, "imageSlim").data
    assert both.info["size_limit_ignored"] == "imageSlim" and "size_limit_met" not in both.info


def test_imageslim_jpeg_is_smaller_and_stays_above_threshold():
    src_img = photo()
    src = jpeg_bytes(src_img, 95)
    out = cinb.process(src, "imageSlim")
    assert out.format == "jpeg" and out.response["X-Slimflag"] == 1
    assert len(out.data) < 0.8 * len(src)
    assert "_encode_strategy" not in out.info
    source_pixels = decoded(src)
    assert reference_ssimulacra2(source_pixels, decoded(out.data)) >= 80.0 - 0.05


def test_imageslim_threshold_trades_bytes():
    src = jpeg_bytes(photo(), 95)
    loose = cc.slim(src, threshold=60)
    strict = cc.slim(src, threshold=90)
    assert len(loose.data) < len(strict.data)
    assert strict.info["slim_score"] >= 90


def test_imageslim_keeps_the_original_when_nothing_is_gained():
    buf = io.BytesIO()
    photo().save(buf, "BMP")
    out = cinb.process(buf.getvalue(), "imageSlim")
    assert out.response["X-Slimflag"] == 2 and out.data == buf.getvalue()
    animated = (SAMPLE / "animated.gif").read_bytes()  # animations are not slimmed: the original comes back
    out = cinb.process(animated, "imageSlim")
    assert out.response["X-Slimflag"] == 2 and out.data == animated


def test_imageslim_png_is_lossless_or_palette_within_threshold():
    flat = Image.new("RGB", (120, 80), "white")
    flat.paste((200, 30, 30), (10, 10, 60, 60))
    flat.paste((30, 30, 200), (50, 30, 110, 70))
    src = io.BytesIO()
    flat.save(src, "PNG", compress_level=1)
    out = cinb.process(src.getvalue(), "imageSlim")
    assert out.format == "png" and out.response["X-Slimflag"] == 1 and len(out.data) < len(src.getvalue())
    assert np.array_equal(np.asarray(decoded(out.data)), np.asarray(flat))


def test_imageslim_after_geometry():
    out = cinb.process(jpeg_bytes(photo(), 92), "imageMogr2/thumbnail/80x|imageSlim")
    assert out.width == 80 and out.response["X-Slimflag"] in (1, 2)


# --- Guetzli -------------------------------------------------------------------------------------------

def test_guetzli_outside_ci_conditions_serves_the_original():
    # CI 460/46820, 1246/45276: x-GuetzliState "< 0: cannot be processed (conditions not met)", the
    # picture served as it is; a source that is no JPEG is not processed (0)
    png = io.BytesIO()
    photo().save(png, "PNG")
    r = cc.guetzli(png.getvalue())
    assert (r.info["x-GuetzliState"], r.format, r.data) == (0, "png", png.getvalue())
    assert "JPEG sources only" in r.info["guetzli_refused"]
    low = jpeg_bytes(photo(), 50)
    r = cc.guetzli(low)
    assert (r.info["x-GuetzliState"], r.data) == (-1, low) and "above 70" in r.info["guetzli_refused"]
    big = jpeg_bytes(photo(), 90)
    r = cc.guetzli(big, max_megapixels=0.01)
    assert (r.info["x-GuetzliState"], r.data) == (-1, big) and "megapixels" in r.info["guetzli_refused"]
    with pytest.raises(CIError, match="84-100"):  # cinb's own parameter: a caller's error stays an error
        cc.guetzli(jpeg_bytes(photo(), 90), quality=60)


def test_guetzli_no_smaller_serves_the_original_and_says_its_quality():
    # a flat 8x8 q90 JPEG: Guetzli at 100 makes nothing smaller, so the original is served (state 0) and
    # info describes those bytes (quality 90, not the 100 asked of Guetzli)
    src = jpeg_bytes(Image.new("RGB", (8, 8), (120, 130, 140)), 90, optimize=True)
    r = cc.guetzli(src, quality=100)
    assert (r.info["x-GuetzliState"], r.data, r.info["quality"]) == (0, src, 90)


def test_guetzli_collection_warns_and_reports_rows(tmp_path, monkeypatch):
    import importlib

    g = importlib.import_module("cinb.compression.guetzli")  # the module, not the function of that name
    good = tmp_path / "small.jpg"
    good.write_bytes(jpeg_bytes(photo(box=(0, 0, 40, 32)), 95))
    bad = tmp_path / "low.jpg"
    bad.write_bytes(jpeg_bytes(photo(box=(0, 0, 40, 32)), 40))
    monkeypatch.setattr(g, "SECONDS_PER_MEGAPIXEL", 1e6)
    with pytest.warns(cc.GuetzliSlowWarning, match="Guetzli is slow"):
        out = cc.guetzli_collection(pd.DataFrame({"path": [str(good), str(bad)]}), tmp_path / "out", workers=1,
                                    progress=False)
    assert out["error"].isna().tolist() == [True, True]
    assert out["guetzli_state"][0] in (0, 100) and out["guetzli_state"][1] == -1
    assert "above 70" in out["guetzli_refused"][1]
    assert Path(out["guetzli_path"][1]).read_bytes() == bad.read_bytes()  # CI serves it as it is
    data = Path(out["guetzli_path"][0]).read_bytes()
    assert data[:2] == b"\xff\xd8" and Image.open(io.BytesIO(data)).size == (40, 32)


# --- sweep / recommend / plots ---------------------------------------------------------------------------

@cache
def tiny_collection(tmp: str) -> list[str]:
    paths = []
    for i, box in enumerate([(0, 0, 64, 48), (300, 200, 380, 260)]):
        p = Path(tmp) / f"img{i}.jpg"
        p.write_bytes(jpeg_bytes(photo("coffee.jpg", box=(0, 0, 600, 400)).crop(box), 90))
        paths.append(str(p))
    return paths


def test_sweep_rows_and_values(tmp_path):
    paths = tiny_collection(str(tmp_path))
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not an image")
    t = cc.sweep(pd.DataFrame({"path": paths + [str(broken)]}), formats=["jpeg", "webp", "png"],
                 qualities=[30, 90], workers=1, progress=False)
    ok = t[t["error"].isna()]
    assert len(ok) == 2 * (2 + 2 + 1) and t["error"].notna().sum() == 1
    assert "broken.jpg" in t.loc[t["error"].notna(), "path"].iloc[0]
    for _, part in ok[ok["format"] != "png"].groupby(["path", "format"]):
        part = part.sort_values("quality")
        assert part["bytes"].is_monotonic_increasing and part["ssimulacra2"].is_monotonic_increasing
    row = ok[(ok["format"] == "webp") & (ok["quality"] == 30)].iloc[0]
    img = Image.open(row["path"]).convert("RGB")
    buf = io.BytesIO()
    img.save(buf, "WEBP", quality=30, method=4)
    assert row["bytes"] == len(buf.getvalue()) and row["bpp"] == pytest.approx(8 * row["bytes"] / (64 * 48))
    assert row["rule"] == "imageMogr2/format/webp/quality/30"
    assert ok[ok["format"] == "png"]["ssimulacra2"].eq(100.0).all()
    parallel = cc.sweep(paths, formats=["jpeg"], qualities=[30, 90], workers=2, progress=False)
    assert parallel["bytes"].tolist() == ok[ok["format"] == "jpeg"]["bytes"].tolist()


def test_recommend_picks_cheapest_setting_meeting_target(tmp_path):
    paths = tiny_collection(str(tmp_path))
    t = cc.sweep(paths, formats=["jpeg", "webp"], qualities=[40, 60, 75, 90], workers=1, progress=False)
    target = 70.0
    rec = cc.recommend(t, {"ssimulacra2": target}, baseline=("jpeg", 90))
    # brute force over the table
    best = None
    for (fmt, q), part in t.groupby(["format", "quality"]):
        if (part["ssimulacra2"] >= target).all() and (best is None or part["bytes"].sum() < best[2]):
            best = (fmt, q, part["bytes"].sum())
    assert (rec.format, rec.quality, rec.bytes) == best
    jpeg90 = t[(t["format"] == "jpeg") & (t["quality"] == 90)]["bytes"].sum()
    assert rec.saving_vs_baseline == pytest.approx(1 - best[2] / jpeg90)
    assert rec.rule.startswith(f"imageMogr2/format/{'jpg' if best[0] == 'jpeg' else best[0]}/quality/{best[1]}")
    assert cc.recommend(t, 101).format is None
    with pytest.raises(CIError, match="no 'psnr' column"):
        cc.recommend(t.drop(columns=["psnr"]), {"psnr": 30})


def test_recommend_on_pictures_in_memory_has_no_source_saving():
    # PIL images have no file, so no source size: the saving is unknown (NaN), not a ZeroDivisionError.
    pics = [Image.open(data.path("astronaut")).convert("RGB").resize((96, 96)),
            Image.open(data.path("coffee")).convert("RGB").resize((96, 64))]
    t = cc.sweep(pics, formats=["jpeg"], qualities=[60, 85], metrics=["psnr"], workers=1, progress=False)
    rec = cc.recommend(t, {"psnr": 25}, baseline=("jpeg", 85))
    assert rec.format == "jpeg" and rec.quality == 60
    assert np.isnan(rec.source_bytes) and np.isnan(rec.saving)
    assert rec.saving_vs_baseline == pytest.approx(1 - t[t["quality"] == 60]["bytes"].sum()
                                                   / t[t["quality"] == 85]["bytes"].sum())
    assert "smaller than the sources" not in str(rec) and "smaller than jpeg q85" in str(rec)


def test_plots(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    from cinb.compression import plots

    t = cc.sweep(tiny_collection(str(tmp_path)), formats=["jpeg", "webp"], qualities=[40, 80], workers=1,
                 progress=False)
    ax = plots.rd_curves(t, highlight=("webp", 80), target=70)
    assert sorted(line.get_label() for line in ax.lines if not line.get_label().startswith("_")) == ["jpeg", "webp"]
    ax = plots.savings_histogram(t, ("webp", 40))
    assert sum(p.get_height() for p in ax.patches) == 2


# --- CompressionTuner -----------------------------------------------------------------------------------

def test_compression_tuner_driven_from_python(tmp_path):
    pytest.importorskip("ipywidgets")
    from cinb.widgets import CompressionTuner

    paths = tiny_collection(str(tmp_path))
    tuner = CompressionTuner(pd.DataFrame({"path": paths}), formats=["jpeg", "webp"], quality=80, crop=32, zoom=2)
    assert tuner.rule == "imageMogr2/format/jpg/quality/80"
    tuner.format.value = "webp"
    tuner.quality.value = 40
    assert tuner.rule_box.value == tuner.rule == "imageMogr2/format/webp/quality/40"
    assert tuner.bytes == len(cc.encode_image(tuner.source, "webp", 40))
    small = tuner.bytes
    tuner.quality.value = 95
    assert tuner.bytes > small and set(tuner.scores) == {"psnr", "ssim", "ssimulacra2"}
    assert "SSIMULACRA2" in tuner.stats.value and f"{tuner.bytes:,} bytes" in tuner.stats.value
    orig, enc = (Image.open(io.BytesIO(v.value)) for v in (tuner.original_view, tuner.encoded_view))
    assert orig.size == enc.size == (64, 64)
    tuner.zoom.value = 3
    assert Image.open(io.BytesIO(tuner.encoded_view.value)).size == (96, 96)
    assert Image.open(io.BytesIO(tuner.rd_plot.value)).format == "PNG"
    tuner.format.value = "jpeg"  # source quality 90: 95 must be forced
    assert tuner.rule == "imageMogr2/format/jpg/quality/95!"
    tuner.image_select.value = paths[1]
    assert tuner.source.size == (80, 60)
