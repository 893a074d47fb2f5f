"""Real image files of every format cinb reads, mutated at random: only CIError or a correct result.

The rule fuzzing lives in ``test_robustness.py``; this is its counterpart for the bytes. A result is
correct when its bytes decode, to the size and format it reports. Hypothesis runs derandomized, with
a bounded number of examples, so the test is deterministic and takes seconds.
"""

from __future__ import annotations

import io
import os
from functools import cache

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

import cinb
import engine_images as ei
from cinb import CIError

FUZZ = settings(max_examples=300, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

RULES = ["imageMogr2/thumbnail/!50p", "imageMogr2/format/png", "imageMogr2/format/jpg", "imageMogr2/format/webp",
         "imageMogr2/format/gif", "imageMogr2/auto-orient/format/avif", "imageView2/1/w/20/h/20",
         "imageMogr2/rotate/90/format/bmp", "imageInfo", "imageAve", "exif"]


def _save(image: Image.Image, fmt: str, **params) -> bytes:
    buf = io.BytesIO()
    image.save(buf, fmt, **params)
    return buf.getvalue()


@cache
def seeds() -> dict[str, bytes]:
    """One small, valid file per format and notable variant (metadata, frames, alpha, bit depth)."""
    import pillow_heif

    pillow_heif.register_heif_opener()
    photo = Image.fromarray(ei._photo_array(48, 32))
    rgba = photo.convert("RGBA")
    rgba.putalpha(Image.linear_gradient("L").resize(photo.size))
    exif = Image.Exif()
    exif[0x0112] = 6
    exif[0x010F] = "fuzz"
    frames = [photo.rotate(a) for a in (0, 90, 180)]
    grey16 = Image.frombytes("I;16", (32, 16), (np.arange(512, dtype="<u2") * 120).tobytes())
    out = {
        "jpeg": _save(photo, "JPEG", quality=80, exif=exif.tobytes()),
        "png": _save(rgba, "PNG"),
        "png_trns": _save(photo.convert("RGB"), "PNG", transparency=(0, 0, 0)),
        "png16": _save(grey16, "PNG"),
        "png_palette": _save(photo.convert("P"), "PNG", transparency=3),
        "gif": _save(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=80, loop=0),
        "webp": _save(rgba, "WEBP", quality=70),
        "webp_anim": _save(frames[0], "WEBP", save_all=True, append_images=frames[1:], duration=80),
        "tiff": _save(photo, "TIFF", save_all=True, append_images=[photo.resize((20, 40))], exif=exif),
        "tiff_lzw": _save(photo, "TIFF", compression="tiff_lzw"),
        "bmp": _save(photo, "BMP"),
        "ico": _save(rgba, "ICO", sizes=[(32, 32)]),
        "heic": _save(photo, "HEIF", quality=60),
        "avif": _save(rgba, "AVIF", quality=60),
        "dds": _save(rgba, "DDS"),
    }
    return out


@st.composite
def mutated(draw) -> tuple[str, bytes]:
    """A seed file with bytes overwritten, inserted or deleted, and maybe cut short."""
    kind = draw(st.sampled_from(sorted(seeds())))
    data = bytearray(seeds()[kind])
    for _ in range(draw(st.integers(0, 8))):
        pos = draw(st.integers(0, len(data) - 1))
        action = draw(st.sampled_from(["set", "set", "insert", "delete"]))
        if action == "set":
            data[pos] = draw(st.integers(0, 255))
        elif action == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=16))
        elif len(data) > 1:
            del data[pos:pos + draw(st.integers(1, 16))]
    if draw(st.booleans()):
        data = data[:draw(st.integers(1, len(data)))]
    return kind, bytes(data)


def _check(data: bytes, rule: str) -> None:
    try:
        result = cinb.process(data, rule)
    except CIError as err:
        assert isinstance(err.code, int) and err.code < 0
        return
    assert result.data
    if result.format == "json":
        assert isinstance(result.json, dict)
        return
    with Image.open(io.BytesIO(result.data)) as shown:  # decodes whole, at the size reported
        shown.load()
        assert shown.size == (result.width, result.height)
    assert cinb.image_info(result.data)["format"] == result.format


@pytest.mark.filterwarnings("ignore::UserWarning")  # Pillow warns about the damage it skips
@FUZZ
@given(sample=mutated(), rule=st.sampled_from(RULES))
def test_mutated_image_bytes_give_a_cierror_or_a_correct_result(sample, rule):
    _check(sample[1], rule)


@pytest.mark.parametrize("kind", sorted(seeds()))
def test_every_seed_is_read_correctly(kind):
    """The unmutated seeds: a correct result for every rule (so the fuzz starts from good files)."""
    for rule in RULES:
        if "format/" not in rule and kind in ("dds", "ico") and rule not in ("imageInfo", "imageAve", "exif"):
            # read-only formats CI cannot write: without /format/ the output format is refused
            assert pytest.raises(CIError, cinb.process, seeds()[kind], rule).value.code == -113
            continue
        _check(seeds()[kind], rule)
        assert cinb.process(seeds()[kind], rule).data


@pytest.mark.filterwarnings("ignore::UserWarning")
@settings(FUZZ, max_examples=40)
@given(sample=mutated())
def test_mutated_files_leave_no_partial_output(sample, tmp_path_factory):
    """Through ``Result.save`` (the atomic write every writer uses): the file is whole or absent."""
    folder = tmp_path_factory.mktemp("out")
    try:
        result = cinb.process(sample[1], "imageMogr2/thumbnail/!50p/format/png")
    except CIError:
        assert os.listdir(folder) == []
        return
    path = result.save(folder / "out.png")
    assert os.listdir(folder) == ["out.png"] and path.read_bytes() == result.data
