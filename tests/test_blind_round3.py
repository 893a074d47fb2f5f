"""Blind watermarks, issue 15 round 3: crops of larger photos (coherent period search), list decoding."""

from __future__ import annotations

import time

import numpy as np
import pytest
from PIL import Image

from cinb import blind, data
from cinb.blind import attacks, payload
from cinb.blind.ecc import conv_encode, crc16, list_viterbi_decode, viterbi_decode
from cinb.blind.embed import frame_scale
from cinb.blind.mark import ORIENTATIONS, redo_orientation, undo_orientation
from cinb.blind.sync import harmonic_grid, padded_spectrum, pilot_scale_search


@pytest.fixture(scope="module")
def medium():
    # 1200x800: larger than the canonical frame, so a crop changes the tile's size in the working frame.
    a = np.asarray(Image.open(data.coffee()).convert("RGB"))
    row = np.concatenate([a, a[:, ::-1]], axis=1)
    return np.ascontiguousarray(np.concatenate([row, row[::-1]], axis=0))


@pytest.fixture(scope="module")
def marked(medium):
    return np.asarray(blind.embed(medium, text="crop-r3"))


@pytest.mark.parametrize("name", ["crop 80% area", "crop 80% area corner", "crop 80%", "screenshot chain"])
def test_crops_of_a_photo_larger_than_the_frame(marked, name):
    attacked = attacks.ATTACKS[name](marked)
    assert frame_scale(*attacked.shape[:2]) < frame_scale(*marked.shape[:2])  # the tile looks larger
    t0 = time.process_time()
    found = blind.extract(attacked)
    spent = time.process_time() - t0
    assert found.text == "crop-r3" and found.present, name
    assert spent < 5.0  # ~0.1 s on an idle core; generous for a loaded CI machine


def test_flipped_crop_is_read(marked):
    found = blind.extract(attacks.flip(attacks.crop_area(marked, 0.8)))
    assert found.text == "crop-r3"
    assert found.details["orientation"] == "flip horizontal"


def test_unmarked_crop_stays_unmarked(medium):
    # Every search runs on an unmarked picture (smaller than the frame: one layout to try).
    found = blind.extract(attacks.screenshot_chain(medium))
    assert found.status < 60 and found.text == ""


def test_coherent_search_finds_the_period():
    rng = np.random.default_rng(3)
    tile = np.kron(rng.choice([-1.0, 1.0], (32, 32)), np.ones((4, 4))).astype(np.float32)
    period = 150.0
    # The tile repeated at 150 px (a crop of an image marked at 1.17x), under strong noise.
    big = np.tile(tile, (5, 7))
    y = np.asarray(Image.fromarray(big).resize((int(7 * period), int(5 * period)), Image.Resampling.BILINEAR))
    y = y + rng.normal(0, 3.0, y.shape).astype(np.float32)
    pilots = np.stack([harmonic_grid(redo_orientation(tile, o)) for o in ORIENTATIONS])
    periods = np.array([120.0, 135.0, 149.6, 150.0, 150.4, 170.0])
    z = pilot_scale_search(padded_spectrum(y), pilots, periods)
    assert int(np.argmax(z.max(axis=1))) == 3
    assert int(np.argmax(z[3])) == 0  # the upright orientation
    assert z[3, 0] > 8 > z[[0, 1, 5]].max()


def test_redo_undoes_undo():
    t = np.arange(16.0).reshape(4, 4)
    for o in ORIENTATIONS:
        assert np.array_equal(undo_orientation(redo_orientation(t, o), o), t)


def test_list_viterbi_recovers_what_plain_viterbi_misses():
    rng = np.random.default_rng(0)
    bits = rng.integers(0, 2, 80).astype(np.uint8)
    soft = (1 - 2.0 * conv_encode(bits)) * 0.8 + rng.standard_normal(258)
    assert not np.array_equal(viterbi_decode(soft, 80), bits)
    paths = list_viterbi_decode(soft, 80, size=16)
    assert np.array_equal(paths[0], viterbi_decode(soft, 80))
    assert any(np.array_equal(p, bits) for p in paths)
    assert len({p.tobytes() for p in paths}) == 16  # distinct paths


def test_list_decoding_checks_the_text():
    # A CRC-valid payload that no embedder writes (invalid UTF-8) is refused by the list decoder.
    bits = np.unpackbits(np.frombuffer(b"\xff\xfeab".ljust(8, b"\x00"), np.uint8))
    info = np.concatenate([bits, crc16(bits, init=payload._crc_init("k"))])
    soft = 4.0 * (1 - 2.0 * conv_encode(info))
    assert payload.decode_text(soft, key="k")[0] is not None  # plain decoding keeps its old behaviour
    assert payload.decode_text(soft, key="k", list_size=4)[0] is None
    good = payload.text_bits("ab", key="k")
    assert payload.decode_text(4.0 * (1 - 2.0 * good), key="k", list_size=4)[0] == "ab"


def test_dark_tones_get_less_mark():
    from cinb.blind.embed import _luminance_factor

    f = _luminance_factor(np.array([10.0, 60.0, 128.0, 240.0], np.float32))
    assert f[0] < f[1] < f[2] == 1.0 < f[3]


def test_dark_sky_photo_is_less_visible_than_in_round_2():
    from cinb.compression.metrics import Reference

    rgb = np.asarray(Image.open(data.rocket()).convert("RGB"))  # a dark blue sky over most of it
    marked = np.asarray(blind.embed(rgb, text="sky-2026"))
    # Round 2: 68.1. Now 69.7-70.6 depending on the text (the goal, 70, is met for 3 of 4 texts tried);
    # dimming dark tones further reaches 72 but costs the darkest natural photo its crops.
    assert Reference(rgb).ssimulacra2(marked) >= 69.5
    assert blind.extract(marked).text == "sky-2026"


@pytest.mark.parametrize("degrees", [2, -4])
def test_rotation_that_keeps_the_size_is_read(marked, degrees):
    # Black corners, same canvas: the coherent angle search at the untouched period finds it.
    assert blind.extract(attacks.rotate(marked, degrees)).text == "crop-r3"
