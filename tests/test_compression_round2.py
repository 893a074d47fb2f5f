"""Compression round 2: encoder effort for AVIF/WebP, 10-bit AVIF, and the sweep's new variants.

Effort is cinb's own setting (not CI's grammar): it must change what the encoders do, be refused with a
CIError naming it when bad, and never leak into a rule or a recommendation.
"""

from __future__ import annotations

import builtins
import io

import numpy as np
import pytest
from PIL import Image

from cinb import data
from cinb.codecs.options import EncodeOptions, check_effort
from cinb.compression import encode_image, recommend, slim, summarise, sweep
from cinb.compression.encoders import decode_image, rule_for
from cinb.compression.slim import SlimStage
from cinb.errors import BAD_PARAMETER, CONFIGURATION_MISSING, CIError

SAMPLE = data.sample_dir()


def photo(size: int = 160) -> Image.Image:
    with Image.open(SAMPLE / "coffee.jpg") as im:
        img = im.convert("RGB")
    img.thumbnail((size, size))
    return img


@pytest.mark.parametrize("bad", [-1, 7, 4.0, "4", True, [4]])
def test_bad_effort_is_refused_naming_it(bad):
    with pytest.raises(CIError, match="effort") as err:
        check_effort(bad)
    assert err.value.code == BAD_PARAMETER and "effort" in err.value.token
    with pytest.raises(CIError, match="effort"):
        encode_image(photo(32), "webp", 80, effort=bad)
    with pytest.raises(CIError, match="effort"):
        slim(photo(32), "imageMogr2/format/webp", effort=bad)
    with pytest.raises(CIError, match="effort"):
        sweep(photo(32), formats=["webp"], qualities=[80], metrics=["psnr"], efforts=[bad], workers=1,
              progress=False)


def test_sweep_needs_at_least_one_effort():
    with pytest.raises(CIError, match="efforts"):
        sweep(photo(32), formats=["webp"], qualities=[80], metrics=["psnr"], efforts=[], workers=1, progress=False)


def pil_bytes(img: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def test_default_effort_is_todays_encoder_setting():
    img = photo()
    webp = pil_bytes(img, "WEBP", quality=70, method=4)
    avif = pil_bytes(img, "AVIF", quality=70, speed=6, subsampling="4:4:4")
    assert encode_image(img, "webp", 70) == encode_image(img, "webp", 70, effort=4) == webp
    assert encode_image(img, "avif", 70) == encode_image(img, "avif", 70, effort=4) == avif
    assert encode_image(img, "webp", 70, effort=6) == pil_bytes(img, "WEBP", quality=70, method=6)
    assert encode_image(img, "avif", 70, effort=6) == pil_bytes(img, "AVIF", quality=70, speed=4, subsampling="4:4:4")


@pytest.mark.parametrize("fmt", ["webp", "avif"])
def test_effort_changes_the_encoding(fmt):
    img = photo()
    low, high = (encode_image(img, fmt, 70, effort=e) for e in (0, 6))
    assert low != high
    for out in (low, high):
        assert decode_image(out).size == img.size


def test_effort_is_ignored_by_formats_without_one():
    img = photo()
    assert encode_image(img, "jpeg", 80, effort=0) == encode_image(img, "jpeg", 80)


def test_effort_is_no_token_of_a_rule():
    opts = EncodeOptions(format="webp", effort=6)
    assert opts.tokens() == ["format", "webp"]
    assert str(SlimStage(effort=6)) == "imageSlim"
    with pytest.raises(CIError, match="effort"):
        SlimStage(effort=9)


def test_slim_with_effort_keeps_its_promise():
    img = photo(200)
    out = slim(img, "imageMogr2/format/webp", effort=6)
    assert out.format == "webp" and out.response["X-Slimflag"] in (1, 2)
    if out.response["X-Slimflag"] == 1:
        assert out.info["slim_score"] >= 80.05
    default = slim(img, "imageMogr2/format/webp")
    assert out.data != default.data or out.response["X-Slimflag"] == 2


def test_sweep_shows_each_effort_as_a_variant_and_recommend_ignores_them(tmp_path):
    path = tmp_path / "p.jpg"
    photo(96).save(path, quality=95)
    t = sweep([path], formats=["jpeg", "webp"], qualities=[60, 90], metrics=["ssimulacra2"], efforts=[None, 0, 6],
              workers=1, progress=False)
    assert t["error"].isna().all()
    assert sorted(set(t["variant"])) == ["jpeg", "webp", "webp e0", "webp e6"]
    assert t.loc[t["format"] == "jpeg", "effort"].isna().all()
    assert sorted(t.loc[t["format"] == "webp", "effort"].unique()) == [0, 4, 6]
    assert len(t) == 2 + 3 * 2
    s = summarise(t)
    assert sorted(set(s["variant"])) == ["jpeg", "webp", "webp e0", "webp e6"] and len(s) == 8
    # make the slowest effort the cheapest by far: recommend must still not pick it (no CI rule gives it)
    t.loc[t["variant"] == "webp e6", "bytes"] = 1
    r = recommend(t, 0)
    default = t[t["variant"].isin(["jpeg", "webp"])]
    assert r.bytes == default.groupby(["format", "quality"])["bytes"].sum().min() > 1


def _has_imagecodecs() -> bool:
    try:
        import imagecodecs  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.mark.skipif(not _has_imagecodecs(), reason="imagecodecs not installed")
def test_avif10_is_a_10_bit_avif_close_to_the_source():
    img = photo()
    out = encode_image(img, "avif10", 80)
    assert out[4:12] == b"ftypavif"
    import imagecodecs as ic

    decoded = ic.avif_decode(out)
    assert decoded.dtype == np.uint16 and decoded.max() > 255  # 10-bit samples
    back = np.asarray(decode_image(out).convert("RGB"), dtype=float)
    assert np.abs(back - np.asarray(img, dtype=float)).mean() < 4
    t = sweep(img, formats=["avif", "avif10"], qualities=[80], metrics=["psnr"], workers=1, progress=False)
    assert list(t["variant"]) == ["avif", "avif10"] and t["error"].isna().all()
    assert t.loc[t["format"] == "avif10", "rule"].item().startswith("avif10 (cinb only")


def test_avif10_without_imagecodecs_names_the_package(monkeypatch):
    real = builtins.__import__

    def no_imagecodecs(name, *args, **kwargs):
        if name == "imagecodecs":
            raise ImportError("no imagecodecs")
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_imagecodecs)
    with pytest.raises(CIError, match="imagecodecs") as err:
        encode_image(photo(32), "avif10", 80)
    assert err.value.code == CONFIGURATION_MISSING


