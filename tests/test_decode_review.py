"""Review of the decode and thumbnail path (shrink-on-load, source bytes, rule cache): each test is a
case that failed before its fix, or a check against the reference path (full decode + the same ops)."""

from __future__ import annotations

import io
from functools import cache
from pathlib import Path

import pytest
from PIL import Image

import cinb
import engine_images as ei
from cinb.compression.metrics import psnr
from cinb.decode import Header, draft_target


@pytest.fixture()
def jpeg_file(tmp_path):
    path = tmp_path / "photo.jpg"
    Image.new("RGB", (640, 480), (90, 140, 200)).save(path, "JPEG", quality=77)
    return path


def test_a_thumbnail_of_a_jpeg_file_does_not_read_the_file_into_memory(jpeg_file, monkeypatch):
    # open_canvas decodes a JPEG straight from disk so that a 5 MB photo is not copied into memory
    # first; the engine then read the whole file anyway, to see whether a bare imageInfo could
    # answer with the stored bytes.
    reads = []
    real = Path.read_bytes

    def counting(self):
        reads.append(self)
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", counting)
    r = cinb.process(jpeg_file, "imageMogr2/thumbnail/!25p/format/png")
    assert (r.width, r.height) == (160, 120)
    assert reads == []
    assert cinb.process(jpeg_file, "imageInfo").json["size"] == str(jpeg_file.stat().st_size)


# --- shrink-on-load against the reference path (full decode + the same ops) -------------------------

#: Neither side a multiple of 8 or 16: every DCT scale leaves a partial last block (and a partial
#: 4:2:0 chroma block).
STORED = (1499, 1123)


@cache
def _jpeg(orientation: int = 1, kind: str = "420") -> bytes:
    img = Image.fromarray(ei._photo_array(*STORED))
    exif = ei._exif(orientation).tobytes()
    params = {
        "420": {"subsampling": 2}, "444": {"subsampling": 0}, "progressive": {"progressive": True},
        "restart": {"restart_marker_blocks": 3}, "gray": {}, "cmyk": {},
    }[kind]
    if kind == "gray":
        img = img.convert("L")
    elif kind == "cmyk":
        img = img.convert("CMYK")
    return ei.encode(img, "JPEG", quality=90, exif=exif, **params)


def _reference(data: bytes, rule: str):
    """The same rule on a full decode (a PIL image is never shrunk on load)."""
    img = Image.open(io.BytesIO(data))
    img.load()
    return cinb.process(img, rule)


def _upright(orientation: int) -> tuple[int, int]:
    return STORED[::-1] if orientation >= 5 else STORED


#: Every thumbnail form, each small enough that the decode is reduced (asserted below) unless it
#: keeps one side whole.
FORMS = ["!13p", "!20px", "!x20p", "150x", "x150", "150x150", "!150x150r", "150x100!", "150x150>",
         "x97>", "97x>", "20000@", "97x61", "!61x97r"]


@pytest.mark.parametrize("orientation", [1, 5, 6, 7, 8])
@pytest.mark.parametrize("form", FORMS)
def test_every_thumbnail_form_has_the_reference_size_and_pixels_in_every_orientation(form, orientation):
    data = _jpeg(orientation)
    rule = f"imageMogr2/auto-orient/thumbnail/{form}/format/png"
    shrunk, full = cinb.process(data, rule), _reference(data, rule)
    W, H = _upright(orientation)
    thumb = cinb.parse_rule(rule).stages[0].ops[1]
    target = thumb.target_size(W, H)
    stored_target = target[::-1] if orientation >= 5 else target
    reduced = draft_target(Header("jpeg", *STORED), stored_target) is not None
    assert reduced == (form not in ("!20px", "!x20p"))  # a side kept whole needs the full decode
    assert (shrunk.width, shrunk.height) == (full.width, full.height) == target
    assert shrunk.image.size == target
    # Measured 43-52 dB on this noisy photo; a box left unturned or stretched gives 25-34 dB.
    assert psnr(shrunk.image.convert("RGB"), full.image.convert("RGB")) > 38, (form, orientation)


@pytest.mark.parametrize("kind", ["444", "progressive", "restart", "gray", "cmyk"])
def test_every_jpeg_kind_shrinks_on_load_like_the_full_decode(kind):
    data = _jpeg(6, kind)
    for rule in ("imageMogr2/auto-orient/thumbnail/200x200/format/png", "imageView2/1/w/150/h/97/format/png"):
        shrunk, full = cinb.process(data, rule), _reference(data, rule)
        assert shrunk.image.size == full.image.size == (shrunk.width, shrunk.height)
        assert shrunk.image.mode == full.image.mode == ("L" if kind == "gray" else "RGB")
        assert psnr(shrunk.image.convert("RGB"), full.image.convert("RGB")) > 40, (kind, rule)


