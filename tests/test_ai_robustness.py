"""Every registered ``ci-process`` endpoint x odd inputs x malformed parameters: a valid answer or a CIError.

The project's ground rule for bad input, applied to the AI layer: a corrupt, truncated, odd-mode or
over-limit image, or a malformed parameter, gets a ``CIError`` whose code is one of CI's (the
constants of :mod:`cinb.errors`); otherwise the answer must be valid (a JSON-serialisable response,
or an image that decodes to the size reported). Any other exception fails. The endpoints come from
the registry, so a new endpoint is swept without touching this file. Inputs are generated here,
small, so the whole module stays fast on a loaded machine.
"""

from __future__ import annotations

import io
import json
import struct
import zlib
from functools import cache
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import cinb
from cinb import errors
from cinb.ai.endpoints import endpoints, get_endpoint
from cinb.ai.request import parse_request
from cinb.tokens import b64u_encode

#: CI's error codes cinb uses (every negative int constant of cinb.errors).
CODES = frozenset(v for k, v in vars(errors).items() if k.isupper() and isinstance(v, int) and v < 0)

NAMES = [ep.name for ep in endpoints()]


# --- odd inputs -----------------------------------------------------------------------------------


def _save(image: Image.Image, fmt: str, **params) -> bytes:
    buf = io.BytesIO()
    image.save(buf, fmt, **params)
    return buf.getvalue()


