"""QRcode and qrcode-generate (spec §19.1) on real codes written by zxing-cpp and pasted on photos.

Every test decodes for real (no mock of the reader); hard images are made with the same damage
the benchmark uses: rotation, perspective, tiny modules, noise, blur, low contrast, negatives.
"""

from __future__ import annotations

import base64
import io
import json
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import cinb
from cinb import CIError

zxingcpp = pytest.importorskip("zxingcpp")
cv2 = pytest.importorskip("cv2")

from cinb.ai import models  # noqa: E402
from cinb.ai.endpoints import get_endpoint  # noqa: E402
from cinb.ai.qrcode import cover_polygons, read_codes, shapes  # noqa: E402

SAMPLE = Path(__file__).resolve().parents[1] / "datasets" / "sample"


def _photo(name="coffee.jpg") -> Image.Image:
    return Image.open(SAMPLE / name).convert("RGB")


def _symbol(kind: str, text: str, module: float = 4.0) -> Image.Image:
    fmt = {"qr": zxingcpp.BarcodeFormat.QRCode, "code128": zxingcpp.BarcodeFormat.Code128,
           "ean13": zxingcpp.BarcodeFormat.EAN13}[kind]
    a = np.asarray(zxingcpp.create_barcode(text, fmt).to_image(scale=1, add_quiet_zones=True))
    if kind != "qr":  # one row of bars, 35 % as tall as long
        a = np.repeat(a[a.shape[0] // 2:a.shape[0] // 2 + 1], max(1, int(a.shape[1] * 0.35)), axis=0)
    h, w = a.shape
    sharp = Image.fromarray(a).resize((w * 8, h * 8), Image.Resampling.NEAREST)  # then area-average: even modules
    return sharp.resize((max(1, round(w * module)), max(1, round(h * module))), Image.Resampling.BOX)


def _encode(img: Image.Image, fmt="PNG", **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def _texts(result) -> list[str]:
    return [i["CodeUrl"] for i in result.json["QRcodeInfo"]]


def _points(item) -> np.ndarray:
    return np.array([[float(v) for v in p.split(",")] for p in item["CodeLocation"]["Point"]])


@pytest.fixture(scope="module")
def three_codes() -> tuple[bytes, dict]:
    """A photo with a QR code, a Code 128 and an EAN-13 at known places (PNG bytes, boxes)."""
    photo = _photo().resize((900, 600))
    boxes = {}
    for kind, text, at in (("qr", "https://example.com/q?id=42", (40, 40)), ("code128", "CINB-128-XYZ", (420, 60)),
                           ("ean13", "5901234123457", (420, 330))):
        sym = _symbol(kind, text[:12] if kind == "ean13" else text, 3 if kind == "qr" else 2)
        photo.paste(sym, at)
        boxes[text] = (at[0], at[1], at[0] + sym.width, at[1] + sym.height)
    return _encode(photo), boxes


# --- reading -------------------------------------------------------------------------------------


def test_every_code_in_a_photo_is_read_with_its_corners_in_image_pixels(three_codes):
    data, boxes = three_codes
    r = cinb.ci_process(data, "QRcode")
    assert r.format == "json" and r.json["CodeStatus"] == 1 and "ResultImage" not in r.json
    assert sorted(_texts(r)) == sorted(boxes)
    for item in r.json["QRcodeInfo"]:
        pts = _points(item)
        x0, y0, x1, y1 = boxes[item["CodeUrl"]]
        assert pts.shape == (4, 2)
        assert (pts[:, 0] >= x0 - 2).all() and (pts[:, 0] <= x1 + 2).all()
        assert (pts[:, 1] >= y0 - 2).all() and (pts[:, 1] <= y1 + 2).all()
    assert r.info["formats"] == ["QR Code", "Code 128", "EAN-13"] or sorted(r.info["formats"]) == sorted(
        ["QR Code", "Code 128", "EAN-13"])


def test_the_xml_body_has_cis_element_names(three_codes):
    xml = cinb.ci_process(three_codes[0], "QRcode").xml
    assert xml.startswith("<Response><CodeStatus>1</CodeStatus><QRcodeInfo><CodeUrl>")
    assert xml.count("<QRcodeInfo>") == 3 and xml.count("<Point>") == 12


def test_no_code_is_codestatus_0_with_no_codes():
    r = cinb.ci_process(_encode(_photo()), "QRcode")
    assert r.json == {"CodeStatus": 0, "QRcodeInfo": []}
    assert r.xml == "<Response><CodeStatus>0</CodeStatus></Response>"


def test_corners_follow_the_symbol_clockwise_from_its_own_top_left():
    canvas = Image.new("L", (400, 400), 255)
    canvas.paste(_symbol("qr", "turned"), (100, 100))
    turned = canvas.rotate(90)  # counter-clockwise: the symbol's top-left is now bottom-left
    pts = _points(cinb.ci_process(_encode(turned), "QRcode").json["QRcodeInfo"][0])
    assert pts[0][1] > 200 and pts[0][0] < 200  # symbol's top-left corner: lower left of the picture
    assert pts[1][1] < pts[0][1]  # then its top-right: above it


def test_coordinates_are_in_the_upright_image_of_an_exif_rotated_jpeg():
    upright = Image.new("RGB", (300, 500), "white")
    upright.paste(_symbol("qr", "exif").convert("RGB"), (20, 300))
    stored = upright.transpose(Image.Transpose.ROTATE_90)  # orientation 6 shows it turned back
    exif = Image.Exif()
    exif[0x0112] = 6
    r = cinb.ci_process(_encode(stored, "JPEG", quality=95, exif=exif), "QRcode")
    pts = _points(r.json["QRcodeInfo"][0])
    assert 20 <= pts[:, 0].min() <= 45 and 300 <= pts[:, 1].min() <= 325 and pts[:, 1].max() < 500


def _hard(attack: str, kind: str, text: str, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    module = 1.5 if attack == "small" else 3.0
    sym = np.asarray(_symbol(kind, text, module)).astype(np.float32)
    if attack == "lowcontrast":
        sym = 110 + sym / 255 * 30
    if attack == "inverted":
        sym = 255 - sym
    photo = np.asarray(_photo("rocket.jpg").convert("L")).astype(np.float32)
    h, w = sym.shape
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    angle = {"rotate": 33.0, "rotate2": 147.0}.get(attack, 2.0)
    c, s = np.cos(np.radians(angle)), np.sin(np.radians(angle))
    dst = np.float32([[c * x - s * y, s * x + c * y] for x, y in src - [w / 2, h / 2]])
    if attack == "perspective":
        dst += np.float32([[0.15 * w, 0.1 * h], [-0.1 * w, 0], [0.05 * w, -0.15 * h], [0, 0]])
    dst += [photo.shape[1] / 2, photo.shape[0] / 2]
    m = cv2.getPerspectiveTransform(src, dst.astype(np.float32))
    size = (photo.shape[1], photo.shape[0])
    warped = cv2.warpPerspective(sym, m, size, borderValue=0)
    mask = cv2.warpPerspective(np.ones_like(sym), m, size)
    out = photo * (1 - mask) + warped * mask
    if attack == "noise":
        out += 38 * rng.standard_normal(out.shape)
    if attack == "blur":
        out = cv2.GaussianBlur(out, (0, 0), 1.7)
    return np.clip(out, 0, 255).astype(np.uint8)


HARD = [(a, k) for a in ("rotate", "rotate2", "perspective", "small", "noise", "blur", "lowcontrast", "inverted")
        for k in ("qr", "code128")]


@pytest.mark.parametrize("attack, kind", HARD)
def test_never_fewer_codes_than_zxing_called_directly_on_the_same_pixels(attack, kind):
    text = f"https://example.com/{attack}" if kind == "qr" else f"CINB-{attack[:4].upper()}"
    gray = _hard(attack, kind, text, seed=len(attack))
    direct = {b.text for b in zxingcpp.read_barcodes(gray)}
    ours = {c.text for c in read_codes(gray)}
    assert direct <= ours
    assert text in ours, f"{attack} {kind}: cinb missed it (zxing alone: {sorted(direct)})"


def test_retries_read_more_than_zxing_alone_on_the_hard_cases():
    direct = ours = 0
    for attack, kind in HARD:
        text = f"https://example.com/{attack}" if kind == "qr" else f"CINB-{attack[:4].upper()}"
        gray = _hard(attack, kind, text, seed=len(attack))
        direct += text in {b.text for b in zxingcpp.read_barcodes(gray)}
        ours += text in {c.text for c in read_codes(gray)}
    assert ours == len(HARD) and direct < ours - 3


def test_bar_type_reads_every_code_qr_codes_only_or_barcodes_only(three_codes):
    data, boxes = three_codes
    assert len(_texts(cinb.ci_process(data, "QRcode", **{"bar-type": 0}))) == 3
    assert _texts(cinb.ci_process(data, "ci-process=QRcode&bar-type=1")) == ["https://example.com/q?id=42"]
    assert sorted(_texts(cinb.ci_process(data, "QRcode", bar_type=2))) == ["5901234123457", "CINB-128-XYZ"]


def test_segment_reads_tiles_of_size_px_and_finds_the_same_codes(three_codes):
    data, boxes = three_codes
    r = cinb.ci_process(data, "QRcode", segment=1, size=500)
    assert sorted(_texts(r)) == sorted(boxes)


@pytest.mark.parametrize("params, message", [
    ({"cover": 2}, "cover=2"), ({"bar-type": 3}, "bar-type=3"), ({"bar-type": "x"}, "bar-type='x'"),
    ({"size": 100}, "size=100"), ({"mode": 1}, "has no parameter 'mode'"),
])
def test_wrong_parameters_are_cierror_103(three_codes, params, message):
    with pytest.raises(CIError) as err:
        cinb.ci_process(three_codes[0], "QRcode", **params)
    assert err.value.code == -103 and message in str(err.value)


# --- cover ---------------------------------------------------------------------------------------


def test_cover_pixelates_every_code_so_a_second_pass_finds_none(three_codes):
    data, boxes = three_codes
    r = cinb.ci_process(data, "QRcode", cover=1)
    assert r.json["CodeStatus"] == 1 and len(r.json["QRcodeInfo"]) == 3
    covered = base64.b64decode(r.json["ResultImage"])
    assert covered[:8] == b"\x89PNG\r\n\x1a\n"  # the input's format
    img = Image.open(io.BytesIO(covered))
    assert img.size == (900, 600)
    assert cinb.ci_process(covered, "QRcode").json["CodeStatus"] == 0
    gray = np.asarray(img.convert("L"))
    assert not zxingcpp.read_barcodes(gray) and not read_codes(gray)
    # only the codes changed: a corner far from them is untouched
    before = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
    assert np.array_equal(np.asarray(img.convert("RGB"))[560:, :300], before[560:, :300])


def test_cover_on_hard_and_turned_codes_leaves_nothing_readable():
    for attack, kind in (("rotate", "code128"), ("perspective", "qr"), ("inverted", "code128"), ("small", "qr")):
        gray = _hard(attack, kind, "COVER-" + attack.upper(), seed=3)
        r = cinb.ci_process(Image.fromarray(gray), "QRcode", cover=1)
        assert r.json["CodeStatus"] == 1
        again = np.asarray(Image.open(io.BytesIO(base64.b64decode(r.json["ResultImage"]))).convert("L"))
        assert not read_codes(again), attack


def test_cover_keeps_a_jpeg_a_jpeg_and_without_codes_returns_the_image():
    data = _encode(_photo(), "JPEG", quality=90)
    r = cinb.ci_process(data, "QRcode", cover=1)
    assert r.json["CodeStatus"] == 0 and base64.b64decode(r.json["ResultImage"])[:3] == b"\xff\xd8\xff"


def test_the_cover_of_a_barcode_spans_its_bars_not_just_the_scan_line():
    from cinb.ai.qrcode import Code

    line = Code("x", "Code 128", True, [(100, 50), (300, 50), (300, 51), (100, 51)])
    (poly,) = cover_polygons([line])
    ys = [p[1] for p in poly]
    assert max(ys) - min(ys) >= 90  # half the code's length across the bars


def test_pic_operations_rule_form_stores_the_covered_image(three_codes, tmp_path):
    data, boxes = three_codes
    ans = cinb.pic_operations(data, {"rules": [{"fileid": "covered.png", "rule": "QRcode/cover/1"}]},
                              bucket_dir=tmp_path, key="in.png")
    obj = ans["ProcessResults"]["Object"][0]
    assert obj["CodeStatus"] == "1" and len(obj["QRcodeInfo"]) == 3 and "ResultImage" not in obj
    stored = (tmp_path / "covered.png").read_bytes()
    assert cinb.ci_process(stored, "QRcode").json["CodeStatus"] == 0
    plain = cinb.pic_operations(data, {"rules": [{"fileid": "same.png", "rule": "QRcode/cover/0"}]},
                                bucket_dir=tmp_path, key="in.png")
    assert plain["ProcessResults"]["Object"][0]["CodeStatus"] == "1"
    assert cinb.ci_process((tmp_path / "same.png").read_bytes(), "QRcode").json["CodeStatus"] == 1


# --- qrcode-generate -----------------------------------------------------------------------------


@pytest.mark.parametrize("mode, text, fmt", [(0, "https://cloud.tencent.com/?q=数据万象", "QR Code"),
                                             (1, "CINB-0042", "Code 128")])
def test_generate_round_trips_through_the_reader(mode, text, fmt):
    r = cinb.ci_process(None, "qrcode-generate", **{"qrcode-content": text, "mode": mode, "width": 333})
    assert r.format == "json" and list(r.json) == ["ResultImage"]
    img = Image.open(io.BytesIO(base64.b64decode(r.json["ResultImage"])))
    assert img.format == "PNG" and img.width == 333
    assert img.height == (333 if mode == 0 else round(333 * 0.4))
    back = cinb.ci_process(base64.b64decode(r.json["ResultImage"]), "QRcode")
    assert _texts(back) == [text] and back.info["formats"] == [fmt]


def test_generate_default_width_and_query_form():
    r = cinb.ci_process(None, "ci-process=qrcode-generate&qrcode-content=hello")
    assert Image.open(io.BytesIO(base64.b64decode(r.json["ResultImage"]))).size == (400, 400)
    assert r.xml.startswith("<Response><ResultImage>")


@pytest.mark.parametrize("params, message", [
    ({}, "needs parameter qrcode-content"), ({"qrcode-content": "x", "mode": 2}, "mode=2"),
    ({"qrcode-content": "x", "width": 0}, "width=0"), ({"qrcode-content": "x", "width": 5}, "narrower"),
    ({"qrcode-content": "数据", "mode": 1}, "cannot encode"),
])
def test_generate_bad_parameters_are_cierror_103(params, message):
    with pytest.raises(CIError) as err:
        cinb.ci_process(None, "qrcode-generate", **params)
    assert err.value.code == -103 and message in str(err.value)


def test_generate_takes_no_image_and_qrcode_needs_one(three_codes):
    with pytest.raises(CIError, match="takes no input image") as err:
        cinb.ci_process(three_codes[0], "qrcode-generate", **{"qrcode-content": "x"})
    assert err.value.code == -103
    with pytest.raises(CIError) as err:
        cinb.ci_process(None, "QRcode")
    assert err.value.code == -113


# --- bad input, missing library ------------------------------------------------------------------


def _png_header(width: int, height: int) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    chunk = lambda kind, body: struct.pack(">I", len(body)) + kind + body + struct.pack(  # noqa: E731
        ">I", zlib.crc32(kind + body))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b"")


@pytest.mark.parametrize("data, code", [
    (b"this is not an image at all", -113),
    ((SAMPLE / "truncated.jpg").read_bytes(), -443),
    (_png_header(40000, 10), -447),
])
def test_bad_input_is_cierror_with_cis_codes(data, code):
    with pytest.raises(CIError) as err:
        cinb.ci_process(data, "QRcode")
    assert err.value.code == code


def test_a_missing_zxing_cpp_is_cierror_163_naming_the_extra(monkeypatch, three_codes):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "zxingcpp" else real(name, *a))
    models.unload()
    try:
        with pytest.raises(CIError) as err:
            cinb.ci_process(three_codes[0], "QRcode")
        assert err.value.code == -163 and "pip install 'cinb[ai]'" in str(err.value)
    finally:
        models.unload()


def test_the_model_table_lists_zxing_cpp():
    table = models.table().set_index("model")
    row = table.loc["zxing-cpp"]
    assert row["licence"] == "Apache-2.0" and bool(row["installed"]) and row["package"] == "zxing-cpp"
    assert "zxingcpp" in row["files"] and 0.5 < row["size_mb"] < 20  # the compiled library, no weights


# --- collections, drawing, CLI -------------------------------------------------------------------


def test_qrcode_analysis_gives_flat_typed_columns(three_codes, tmp_path):
    (tmp_path / "codes.png").write_bytes(three_codes[0])
    (tmp_path / "plain.jpg").write_bytes(_encode(_photo(), "JPEG"))
    (tmp_path / "one.png").write_bytes(_encode(_symbol("qr", "just one")))
    df = cinb.analyze(str(tmp_path), "qrcode", workers=1, progress=False).set_index("name")
    assert df.loc["codes.png", "qr_count"] == 3 and df.loc["plain.jpg", "qr_count"] == 0
    assert df.loc["one.png", "qr_text"] == "just one" and df.loc["one.png", "qr_formats"] == "QR Code"
    assert sorted(df.loc["codes.png", "qr_text"].split("\n")) == sorted(three_codes[1])
    assert sorted(df.loc["codes.png", "qr_formats"].split(",")) == ["Code 128", "EAN-13", "QR Code"]
    assert str(df["qr_count"].dtype) in ("int64", "Int64") and df.loc["plain.jpg", "qr_text"] == ""
    assert df.loc["codes.png", "qrcode_response"]["CodeStatus"] == 1


def test_shapes_give_each_codes_polygon_and_text(three_codes):
    r = cinb.ci_process(three_codes[0], "QRcode")
    drawn = get_endpoint("QRcode").shapes(r.json)
    assert drawn == shapes(r.json) and len(drawn) == 3
    assert all(len(points) == 4 and isinstance(label, str) for points, label in drawn)
    assert shapes({"CodeStatus": 0, "QRcodeInfo": []}) == []


def test_cli_reads_codes_and_generates_them(three_codes, tmp_path):
    path = tmp_path / "codes.png"
    path.write_bytes(three_codes[0])
    run = [sys.executable, "-m", "cinb", "ai"]
    out = subprocess.run(run + ["QRcode", str(path)], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout)["CodeStatus"] == 1
    out = subprocess.run(run + ["QRcode", str(path), "bar-type=1", "--xml"], capture_output=True, text=True, check=True)
    assert out.stdout.count("<QRcodeInfo>") == 1
    out = subprocess.run(run + ["qrcode-generate", "qrcode-content=from the shell", "width=200"], capture_output=True,
                         text=True, check=True)
    png = base64.b64decode(json.loads(out.stdout)["ResultImage"])
    assert _texts(cinb.ci_process(png, "QRcode")) == ["from the shell"]
    covered = tmp_path / "covered.png"
    subprocess.run(run + ["QRcode", str(path), "cover=1", "-o", str(covered)], capture_output=True, check=True)
    assert cinb.ci_process(covered, "QRcode").json["CodeStatus"] == 0  # -o writes the ResultImage
    made = tmp_path / "made.png"
    subprocess.run(run + ["qrcode-generate", "qrcode-content=to a file", "-o", str(made)], capture_output=True,
                   check=True)
    assert _texts(cinb.ci_process(made, "QRcode")) == ["to a file"]
    bad = subprocess.run(run + ["QRcode"], capture_output=True, text=True)
    assert bad.returncode != 0 and "needs an INPUT image" in bad.stderr


def test_show_outlines_each_code_on_its_thumbnail(tmp_path):
    canvas = Image.new("RGB", (400, 300), "white")
    canvas.paste(_symbol("qr", "drawn on the gallery"), (50, 40))
    canvas.save(tmp_path / "one.png")
    df = cinb.analyze(str(tmp_path), "qrcode", workers=1, progress=False)
    markup = df.ci.show(progress=False).html
    assert '<svg class="cinb-shapes" viewBox="0 0 400 300"' in markup
    assert "<polygon" in markup and "<title>drawn on the gallery</title>" in markup