@pytest.mark.parametrize("q", [-1, 101, 80.5, True])
def test_avif10_refuses_bad_quality(q):
    from cinb.codecs.avif import encode_avif_10bit

    with pytest.raises(CIError, match="quality"):
        encode_avif_10bit(photo(32), q)


def test_rule_for_avif10_says_ci_has_no_such_rule():
    assert "CI writes 8-bit AVIF" in rule_for("avif10", 80)


def test_yjpeg_in_a_sweep_is_jpegli_with_optimised_tables():
    from cinb.codecs import jpegcoef

    img = photo()
    data_ = encode_image(img, "yjpeg", 85)
    assert jpegcoef.optimize(data_) == data_  # already optimal: a second rewrite gains nothing
    assert Image.open(io.BytesIO(data_)).size == img.size


def test_tradeoff_compares_variants_at_an_equal_score(tmp_path):
    from cinb.compression import tradeoff

    path = tmp_path / "p.jpg"
    photo(96).save(path, quality=95)
    t = sweep([path], formats=["webp"], qualities=[30, 50, 70, 90, 100], metrics=["ssimulacra2"], efforts=[0, None],
              workers=1, progress=False)
    assert (t["encode_cpu_ms"] >= 0).all()
    out = tradeoff(t, 70)
    assert sorted(out["variant"]) == ["webp", "webp e0"] and (out["images"] == 1).all()
    default = out.set_index("variant").loc["webp"]
    assert default["bytes_vs_default"] == 1.0 and default["cpu_vs_default"] == 1.0
    lo, hi = (t[(t["variant"] == "webp") & (t["quality"] == q)]["bytes"].item() for q in (30, 100))
    assert lo <= default["bytes"] <= hi
    with pytest.raises(CIError, match="reaches"):
        tradeoff(t, 101)
    with pytest.raises(CIError, match="psnr"):
        tradeoff(t, 70, metric="psnr")
    with pytest.raises(CIError):
        tradeoff(t, 70, metric="no-such-metric")


def test_heif10_is_a_10_bit_heif_close_to_the_source():
    import pillow_heif

    img = photo()
    out = encode_image(img, "heif10", 80)
    heif = pillow_heif.open_heif(io.BytesIO(out), convert_hdr_to_8bit=False)
    assert heif.info["bit_depth"] == 10
    back = np.asarray(decode_image(out).convert("RGB"), dtype=float)
    assert back.shape[:2] == (img.height, img.width)
    assert np.abs(back - np.asarray(img, dtype=float)).mean() < 4
    assert "CI writes 8-bit HEIF" in rule_for("heif10", 80)
    with pytest.raises(CIError, match="quality"):
        encode_image(img, "heif10", 101)
