"""OCR (spec §19.10): CI's response shape, turned pages, character boxes, bad input, privacy (issue 10).

Every test runs the real bundled model (rapidocr's PP-OCRv6) on small rendered images; a call takes
about half a second on one core.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFilter

import cinb
from cinb import CIError
from cinb.ai import models
from cinb.ai.ocr import MAX_BASE64_BYTES, flatten, page_turn, shapes
from cinb.watermark.fonts import font_spec
from offline_run import run_offline, skip_without_unshare, watched

pytest.importorskip("rapidocr")

LINES = ["Invoice 2026-0042 total 1,299.00", "数据万象图片处理"]


def render(lines=LINES, size=30, width=560) -> Image.Image:
    """Black text on white, one line per entry, Arimo for Latin and Noto Sans CJK for Chinese."""
    img = Image.new("RGB", (width, 40 + len(lines) * int(size * 2)), "white")
    draw = ImageDraw.Draw(img)
    for i, line in enumerate(lines):
        font = font_spec("simhei" if any(ord(c) > 0x2E80 for c in line) else "arial").load(size)
        draw.text((24, 24 + i * int(size * 2)), line, fill="black", font=font)
    return img


def encoded(img: Image.Image, fmt: str = "PNG", **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def texts(answer: dict) -> list[str]:
    return [t["DetectedText"] for t in answer["TextDetections"]]


@pytest.fixture(scope="module")
def page() -> Image.Image:
    return render()


@pytest.fixture(scope="module")
def upright(page) -> dict:
    return cinb.ci_process(encoded(page), "OCR").json


# --- the response ---------------------------------------------------------------------------------


def test_reads_printed_english_and_chinese_lines_in_cis_shape(upright, page):
    assert texts(upright) == LINES
    assert list(upright) == ["TextDetections", "Language", "Angel", "PdfPageSize"]
    assert upright["Language"] == "zh" and upright["PdfPageSize"] == 0
    assert isinstance(upright["Angel"], float) and min(upright["Angel"], 360 - upright["Angel"]) < 1
    for line in upright["TextDetections"]:
        assert list(line) == ["DetectedText", "Confidence", "Polygon", "ItemPolygon"]
        assert isinstance(line["Confidence"], int) and 90 <= line["Confidence"] <= 100
        assert len(line["Polygon"]) == 4 and all(set(p) == {"X", "Y"} for p in line["Polygon"])
        assert all(isinstance(v, int) for p in line["Polygon"] for v in p.values())
        box = line["ItemPolygon"]
        assert list(box) == ["X", "Y", "Width", "Height"] and box["Width"] > 3 * box["Height"] > 0
        assert 0 <= box["X"] and box["X"] + box["Width"] <= page.width
    first, second = upright["TextDetections"]
    assert first["ItemPolygon"]["Y"] < 40 < second["ItemPolygon"]["Y"]  # lines in reading order


def test_xml_and_result_fields(page):
    r = cinb.ci_process(encoded(page), "ci-process=OCR&type=general&language-type=zh")
    assert r.format == "json" and r.response == r.json and (r.width, r.height) == page.size
    assert r.xml.startswith("<Response><TextDetections><DetectedText>Invoice 2026-0042 total 1,299.00</DetectedText>"
                            "<Confidence>")
    assert "<Polygon><X>" in r.xml and "<PdfPageSize>0</PdfPageSize>" in r.xml
    assert r.info["model"] == "ocr" and r.info["turn"] == 0


def _rotate_points(points, turn, width, height):
    """Where points of the upright page land once the page is turned clockwise by ``turn`` degrees."""
    out = []
    for x, y in points:
        if turn == 90:
            x, y = height - y, x
        elif turn == 180:
            x, y = width - x, height - y
        elif turn == 270:
            x, y = y, width - x
        out.append((x, y))
    return out


@pytest.mark.parametrize("turn", [90, 180, 270])
def test_turned_pages_are_read_upright_with_angel_and_input_coordinates(page, upright, turn):
    turned = page.rotate(-turn, expand=True)  # PIL turns counter-clockwise
    answer = cinb.ci_process(encoded(turned), "OCR").json
    assert texts(answer) == LINES
    assert min(abs(answer["Angel"] - turn), 360 - abs(answer["Angel"] - turn)) < 1
    for got, ref in zip(answer["TextDetections"], upright["TextDetections"], strict=True):
        expected = _rotate_points([(p["X"], p["Y"]) for p in ref["Polygon"]], turn, *page.size)
        assert np.abs(np.array([(p["X"], p["Y"]) for p in got["Polygon"]]) - np.array(expected)).max() <= 3
        # ItemPolygon is the box in the rotation-corrected page: the upright page's box
        assert abs(got["ItemPolygon"]["X"] - ref["ItemPolygon"]["X"]) <= 3
        assert abs(got["ItemPolygon"]["Width"] - ref["ItemPolygon"]["Width"]) <= 4


def test_exif_orientation_is_applied_before_reading(page, upright):
    exif = Image.Exif()
    exif[0x0112] = 3  # stored upside down, displayed upright
    answer = cinb.ci_process(encoded(page.rotate(180), "JPEG", quality=95, exif=exif.tobytes()), "OCR").json
    assert texts(answer) == LINES and min(answer["Angel"], 360 - answer["Angel"]) < 1


def test_photographed_looking_text_slight_rotation_blur_jpeg(page):
    photo = page.rotate(-3, expand=True, fillcolor="white", resample=Image.Resampling.BICUBIC)
    photo = photo.filter(ImageFilter.GaussianBlur(0.8))
    answer = cinb.ci_process(encoded(photo, "JPEG", quality=60), "OCR").json
    assert [t.replace(" ", "") for t in texts(answer)] == [t.replace(" ", "") for t in LINES]
    assert 2 < answer["Angel"] < 4  # clockwise skew, CI's sign


def test_isword_gives_each_characters_text_confidence_and_box_inside_its_line(page):
    answer = cinb.ci_process(encoded(page), "OCR", isword="true").json
    for line in answer["TextDetections"]:
        words = line["Words"]
        assert "".join(w["Character"] for w in words) == line["DetectedText"].replace(" ", "")
        xs = [p["X"] for p in line["Polygon"]]
        for w in words:
            assert 0 <= w["Confidence"] <= 100
            corners = w["WordCoordPoint"]["WordCoordinate"]
            assert len(corners) == 4
            assert all(min(xs) - 2 <= c["X"] <= max(xs) + 2 for c in corners)
        assert "WordPolygon" not in line


def test_word_polygon_with_handwriting_gives_four_named_corners(page):
    answer = cinb.ci_process(encoded(page), "OCR", type="handwriting", **{"enable-word-polygon": 1}).json
    line = answer["TextDetections"][1]
    assert len(line["WordPolygon"]) == len(line["DetectedText"])
    assert list(line["WordPolygon"][0]) == ["LeftTop", "RightTop", "RightBottom", "LeftBottom"]
    assert "Words" not in line  # isword was not asked for


@pytest.mark.parametrize("kind", ["fast", "accurate", "efficient"])
def test_every_type_reads_clean_print(page, kind):
    assert texts(cinb.ci_process(encoded(page), "OCR", type=kind).json) == LINES


def test_auto_language_and_ispdf_on_an_image():
    answer = cinb.ci_process(encoded(render(["カタカナとひらがな"])), "OCR",
                             **{"language-type": "auto", "ispdf": "true"}).json
    assert answer["Language"] == "jap" and texts(answer) == ["カタカナとひらがな"]


def test_an_image_without_text_has_no_detections():
    answer = cinb.ci_process(encoded(Image.new("RGB", (200, 120), (40, 120, 200))), "OCR").json
    assert answer["TextDetections"] == [] and answer["Angel"] == 0.0


# --- bad input and parameters ------------------------------------------------------------------------


@pytest.mark.parametrize("params, message", [
    ({"type": "ocr"}, "one of general, accurate, efficient, fast, handwriting"),
    ({"language-type": "klingon"}, "language-type='klingon'"),
    ({"language-type": "kor"}, "has no Hangul"),
    ({"language-type": "rus"}, "has no Cyrillic"),
    ({"pdf-pagenumber": 0}, "pdf-pagenumber"),
    ({"isword": 2}, "0 or 1"),
    ({"detect-url": "http://example.com/a.png"}, "network"),
    ({"size": 3}, "has no parameter 'size'"),
])
def test_bad_parameters_are_cierror_103(page, params, message):
    with pytest.raises(CIError) as err:
        cinb.ci_process(encoded(page), "OCR", **params)
    assert err.value.code == -103 and message in str(err.value)


def test_a_refused_language_is_ignored_when_type_is_not_general(page):
    # CI: language-type takes effect only with type=general
    assert texts(cinb.ci_process(encoded(page), "OCR", type="fast", **{"language-type": "kor"}).json) == LINES


def test_bad_input_is_cierror(page, tmp_path):
    cases = {
        b"this is not an image": -113,
        encoded(page)[:200]: None,  # truncated: a decode error, whichever code the decoder gives
        b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\n": -113,
        encoded(Image.new("L", (31000, 8))): -447,  # over CI's 30000 px a side
    }
    for data, code in cases.items():
        with pytest.raises(CIError) as err:
            cinb.ci_process(data, "OCR")
        assert code is None or err.value.code == code, (data[:20], err.value)
    with pytest.raises(CIError, match="PDF renderer"):
        cinb.ci_process(b"%PDF-1.7\n", "OCR", ispdf=1)


def test_an_image_over_7_mb_of_base64_is_refused_before_decoding():
    noise = np.random.default_rng(0).integers(0, 256, (1380, 1380, 3), dtype=np.uint8)
    data = encoded(Image.fromarray(noise), compress_level=0)
    assert 4 * ((len(data) + 2) // 3) > MAX_BASE64_BYTES > len(data)  # under CI's 32 MB, over OCR's limit
    with pytest.raises(CIError) as err:
        cinb.ci_process(data, "OCR")
    assert err.value.code == -167 and "Base64" in str(err.value)


def test_missing_rapidocr_is_cierror_163_naming_the_extra(page, monkeypatch):
    models.unload()
    monkeypatch.setitem(sys.modules, "rapidocr", None)
    try:
        with pytest.raises(CIError) as err:
            cinb.ci_process(encoded(page), "OCR")
        assert err.value.code == -163 and "cinb[ai]" in str(err.value)
    finally:
        models.unload()


def test_missing_model_files_are_cierror_163(page, monkeypatch):
    """rapidocr installed without the weights cinb names (another rapidocr build): -163, not FileNotFoundError."""
    from cinb.ai import ocr

    models.unload()
    monkeypatch.setattr(ocr, "MODEL_FILES", (*ocr.MODEL_FILES[:1], "models/no_such_rec.onnx", *ocr.MODEL_FILES[2:]))
    try:
        with pytest.raises(CIError) as err:
            cinb.ci_process(encoded(page), "OCR")
        assert err.value.code == -163 and "no_such_rec.onnx" in str(err.value)
    finally:
        models.unload()


# --- model table, orientation vote, collections, CLI ---------------------------------------------------


def test_the_model_table_lists_the_bundled_files_and_licences():
    row = models.table().set_index("model").loc["ocr"]
    assert row["package"] == "rapidocr" and row["installed"] and "Apache-2.0" in row["licence"]
    assert "PP-OCRv6_rec_small.onnx" in row["files"] and 25 < row["size_mb"] < 40 and row["fork_safe"]


def test_page_turn_votes_by_line_length_and_classifier_certainty():
    wide = np.array([[0, 0], [200, 0], [200, 30], [0, 30]], float)
    tall = np.array([[0, 0], [30, 0], [30, 200], [0, 200]], float)
    square = np.array([[0, 0], [30, 0], [30, 30], [0, 30]], float)
    assert page_turn(np.array([tall]), [("0", 0.99)]) == 90
    assert page_turn(np.array([wide]), [("180", 0.99)]) == 180
    assert page_turn(np.array([square, square]), [("180", 1.0), ("180", 1.0)]) == 0  # no evidence: upright
    assert page_turn(np.array([wide, tall]), [("0", 0.99), ("180", 0.51)]) == 0


def test_ocr_analysis_gives_flat_typed_columns_with_two_workers(tmp_path, page):
    page.save(tmp_path / "text.png")
    render(["第二张图片"]).save(tmp_path / "zh.jpg", quality=92)
    Image.new("RGB", (64, 64), "grey").save(tmp_path / "blank.png")
    (tmp_path / "broken.png").write_bytes(b"not an image")
    cinb.ci_process(encoded(page), "OCR")  # the parent holds a loaded model when the pool forks
    assert "ocr" in models.loaded()
    df = cinb.analyze(str(tmp_path), "ocr", workers=2, pool="fork", progress=False).set_index("name")
    assert df.loc["text.png", "ocr_text"] == "\n".join(LINES) and df.loc["text.png", "ocr_count"] == 2
    assert df.loc["zh.jpg", "ocr_text"] == "第二张图片" and df["ocr_count"].dtype == "Int64"
    assert df.loc["blank.png", "ocr_count"] == 0 and np.isnan(df.loc["blank.png", "ocr_confidence"])
    assert 90 <= df.loc["text.png", "ocr_confidence"] <= 100
    assert texts(df.loc["text.png", "ocr_response"]) == LINES
    assert df.loc["broken.png", "error"] and np.isnan(df.loc["broken.png", "ocr_confidence"])


def test_flatten_and_shapes_follow_the_response(upright):
    flat = flatten(upright)
    assert flat["ocr_text"].splitlines() == LINES and flat["ocr_count"] == 2
    drawn = shapes(upright)
    assert [label for _, label in drawn] == LINES and all(len(points) == 4 for points, _ in drawn)


def test_cli_ai_ocr_prints_cis_json(tmp_path, page):
    path = tmp_path / "page.png"
    page.save(path)
    out = subprocess.run([sys.executable, "-m", "cinb", "ai", "OCR", str(path), "isword=1"], capture_output=True,
                         text=True, check=True)
    answer = json.loads(out.stdout)
    assert texts(answer) == LINES and "Words" in answer["TextDetections"][0]


# --- privacy (issue 10) ---------------------------------------------------------------------------------

PRIVACY_SCRIPT = textwrap.dedent("""
    import io
    from PIL import Image, ImageDraw
    import cinb
    from cinb.watermark.fonts import font_spec

    img = Image.new("RGB", (400, 90), "white")
    ImageDraw.Draw(img).text((20, 25), "offline 2026", fill="black", font=font_spec("arial").load(30))
    buf = io.BytesIO(); img.save(buf, "PNG")
    ran = {"OCR": [t["DetectedText"] for t in cinb.ci_process(buf.getvalue(), "OCR").json["TextDetections"]]}
    try:
        import cinb.ai.qrcode  # noqa: F401
        import zxingcpp
    except ImportError:
        pass
    else:
        code = zxingcpp.create_barcode("https://example.com/x", zxingcpp.BarcodeFormat.QRCode)
        import numpy as np
        qr = Image.fromarray(np.asarray(zxingcpp.write_barcode_to_image(code, scale=6)))
        buf = io.BytesIO(); qr.convert("RGB").save(buf, "PNG")
        ran["QRcode"] = cinb.ci_process(buf.getvalue(), "QRcode").json["CodeStatus"]
