"""cinb.blind.attacks: the shared attacks change pixels as named, keep their shapes, refuse bad input."""

from __future__ import annotations

import doctest

import numpy as np
import pytest
from PIL import Image

from cinb import data
from cinb.blind import attacks


@pytest.fixture(scope="module")
def photo():
    return np.asarray(Image.open(data.coffee()).convert("RGB"))  # 600x400


def test_docstring_examples():
    result = doctest.testmod(attacks, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 5 and result.failed == 0


def test_benchmark_names_are_kept():
    # The first benchmark's names, in order, then those issue 15 added (the JSON keys of both rounds).
    assert list(attacks.ATTACKS) == [
        "none", "jpeg q90", "jpeg q75", "jpeg q50", "webp q75", "resize 0.5", "resize 0.75", "crop 80%",
        "brightness x0.8", "brightness x1.2", "contrast x1.3", "noise sigma 5", "rotate 2deg", "screenshot",
        "webp q50", "resize 0.3", "crop 80% area", "crop 80% area corner", "flip horizontal", "rotate 90",
        "rotate 3deg crop", "screenshot chain", "rotate 3deg crop + crop 80% area corner", "rotate 5deg + resize 0.6",
        "rotate 2deg crop + screenshot chain"]


@pytest.mark.parametrize("name", list(attacks.ATTACKS))
def test_every_attack_returns_rgb_uint8_and_is_deterministic(photo, name):
    out = attacks.ATTACKS[name](photo)
    assert out.dtype == np.uint8 and out.ndim == 3 and out.shape[2] == 3
    assert np.array_equal(out, attacks.ATTACKS[name](photo))
    assert np.array_equal(out, attacks.ATTACKS[name](Image.fromarray(photo)))  # PIL in, same pixels out


def test_geometry(photo):
    assert attacks.resize(photo, 0.5).shape == (200, 300, 3)
    assert attacks.resize(photo, 0.75).shape == (300, 450, 3)
    assert attacks.crop(photo, 0.8).shape == (320, 480, 3)
    assert np.array_equal(attacks.crop(photo, 0.8), photo[40:360, 60:540])
    assert attacks.rotate(photo, 2).shape == photo.shape
    assert attacks.screenshot(photo).shape == (320, 480, 3)


def test_issue15_geometry(photo):
    assert attacks.crop_area(photo, 0.8).shape == (358, 537, 3)
    assert np.array_equal(attacks.crop_corner(photo, 0.8), photo[:358, :537])
    assert np.array_equal(attacks.flip(photo), photo[:, ::-1])
    assert np.array_equal(attacks.flip(photo, horizontal=False), photo[::-1])
    assert attacks.ATTACKS["rotate 90"](photo).shape == (600, 400, 3)
    assert np.array_equal(attacks.ATTACKS["rotate 90"](photo)[0, :, :], photo[::-1, 0, :])  # clockwise
    turned = attacks.rotate_crop(photo, 3)
    assert turned.shape[0] < 400 and turned.shape[1] < 600
    assert turned[[0, 0, -1, -1], [0, -1, 0, -1]].min() > 0  # no black corner left
    assert attacks.screenshot_chain(photo).shape == (270, 405, 3)
    assert attacks.ci_thumbnail(photo, 300).shape == (200, 300, 3)


def test_quality_orders_the_damage(photo):
    err = [np.abs(attacks.jpeg(photo, q).astype(int) - photo).mean() for q in (90, 75, 50)]
    assert 0 < err[0] < err[1] < err[2]
    assert np.abs(attacks.webp(photo, 75).astype(int) - photo).mean() > 0


def test_tone_attacks(photo):
    assert attacks.brightness(photo, 1.2).mean() > photo.mean() > attacks.brightness(photo, 0.8).mean()
    assert attacks.contrast(photo, 1.3).std() > photo.std()
    noisy = attacks.noise(photo, 5)
    assert 3 < np.std(noisy.astype(float) - photo) < 6
    assert not np.array_equal(noisy, attacks.noise(photo, 5, seed=1))


def test_grey_and_rgba_inputs_become_rgb():
    grey = np.zeros((8, 10), np.uint8)
    assert attacks.as_rgb(grey).shape == (8, 10, 3)
    assert attacks.as_rgb(np.zeros((8, 10, 4), np.uint8)).shape == (8, 10, 3)
    assert attacks.as_rgb(Image.new("RGBA", (10, 8))).shape == (8, 10, 3)


@pytest.mark.parametrize("call, exc", [
    (lambda a: attacks.jpeg(a, 0), ValueError),
    (lambda a: attacks.jpeg(a, 101), ValueError),
    (lambda a: attacks.webp(a, -1), ValueError),
    (lambda a: attacks.resize(a, 0), ValueError),
    (lambda a: attacks.crop(a, 0), ValueError),
    (lambda a: attacks.crop(a, 1.5), ValueError),
    (lambda a: attacks.crop_area(a, 0), ValueError),
    (lambda a: attacks.crop_corner(a, 1.2), ValueError),
    (lambda a: attacks.as_rgb(a.astype(np.float32)), TypeError),
    (lambda a: attacks.as_rgb(a[..., :2]), ValueError),
])
def test_bad_arguments_raise(photo, call, exc):
    with pytest.raises(exc):
        call(photo)


def test_round5_chains(photo):
    # A rotation combined with a crop or a resize: each step as its own attack would leave it.
    chain = attacks.ATTACKS["rotate 3deg crop + crop 80% area corner"](photo)
    assert np.array_equal(chain, attacks.crop_corner(attacks.rotate_crop(photo, 3), 0.8))
    assert chain.shape[:2] == tuple(round(s * 0.8 ** 0.5) for s in attacks.rotate_crop(photo, 3).shape[:2])
    assert attacks.ATTACKS["rotate 5deg + resize 0.6"](photo).shape == (240, 360, 3)
    shot = attacks.ATTACKS["rotate 2deg crop + screenshot chain"](photo)
    assert np.array_equal(shot, attacks.screenshot_chain(attacks.rotate_crop(photo, 2)))