def _photo(width: int, height: int, seed: int = 0) -> Image.Image:
    """Smooth colour gradients plus a little noise: some texture for the detectors, nothing to find."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    noise = np.random.default_rng(seed).normal(0, 8, (height, width, 3))
    rgb = np.stack([255 * x / max(width, 1), 255 * y / max(height, 1), 128 + 60 * np.sin(x / 7 + y / 11)], -1)
    return Image.fromarray(np.clip(rgb + noise, 0, 255).astype(np.uint8))


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG whose IHDR declares ``width`` x ``height`` (a tiny IDAT follows): 0x0 or a decompression bomb."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr)
            + _png_chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + _png_chunk(b"IEND", b""))


def _exif(orientation: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    return exif.tobytes()


def _damaged_exif_jpeg() -> bytes:
    """A JPEG whose APP1 Exif segment holds a TIFF header pointing far outside the segment."""
    good = _save(_photo(40, 30, 3), "JPEG", quality=85)
    body = b"Exif\x00\x00" + b"II*\x00" + struct.pack("<I", 0x7FFFFFF0) + b"\xff" * 24
    app1 = b"\xff\xe1" + struct.pack(">H", len(body) + 2) + body
    return good[:2] + app1 + good[2:]


def _png_with_text(key: bytes, text: bytes) -> bytes:
    """A small PNG carrying a tEXt chunk (the metadata readers parse it: ImageAIGCMetadata's label)."""
    png = _save(_photo(24, 16, 7), "PNG")
    end = png.rindex(b"IEND") - 4
    return png[:end] + _png_chunk(b"tEXt", key + b"\x00" + text) + png[end:]


def _mixed_size_frames() -> bytes:
    """A two-page TIFF whose pages differ in size (the animated-frames case the decoders must handle)."""
    first = _photo(40, 30, 4)
    return _save(first, "TIFF", save_all=True, append_images=[_photo(20, 44, 5)])


@cache
def odd_inputs() -> dict[str, bytes]:
    """Name -> encoded bytes: the odd files CI may be handed, each small."""
    photo = _photo(48, 36)
    rgba = photo.convert("RGBA")
    rgba.putalpha(Image.linear_gradient("L").resize(photo.size))
    frames = [_photo(32, 24, s) for s in range(3)]
    jpeg = _save(photo, "JPEG", quality=85)
    png = _save(photo, "PNG")
    grey16 = Image.frombytes("I;16", (40, 30), (np.arange(40 * 30, dtype="<u2") * 50).tobytes())
    out = {
        "empty": b"",
        "text": b"this is not an image at all\n" * 4,
        "zero_size": _png_header_only(0, 0),
        "bomb_header": _png_header_only(60000, 60000),
        "one_px": _save(Image.new("RGB", (1, 1), (200, 30, 30)), "PNG"),
        "three_px": _save(_photo(3, 3), "PNG"),
        "strip_10000x20": _save(_photo(10000, 20), "PNG"),
        "truncated_jpeg": jpeg[: len(jpeg) // 2],
        "truncated_png": png[: len(png) // 2],
        "cmyk_jpeg": _save(photo.convert("CMYK"), "JPEG", quality=85),
        "png16": _save(grey16, "PNG"),
        "la": _save(photo.convert("LA"), "PNG"),
        "palette": _save(photo.convert("P"), "PNG", transparency=3),
        "bilevel": _save(photo.convert("1"), "PNG"),
        "rgba": _save(rgba, "PNG"),
        "damaged_exif": _damaged_exif_jpeg(),
        "damaged_icc": _save(photo, "JPEG", quality=85, icc_profile=b"not an ICC profile" * 8),
        "gif_anim": _save(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=60, loop=0),
        "webp_anim": _save(frames[0], "WEBP", save_all=True, append_images=frames[1:], duration=60),
        "mixed_frames": _mixed_size_frames(),
        "gif_subrect_frames": _save(frames[0], "GIF", save_all=True, duration=60,
                                    append_images=[_photo(20, 44, 3), _photo(10, 10, 4)]),
        "apng_mixed_frames": _save(frames[0], "PNG", save_all=True, append_images=[_photo(20, 44, 3)]),
        "bomb_area": _png_header_only(20000, 15000),  # each side under 30000, 300 Mpx over CI's 250
        "gif_400_frames": _save(frames[0], "GIF", save_all=True, duration=10,
                                append_images=[frames[i % 3].resize((8, 8)) for i in range(399)]),
        "over_32mb": _png_with_text(b"Comment", b"\0" * (33 << 20)),  # a valid PNG over CI's 32 MB input limit
        "aigc_deep_json": _png_with_text(b"AIGC", b"[" * 100000),
        "aigc_not_json": _png_with_text(b"AIGC", b"\xff\xfe{" * 50),
    }
    for orientation in range(1, 9):
        out[f"exif_{orientation}"] = _save(_photo(40, 24, orientation), "JPEG", quality=85,
                                           exif=_exif(orientation))
    return out


def odd_pictures() -> dict[str, Image.Image]:
    """Name -> a PIL image in a mode or size no file decode produces (``ci_process`` takes PIL images)."""
    photo = _photo(40, 30, 6)
    out = {f"pil_{m}": photo.convert(m) for m in ("1", "P", "LA", "PA", "La", "RGBa", "CMYK", "YCbCr", "HSV", "I", "F")}
    out["pil_I;16"] = Image.frombytes("I;16", (40, 30), (np.arange(1200, dtype="<u2") * 50).tobytes())
    out["pil_0x0"] = Image.new("RGB", (0, 0))
    out["pil_0x10"] = Image.new("L", (0, 10))
    out["pil_over_limit"] = Image.new("1", (40000, 2))  # over CI's 30000 px side, yet only 10 kB in memory
    return out


def source(kind: str, tmp_path: Path):
    """The ``src`` for input ``kind``: bytes, a PIL image, or a path that is missing or a folder."""
    if kind == "missing_path":
        return tmp_path / "gone.jpg"
    if kind == "folder_path":
        return tmp_path
    if kind in ODD_SOURCES:
        return ODD_SOURCES[kind]
    return odd_pictures()[kind] if kind.startswith("pil_") else odd_inputs()[kind]


#: Things passed as ``src`` that are no image at all.
ODD_SOURCES = {"empty_path": "", "none": None, "number": 42, "array": np.zeros((8, 8, 3), np.uint8),
               "png_signature_only": b"\x89PNG\r\n\x1a\n"}

#: Inputs that are refused before any model runs (decode errors, limits): cheap, so every endpoint gets them.
REFUSED = ("empty", "text", "zero_size", "bomb_header", "bomb_area", "gif_400_frames", "over_32mb",
           "truncated_jpeg", "truncated_png", "missing_path",
           "folder_path", "pil_0x0", "pil_0x10", "pil_over_limit", *ODD_SOURCES)

#: The decodable odd inputs a slow endpoint runs its model on: the smallest picture, the extreme
#: aspect ratio (detectors tile it, OCR and matting rescale it), a mode the model never sees (CMYK)
#: and a multi-page file whose pages differ in size.
REPRESENTATIVE = ("one_px", "strip_10000x20", "cmyk_jpeg", "mixed_frames")

#: Endpoints whose model costs about a second a call or more on a loaded machine even on tiny inputs
#: (the SSD detector tiling the strip, super-resolution, OCR-based cards, matting). They get REFUSED
#: plus REPRESENTATIVE; the other decodable variants (EXIF orientations 1-8, palette, LA, 16-bit,
#: alpha, GIF/WebP frames, damaged EXIF/ICC, PIL modes) only change the shared decode in ImageInput,
#: which every fast endpoint runs on all of them. The matting endpoints (about 3 s a call at load 20:
#: u2netp at its fixed input size, whatever the picture) share one function, so they split
#: REPRESENTATIVE between them, one model run each and two for AIPicMatting.
SLOW = frozenset({"AIObjectDetect", "AISuperResolution", "AIEnhanceImage"})
#: Endpoints that are another endpoint's function with other settings get fewer model runs still:
#: the SSD family (AIBodyRecognition, DetectCar, ai-recognition, detect-pet filter AIObjectDetect's
#: detections; 3-4 s a call on the strip) and the matting family (about 5 s a call at load 30, u2netp
#: at its fixed input size whatever the picture; AIPortraitMatting and GoodsMatting are AIPicMatting's
#: function with another subject, so they get the refused inputs only).
#: The ID card readers (OCR plus a face detector, 2-10 s a call at load 30) run one input each;
#: ImageTargetRec (the SSD detector, MTCNN and the plate OCR in one call) runs two.
FEWER = {"AIBodyRecognition": ("one_px",), "DetectCar": ("cmyk_jpeg",), "ai-recognition": ("mixed_frames",),
         "detect-pet": ("one_px",), "AIPicMatting": ("strip_10000x20",), "AIPortraitMatting": (),
         "GoodsMatting": (), "AILicenseRec": ("strip_10000x20",), "IDCardOCR": ("one_px",),
         "ImageTargetRec": ("one_px", "cmyk_jpeg")}


def _kinds_for(name: str) -> tuple[str, ...]:
    if name in FEWER:
        return REFUSED + FEWER[name]
    if name in SLOW:
        return REFUSED + REPRESENTATIVE
    return tuple(sorted(odd_inputs())) + tuple(sorted(odd_pictures())) + REFUSED


# --- minimal valid extras -------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _in_a_scratch_folder(tmp_path, monkeypatch):
    """Relative paths among the bad values (``library=-7``) land in a scratch folder, not the checkout."""
    monkeypatch.chdir(tmp_path)


@pytest.fixture(scope="module")
def extras(tmp_path_factory) -> dict[str, dict]:
    """The parameters an endpoint cannot run without, minimal and valid."""
    root = tmp_path_factory.mktemp("extras")
    cinb.Library(root / "library")  # searching needs an existing library: only AddImage creates one
    logos = root / "logos"
    logos.mkdir()
    _photo(96, 96, 9).save(logos / "mark.png")
    poly = [[[0, 0], [2, 0], [2, 2], [0, 2]]]
    return {
        "ImageSearch": {"library": str(root / "library")},
        "ImageRepair": {"MaskPoly": b64u_encode(json.dumps(poly))},
        "RecognizeLogo": {"logos": str(logos)},
        "AIImageCrop": {"width": 16, "height": 16},
        "ai-recognition": {"detect-type": "vehicle"},
        "face-effect": {"type": "face-beautify"},
        "qrcode-generate": {"qrcode-content": "cinb"},
        "ImageTargetRec": {"detect-type": "body,face,car,plate", "cover": 1},
    }


def test_the_extras_are_valid_parameters(extras):
    """Each endpoint's required parameters parse (else the sweep would test only the parameter error)."""
    for name in NAMES:
        parse_request(name, extras.get(name, {}))


# --- the checks -----------------------------------------------------------------------------------


def _valid_or_cierror(call) -> cinb.CIError | cinb.Result:
    """Run ``call``: a CIError with one of CI's codes, or a valid answer (each returned). Anything else fails."""
    try:
        result = call()
    except cinb.CIError as err:
        assert err.code in CODES, f"CIError with a code outside CI's table: {err!r} code={err.code}"
        return err
    assert result.data, "an answer with no bytes"
    if result.format == "json":
        json.dumps(result.json)
        json.dumps(result.response)
        assert isinstance(result.xml, str)
    else:
        with Image.open(io.BytesIO(result.data)) as shown:
            shown.load()
            assert shown.size == (result.width, result.height)
        json.dumps(result.response)
    return result


def _cases() -> list:
    out = []
    for name in NAMES:
        if get_endpoint(name).takes_image:
            out += [pytest.param(name, kind, id=f"{name}-{kind}") for kind in dict.fromkeys(_kinds_for(name))]
    return out


@pytest.mark.filterwarnings("ignore::UserWarning")  # Pillow warns about the damage it skips
@pytest.mark.parametrize(("name", "kind"), _cases())
def test_odd_input_gives_an_answer_or_a_cierror(name, kind, extras, tmp_path):
    src = source(kind, tmp_path)
    out = _valid_or_cierror(lambda: cinb.ci_process(src, name, **extras.get(name, {})))
    if kind in REFUSED and not (name in FILE_LEVEL and kind in FILE_LEVEL_ANSWERS):
        assert isinstance(out, cinb.CIError), f"{name} answered on {kind}, which has no pixels to answer about"
    if kind.startswith("exif_") and isinstance(out, cinb.Result) and out.format != "json" and name != "AIImageCrop":
        # the 40 x 24 picture is shown 24 x 40 under orientations 5-8: an image answer is upright
        assert (out.height > out.width) == (int(kind[-1]) >= 5), (kind, out.width, out.height)
    if kind in WITH_ALPHA and isinstance(out, cinb.Result) and out.format != "json":
        with Image.open(io.BytesIO(out.data)) as shown:  # transparency is not flattened away silently
            assert "A" in shown.getbands() or "transparency" in shown.info, (kind, shown.mode)
    if kind.startswith("exif_") and isinstance(out, cinb.Result) and {"ImageWidth", "ImageHeight"} <= set(out.response):
        size = out.response["ImageWidth"], out.response["ImageHeight"]  # CI reports the displayed size
        assert size == ((24, 40) if int(kind[-1]) >= 5 else (40, 24)), (kind, size)


#: Inputs with transparency (alpha channel, palette transparency, the PIL alpha modes).
WITH_ALPHA = frozenset({"rgba", "la", "palette", "pil_LA", "pil_PA", "pil_La", "pil_RGBa"})

#: Endpoints that answer about the stored file, not its pixels: a 0x0 or truncated file still has a
#: header and metadata to report on (ImageInspect flags it; the AIGC label sits before the pixels).
FILE_LEVEL = frozenset({"ImageInspect", "ImageAIGCMetadata"})
FILE_LEVEL_ANSWERS = ("zero_size", "truncated_jpeg", "truncated_png", "png_signature_only")


@pytest.mark.parametrize("name", NAMES)
def test_unknown_parameter_is_refused_with_103(name, extras):
    src = None if not get_endpoint(name).takes_image else odd_inputs()["three_px"]
    with pytest.raises(cinb.CIError) as info:
        cinb.ci_process(src, name, **extras.get(name, {}), **{"no-such-parameter": "1"})
    assert info.value.code == errors.BAD_PARAMETER


#: Values no parameter of CI's accepts as given (out of range, wrong type, malformed text).
BAD_VALUES = {
    "huge": "999999999999",
    "negative": "-7",
    "word": "%%not-a-value%%",
    "empty": "",
    "nan": float("nan"),
    "object": object(),
    "list": [1, [2]],
    "dict": {"a": 1},
    "nul": "a\x00b",
    "long": "9" * 5000,
    "deep": "[" * 100000,
}


#: Failures in modules this sweep's author does not own, relayed to their owners (strict: an xfail
#: that starts passing fails, so the mark is removed with the fix).
KNOWN: dict[tuple[str, str, str], str] = {}


def _param_cases() -> list:
    out = []
    for name in NAMES:
        for p in get_endpoint(name).params:
            for label in BAD_VALUES:
                reason = KNOWN.get((name, p.name, label))
                marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
                out.append(pytest.param(name, p.name, label, id=f"{name}-{p.name}-{label}", marks=marks))
    return out


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize(("name", "param", "label"), _param_cases())
def test_malformed_parameter_gives_an_answer_or_a_cierror(name, param, label, extras):
    ep = get_endpoint(name)
    src = odd_inputs()["three_px"] if ep.takes_image else None
    given = {**extras.get(name, {}), param: BAD_VALUES[label]}
    _valid_or_cierror(lambda: cinb.ci_process(src, name, **given))


def _queries(name: str) -> list[str]:
    q = f"ci-process={name}"
    out = [f"{q}&bogus", f"{q}&&&", f"{q}&=1", f"https://b-1250000000.cos.ap-guangzhou.myqcloud.com/a.jpg?{q}&%ZZ=1",
           f"{q}&ci-process=QRcode", f"?{q}#fragment"]
    for p in get_endpoint(name).params:
        out += [f"{q}&{p.name}", f"{q}&{p.name}=%ZZ", f"{q}&{p.name}=1&{p.name}=2", f"{q}&{p.name}=%00",
                f"{q}&{p.name}=" + "9" * 400, f"{q}&{p.name}=1e400", f"{q}&{p.name}=%E4%B8%AD"]
    return out


@pytest.mark.parametrize("name", NAMES)
def test_malformed_pasted_queries_parse_or_give_a_cierror(name):
    """The pasted-query form (``ci_process(src, "ci-process=X&k=v")``), parsed only: no model runs."""
    for query in _queries(name):
        try:
            parse_request(query, {})
        except cinb.CIError as err:
            assert err.code in CODES, (query, err)


# --- collections ----------------------------------------------------------------------------------


#: The analyses swept over a mixed folder: every endpoint analysis except the slow-model ones
#: (their per-image path is the same EndpointAnalysis, exercised here by the fast endpoints and by
#: one model-backed analysis, "objects").
SLOW_ANALYSES = frozenset({"bodies", "pets", "vehicles", "matting", "idcard"})


def _analyses() -> list:
    names = [ep.analysis for ep in endpoints() if ep.analysis and ep.analysis not in SLOW_ANALYSES]
    return [pytest.param(a, id=a) for a in sorted(names)]


@pytest.fixture(scope="module")
def mixed_folder(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("ai-mixed")
    photo = _photo(64, 48, 8)  # over detect-label's 32 px minimum: the good rows must answer
    rgba = photo.convert("RGBA")
    rgba.putalpha(128)
    (folder / "upright.jpg").write_bytes(_save(photo, "JPEG", quality=85, exif=_exif(6)))
    (folder / "alpha.png").write_bytes(_save(rgba, "PNG"))
    (folder / "cmyk.jpg").write_bytes(_save(photo.convert("CMYK"), "JPEG", quality=85))
    (folder / "palette.gif").write_bytes(_save(photo.convert("P"), "GIF"))
    bad = {"empty.jpg": "empty", "text.png": "text", "truncated.png": "truncated_png", "bomb.png": "bomb_header",
           "zero.png": "zero_size"}
    for file, kind in bad.items():
        (folder / file).write_bytes(odd_inputs()[kind])
    return folder


GOOD_FILES = {"upright.jpg", "alpha.png", "cmyk.jpg", "palette.gif"}
BAD_FILES = {"empty.jpg", "text.png", "truncated.png", "bomb.png", "zero.png"}


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("analysis", _analyses())
def test_analysis_over_a_mixed_folder_gives_error_rows_and_answers_the_good_ones(analysis, mixed_folder, extras):
    ep = next(e for e in endpoints() if e.analysis == analysis)
    options = {analysis: {k.replace("-", "_"): v for k, v in extras.get(ep.name, {}).items()}}
    out = cinb.analyze(str(mixed_folder), analysis, max_workers=1, progress=False,
                       options=options if options[analysis] else None)
    rows = {r["name"]: r for r in out.to_dict("records")}
    assert set(rows) == GOOD_FILES | BAD_FILES
    for name in BAD_FILES:
        if ep.name in FILE_LEVEL and name in ("truncated.png", "zero.png"):
            continue  # a header to report on (see FILE_LEVEL)
        assert rows[name]["error"] and "X-ErrNo -" in rows[name]["error"], (name, rows[name]["error"])
        code = int(rows[name]["error"].rsplit("X-ErrNo ", 1)[1].split(")")[0])
        assert code in CODES
    for name in GOOD_FILES:
        assert rows[name]["error"] is None, (name, rows[name]["error"])
        assert rows[name][f"{analysis}_response"] is not None
        json.dumps(rows[name][f"{analysis}_response"])


def test_analysis_refuses_a_malformed_option_value_once(mixed_folder):
    with pytest.raises(cinb.CIError) as info:
        cinb.analyze(str(mixed_folder), "qrcode", options={"qrcode": {"cover": "zz"}}, max_workers=1, progress=False)
    assert info.value.code == errors.BAD_PARAMETER
