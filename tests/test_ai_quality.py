"""AssessQuality (spec §19.3): CI's flags and scores from real no-reference measures (BRISQUE model included)."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFilter

import cinb
from cinb import CIError, ci_process
from cinb.ai import models
from cinb.ai import quality as q
from cinb.imageinput import ImageInput

SAMPLE = Path(__file__).resolve().parent.parent / "datasets" / "sample"
PHOTOS = [SAMPLE / f"{n}.jpg" for n in ("astronaut", "chelsea", "coffee", "rocket")]
FIELDS = ["LongImage", "BlackAndWhite", "SmallImage", "BigImage", "PureImage", "ClarityScore", "AestheticScore",
          "LowQualityScore"]


def _png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def _jpeg(img: Image.Image, quality: int) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def _noisy(img: Image.Image, sigma: float) -> Image.Image:
    a = np.asarray(img).astype(np.float32) + np.random.default_rng(1).normal(0, sigma, (img.height, img.width, 3))
    return Image.fromarray(np.clip(np.rint(a), 0, 255).astype(np.uint8))


def _answer(src, **params) -> dict:
    return ci_process(src, "AssessQuality", **params).json


def test_the_answer_has_exactly_cis_fields_with_cis_types():
    r = ci_process(PHOTOS[1], "AssessQuality")
    assert list(r.json) == FIELDS
    assert all(isinstance(r.json[k], bool) for k in FIELDS[:5])
    assert all(type(r.json[k]) is int and 0 <= r.json[k] <= 100 for k in FIELDS[5:])
    assert r.xml.startswith("<Response><LongImage>FALSE</LongImage>")


@pytest.mark.parametrize("photo", PHOTOS, ids=lambda p: p.stem)
def test_sharp_photos_are_clear_and_their_sigma_3_blurred_copies_are_not(photo):
    img = Image.open(photo).convert("RGB")
    sharp = _answer(photo)
    blurred = _answer(_png(img.filter(ImageFilter.GaussianBlur(3))))
    assert sharp["ClarityScore"] > 50 > blurred["ClarityScore"]
    assert sharp["AestheticScore"] > blurred["AestheticScore"]
    assert sharp["LowQualityScore"] < blurred["LowQualityScore"]


@pytest.mark.parametrize("photo", PHOTOS, ids=lambda p: p.stem)
@pytest.mark.parametrize("kind", ["blur", "jpeg", "noise"])
def test_scores_fall_as_a_distortion_grows(kind, photo):
    img = Image.open(photo).convert("RGB")
    make = {"blur": lambda lv: _png(img.filter(ImageFilter.GaussianBlur(lv))),
            "jpeg": lambda lv: _jpeg(img, lv),
            "noise": lambda lv: _png(_noisy(img, lv))}[kind]
    levels = {"blur": (1, 2, 4), "jpeg": (50, 15, 4), "noise": (5, 15, 40)}[kind]
    answers = [_answer(make(lv)) for lv in levels]
    clarity = [a["ClarityScore"] for a in answers]
    low = [a["LowQualityScore"] for a in answers]
    assert clarity == sorted(clarity, reverse=True) and clarity[0] > clarity[-1]
    assert low == sorted(low) and low[0] < low[-1]


def _soft_background(img: Image.Image, box: tuple[int, int, int, int], sigma: float) -> Image.Image:
    """``img`` blurred by ``sigma`` everywhere but ``box``: a sharp subject before a soft background."""
    out = img.filter(ImageFilter.GaussianBlur(sigma))
    out.paste(img.crop(box), box[:2])
    return out


@pytest.mark.parametrize("photo", PHOTOS, ids=lambda p: p.stem)
def test_a_sharp_subject_before_a_soft_background_is_clear(photo):
    img = Image.open(photo).convert("RGB")
    w, h = img.size
    subject = (w * 3 // 10, h * 3 // 10, w * 6 // 10, h * 6 // 10)  # 9 % of the picture in focus
    portrait = _answer(_png(_soft_background(img, subject, 4)))
    assert portrait["ClarityScore"] > 50
    assert _answer(_png(img.filter(ImageFilter.GaussianBlur(3))))["ClarityScore"] < 50
    # Sharpness is the subject's: the whole picture out of focus is not clear.
    assert _answer(_png(_soft_background(img, (0, 0, 1, 1), 4)))["ClarityScore"] < 50


@pytest.mark.parametrize("photo", PHOTOS, ids=lambda p: p.stem)
def test_a_photo_darkened_to_a_fifth_is_not_clear(photo):
    img = Image.open(photo).convert("RGB")
    dark = _answer(_jpeg(img.point(lambda v: v // 5), 90))
    assert dark["ClarityScore"] < 50 < _answer(photo)["ClarityScore"]
    assert dark["LowQualityScore"] > _answer(photo)["LowQualityScore"]


def test_edge_width_grows_with_blur_and_ignores_how_much_is_in_focus():
    img = Image.open(PHOTOS[0]).convert("L")
    gray = lambda im: np.asarray(im, dtype=np.float32)  # noqa: E731
    widths = [q.edge_width(gray(img.filter(ImageFilter.GaussianBlur(s)))) for s in (0.01, 1, 2, 3, 5)]
    assert widths == sorted(widths) and widths[0] < 2.5 < 3.5 < widths[3]
    w, h = img.size
    half = _soft_background(img.convert("RGB"), (0, 0, w // 2, h), 4).convert("L")
    assert q.edge_width(gray(half)) < 2.5
    assert q.edge_width(np.full((64, 64), 7, np.float32)) == 25.0  # nothing to measure: not sharp


def test_a_jpeg_decoded_at_half_scale_scores_like_its_full_decode():
    img = Image.open(PHOTOS[0]).convert("RGB").resize((1024, 683))  # 1/2 shrink-on-load: 512 x 342
    data = _jpeg(img, 95)
    w = q.working(ImageInput(data))
    assert w.rgb.shape == (342, 512, 3) and w.period == 8 and w.grid.shape == (683, 1024)
    full = q.measure(ImageInput(_png(Image.open(io.BytesIO(data)).convert("RGB"))))
    half = q.measure(w)
    assert abs(half["edge_width"] - full["edge_width"]) < 0.3
    assert abs(half["blockiness"] - full["blockiness"]) < 0.02  # the same 8 px blocks, read in full
    assert abs(q.scores(half)[0] - q.scores(full)[0]) <= 5


def test_flags_follow_cis_definitions():
    long = _answer(_png(Image.new("RGB", (600, 200), (250, 250, 250))))
    assert long["LongImage"] and long["PureImage"] and long["BlackAndWhite"] and not long["BigImage"]
    assert not _answer(_png(Image.new("RGB", (599, 200), "red")))["LongImage"]  # aspect just under 3
    tall = _answer(_png(Image.new("L", (200, 600), 128)))
    assert tall["LongImage"] and tall["BlackAndWhite"]
    big = _answer(_png(Image.open(PHOTOS[0]).convert("RGB").resize((1100, 1001))))
    assert big["BigImage"] and not big["PureImage"] and not big["BlackAndWhite"]
    grey_photo = Image.open(PHOTOS[1]).convert("L").convert("RGB")
    assert _answer(_jpeg(grey_photo, 90))["BlackAndWhite"]  # grey saved as colour JPEG: chroma noise tolerated
    assert not _answer(PHOTOS[1])["BlackAndWhite"]


def test_a_small_image_answers_zero_and_false_everywhere_else():
    answer = _answer(_png(Image.open(PHOTOS[0]).convert("RGB").resize((178, 40))))
    assert answer["SmallImage"] is True
    assert not any(answer[k] for k in FIELDS if k != "SmallImage")
    assert _answer(_png(Image.open(PHOTOS[0]).convert("RGB").resize((179, 150))))["SmallImage"] is False


@pytest.mark.parametrize("size", [(179, 1), (1, 179), (3000, 5), (180, 180)])
def test_thin_strips_and_noise_are_scored_without_error(size):
    pixels = np.random.default_rng(0).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    answer = _answer(Image.fromarray(pixels))
    assert answer["LongImage"] is (max(size) >= 3 * min(size))
    assert 0 <= answer["ClarityScore"] <= 100 and answer["SmallImage"] is False


def test_text_on_a_plain_ground_is_a_pure_image():
    page = Image.new("RGB", (500, 300), "white")
    from PIL import ImageDraw

    ImageDraw.Draw(page).text((30, 120), "Only a line of text here", fill="black")
    assert _answer(_png(page))["PureImage"] is True


def test_switches_turn_scores_off_and_bad_values_are_103():
    on = _answer(PHOTOS[2])
    off = _answer(PHOTOS[2], enable_clarity=False, enable_aesthetics="0", enable_lowquality="false")
    assert off["ClarityScore"] == off["AestheticScore"] == off["LowQualityScore"] == 0
    assert on["ClarityScore"] > 0 and on["AestheticScore"] > 0
    assert ci_process(PHOTOS[2], "ci-process=AssessQuality&enable_aesthetics=0").json["ClarityScore"] == \
        on["ClarityScore"]
    for bad in ({"enable_clarity": "2"}, {"enable-lowquality": "yes"}, {"detect_faces": 1}):
        with pytest.raises(CIError) as err:
            _answer(PHOTOS[2], **bad)
        assert err.value.code == -103


def test_bad_input_is_cierror_with_cis_codes(tmp_path):
    with pytest.raises(CIError) as err:
        _answer(b"this is no image at all")
    assert err.value.code == -113
    with pytest.raises(CIError) as err:
        _answer(SAMPLE / "truncated.jpg")
    assert err.value.code == -443
    noise = np.random.default_rng(0).integers(0, 256, (1100, 1000, 3), dtype=np.uint8)
    big = _png(Image.fromarray(noise))  # 3.3 MB: 4.4 MB of Base64, over CI's 4 MB
    assert len(big) > 3 * 1024 * 1024
    with pytest.raises(CIError) as err:
        _answer(big)
    assert err.value.code == -167


def test_without_the_brisque_model_files_it_is_163_naming_the_package(monkeypatch):
    monkeypatch.setattr(q, "BRISQUE_DIRS", ("/nonexistent/opencv4/quality",))
    models.unload()
    try:
        with pytest.raises(CIError) as err:
            _answer(PHOTOS[0])
        assert err.value.code == -163 and "opencv-data" in str(err.value)
    finally:
        models.unload()


def test_brisque_ranks_a_pristine_photo_above_its_distorted_copies():
    img = Image.open(SAMPLE / "chelsea.png").convert("RGB")
    brisque = models.get("brisque")

    def score(data):
        return brisque.score(ImageInput(data).gray().astype(np.float64) / 255)

    pristine = score(_png(img))
    assert pristine < score(_png(img.filter(ImageFilter.GaussianBlur(3))))
    assert pristine < score(_jpeg(img, 5))
    assert q.brisque_features(np.full((64, 64), 0.5)).shape == (36,)


def test_the_analysis_gives_typed_columns_and_the_response(tmp_path):
    for p in PHOTOS[:2]:
        (tmp_path / p.name).write_bytes(p.read_bytes())
    Image.new("RGB", (120, 90), "blue").save(tmp_path / "tiny.png")
    df = cinb.analyze(tmp_path, "assess_quality", workers=1, progress=False)
    assert {"clarity", "aesthetic", "low_quality", "long_image", "black_and_white", "small_image", "big_image",
            "pure_image", "assess_quality_response"} <= set(df.columns)
    row = df.set_index(df["path"].map(lambda p: Path(p).name)).loc["chelsea.jpg"]
    assert row["clarity"] == _answer(PHOTOS[1])["ClarityScore"]
    assert row["assess_quality_response"]["ClarityScore"] == row["clarity"]
    assert df.set_index(df["path"].map(lambda p: Path(p).name)).loc["tiny.png", "small_image"]


def test_the_cli_answers_json():
    out = subprocess.run([sys.executable, "-m", "cinb", "ai", "AssessQuality", str(PHOTOS[0])],
                         capture_output=True, text=True, check=True)
    assert list(json.loads(out.stdout)) == FIELDS