def test_later_operations_see_the_thumbnail_and_metadata_follows_auto_orient():
    data = _jpeg(6)
    rule = ("imageMogr2/auto-orient/thumbnail/300x/crop/200x200/gravity/center/rotate/90/rquality/80"
            "|watermark/2/text/Y2luYg")
    shrunk, full = cinb.process(data, rule), _reference(data, rule)
    assert (shrunk.width, shrunk.height) == (full.width, full.height) == (200, 200)
    assert shrunk.info["quality"] == full.info["quality"] == 72  # 90 x 80 %: the source's own quality
    assert shrunk.image.getexif().get(0x0112) == 1  # auto-orient resets the tag
    assert psnr(shrunk.image.convert("RGB"), full.image.convert("RGB")) > 35
    info = cinb.process(data, "imageMogr2/thumbnail/300x|exif").json
    assert info["Orientation"]["val"] == "6"  # kept when not applied


@pytest.mark.parametrize("size", [(4001, 1), (1, 4001), (4001, 3), (3, 4001), (8001, 17)])
def test_one_row_and_one_column_jpegs(size):
    data = ei.encode(Image.fromarray(ei._photo_array(*size)), "JPEG", quality=90)
    for form in ("!10p", "300x", "x300", "300x300", "!300x300r", "300x300>", "300x300<", "900@"):
        rule = f"imageMogr2/thumbnail/{form}/format/png"
        try:
            expected = _reference(data, rule)
        except cinb.CIError as exc:
            with pytest.raises(cinb.CIError) as info:
                cinb.process(data, rule)
            assert info.value.code == exc.code
            continue
        got = cinb.process(data, rule)
        assert got.image.size == expected.image.size == (got.width, got.height), (size, form)


@pytest.mark.parametrize("cut", [2, 400])
def test_a_truncated_jpeg_fails_or_decodes_alike_with_shrink_on_load(cut):
    for kind in ("420", "progressive"):
        data = _jpeg(1, kind)[:-cut]
        rule = "imageMogr2/thumbnail/150x/format/png"
        try:
            expected = _reference(data, rule).image.size
        except (OSError, cinb.CIError):
            expected = None
        if expected is None:
            with pytest.raises(cinb.CIError) as info:
                cinb.process(data, rule)
            assert info.value.code == -443
        else:
            assert cinb.process(data, rule).image.size == expected


# --- the parsed-rule cache ---------------------------------------------------------------------------


def test_a_cached_rule_resolves_its_watermark_with_the_settings_of_each_call(tmp_path):
    from cinb.settings import using
    from cinb.tokens import b64u_encode

    folders = {}
    for colour in ("red", "blue"):
        folders[colour] = tmp_path / colour
        folders[colour].mkdir()
        Image.new("RGB", (20, 20), colour).save(folders[colour] / "wm.png")
    rule = f"watermark/1/image/{b64u_encode('wm.png')}/gravity/center|imageMogr2/format/png"
    assert cinb.parse_rule(rule) is cinb.parse_rule(rule)  # one shared parse
    seen = []
    for colour in ("red", "blue", "red"):
        with using(watermark_dirs=[folders[colour]]):
            seen.append(cinb.process(Image.new("RGB", (100, 100), "white"), rule).image.getpixel((50, 50)))
    assert seen[0] == seen[2] and seen[0][0] > 200 > seen[0][2]
    assert seen[1][2] > 200 > seen[1][0]


def test_a_cached_rule_cannot_be_changed_through_what_parse_rule_returns():
    import dataclasses

    rule = "imageMogr2/auto-orient/thumbnail/300x300/pad/1/color/I0ZGRkZGRg/crop/100x/quality/80"
    parsed = cinb.parse_rule(rule)
    thumb = parsed.stages[0].ops[1]
    with pytest.raises(dataclasses.FrozenInstanceError):
        thumb.width = 10
    with pytest.raises(dataclasses.FrozenInstanceError):
        parsed.stages[0].encode.quality = None
    with pytest.raises((TypeError, AttributeError)):
        parsed.stages[0].ops.append(None)
    assert isinstance(thumb.pad_color, tuple)
    assert str(cinb.parse_rule(rule)) == rule


# --- colour profiles ---------------------------------------------------------------------------------


def _profile_space(data: bytes) -> str | None:
    icc = Image.open(io.BytesIO(data)).info.get("icc_profile")
    return icc[16:20].decode("ascii").strip() if icc else None


REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("rule", ["imageMogr2/thumbnail/200x/format/jpg", "imageMogr2/format/png",
                                  "imageMogr2/strip/format/webp"])