""")


def test_default_models_run_offline_and_write_nothing(tmp_path):
    """No network (``unshare -n``), an empty HOME, a private /tmp: the models run and write no file.

    /tmp and /var/tmp are fresh tmpfs mounts inside the child's mount namespace, HOME and the working
    folder live in that /tmp, so anything the models write shows up in the child's own listing; the
    model packages' folders and the real ~/.cache/Microsoft are compared before and after.
    """
    skip_without_unshare()
    import onnxruntime
    import rapidocr

    # Folders nobody else writes to while the test runs (the source tree is shared with other work):
    # the model packages, where rapidocr would put downloaded models, and where onnxruntime's
    # telemetry goes under the real home.
    site_dirs = [Path(rapidocr.__file__).parent, Path(onnxruntime.__file__).parent,
                 Path.home() / ".cache" / "Microsoft"]
    before = watched(site_dirs)
    report = run_offline(PRIVACY_SCRIPT)
    assert report["ran"]["OCR"] == ["offline 2026"]
    if "QRcode" in report["ran"]:
        assert report["ran"]["QRcode"] == 1
    else:
        print("QRcode not covered: cinb.ai.qrcode or zxing-cpp is not installed")
    assert report["written"] == ["/tmp/home/", "/tmp/work/"]
    assert watched(site_dirs) == before