def test_a_cmyk_jpeg_converted_through_its_profile_does_not_keep_the_cmyk_profile(rule):
    # The pixels are converted to sRGB through the CMYK profile; written beside RGB pixels, that
    # profile describes data that is not there (viewers and colour managers refuse or misread it).
    src = REPO / "datasets" / "sample" / "cmyk.jpg"
    assert _profile_space(src.read_bytes()) == "CMYK"
    r = cinb.process(src, rule)
    assert r.image.mode == "RGB"
    assert _profile_space(r.data) in (None, "RGB")
    assert _profile_space(cinb.process(Image.open(src), rule).data) in (None, "RGB")  # a PIL input too


def test_an_rgb_profile_is_still_kept():
    src = REPO / "datasets" / "sample" / "display-p3.jpg"
    assert _profile_space(cinb.process(src, "imageMogr2/thumbnail/200x/format/jpg").data) == "RGB"


# --- metadata after auto-orient --------------------------------------------------------------------

XMP = (b'<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/">'
       b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about=""'
       b' xmlns:tiff="http://ns.adobe.com/tiff/1.0/" tiff:Orientation="6" tiff:Make="cinb">'
       b'<tiff:Orientation>6</tiff:Orientation></rdf:Description></rdf:RDF></x:xmpmeta>'
       b'<?xpacket end="w"?>')


def _xmp_of(data: bytes) -> bytes:
    img = Image.open(io.BytesIO(data))
    xmp = img.info.get("xmp") or img.info.get("XML:com.adobe.xmp") or b""
    return xmp.encode() if isinstance(xmp, str) else xmp


@pytest.mark.parametrize("fmt", ["jpg"])  # the PNG and WebP writers keep no XMP at all
def test_auto_orient_resets_the_xmp_orientation_too(fmt):
    # Lightroom, exiftool and Windows read tiff:Orientation from XMP: left at 6 beside upright
    # pixels (and EXIF 1), they turn the picture a second time.
    src = ei.encode(Image.fromarray(ei._photo_array(64, 48)), "JPEG", exif=ei._exif(6).tobytes(), xmp=XMP)
    upright = cinb.process(src, f"imageMogr2/auto-orient/format/{fmt}")
    assert upright.image.size == (48, 64) and upright.image.getexif().get(0x0112) == 1
    xmp = _xmp_of(upright.data)
    assert b'tiff:Orientation="1"' in xmp and b"<tiff:Orientation>1</tiff:Orientation>" in xmp
    assert b'tiff:Make="cinb"' in xmp and b"6" not in xmp.replace(b"W5M0MpCehiHzreSzNTczkc9d", b"")
    kept = _xmp_of(cinb.process(src, f"imageMogr2/thumbnail/32x/format/{fmt}").data)
    assert b'tiff:Orientation="6"' in kept  # not applied: still pending, as in EXIF


def test_a_tiff_decoded_upright_does_not_keep_its_xmp_orientation():
    # Pillow applies a TIFF's orientation when it loads it; the XMP copy (which Pillow's own
    # getexif() falls back to) then has to say 1, or the picture is turned twice.
    from PIL import TiffImagePlugin

    tags = TiffImagePlugin.ImageFileDirectory_v2()
    tags[274] = 6
    tags[700] = XMP
    src = ei.encode(Image.new("RGB", (64, 48), "red"), "TIFF", tiffinfo=tags)
    out = cinb.process(src, "imageMogr2/format/jpg")
    assert out.image.size == (48, 64)
    assert b'tiff:Orientation="1"' in _xmp_of(out.data)
    assert out.image.getexif().get(0x0112, 1) == 1


# --- header ------------------------------------------------------------------------------------------


def test_an_exif_block_after_the_frame_header_is_read_by_the_header_as_by_the_decode():
    from cinb.header import read_header

    data = ei.encode(Image.fromarray(ei._photo_array(64, 48)), "JPEG", exif=ei._exif(6).tobytes())
    app1 = data.index(b"\xff\xe1")
    segment = data[app1:app1 + 2 + int.from_bytes(data[app1 + 2:app1 + 4], "big")]
    rest = data[:app1] + data[app1 + len(segment):]
    sof = rest.index(b"\xff\xc0")
    after = sof + 2 + int.from_bytes(rest[sof + 2:sof + 4], "big")
    moved = rest[:after] + segment + rest[after:]  # legal: APPn may come anywhere before the scan
    header = read_header(moved)
    assert (header.width, header.height, header.orientation, header.has_exif) == (64, 48, 6, True)
    assert cinb.process(moved, "imageMogr2/auto-orient/format/png").image.size == (48, 64)
    assert read_header(rest).orientation == 1 and not read_header(rest).has_exif
