"""Blind watermarks near clipping (round 5): white UI at 255 keeps only the negative half of the mark, so the
visibility budget is charged only with the energy clipping lets through (``embed._kept_energy``)."""

from __future__ import annotations

import importlib
import math

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from cinb import blind, data
from cinb.blind import attacks
from cinb.blind.embed import LEVEL_VISIBILITY, _frame_maps, _kept_energy, luma, prepare, visibility
from cinb.compression.metrics import Reference

embed_module = importlib.import_module("cinb.blind.embed")  # ``cinb.blind.embed`` is also a function


@pytest.fixture(scope="module")
def sheet():
    """1200x800: a spreadsheet on white (77 % of it at 255), thin grey rules, short texts in every cell."""
    rng = np.random.default_rng(0)
    img = Image.new("RGB", (1200, 800), (255, 255, 255))
    d = ImageDraw.Draw(img)
    font = ImageFont.load_default()
    widths = [50, 220, 420, 200, 310]
    for y in range(30, 800, 26):
        x = 0
        for width in widths:
            d.rectangle((x, y, x + width, y + 26), outline=(190, 190, 190), fill=(217, 225, 242) if y == 30 else None)
            n = int(rng.integers(3, max(4, width // 7)))
            d.text((x + 6, y + 7), "".join(rng.choice(list("abcdefghijklmnopqrstuvwxyz0123456789 "), n)),
                   fill=(20, 20, 20), font=font)
            x += width
    return np.asarray(img)


def test_kept_energy_halves_at_either_end_of_the_range():
    grey = np.full((64, 64, 3), 128, np.uint8)
    white = np.full((64, 64, 3), 255, np.uint8)
    black = np.zeros((64, 64), np.uint8)
    red = np.zeros((64, 64, 3), np.uint8)
    red[..., 0] = 255
    assert _kept_energy(grey, (64, 64)) is None  # nothing clips
    grey[0, 0] = 255
    assert np.allclose(_kept_energy(grey, (64, 64))[1:, 1:], 1.0)
    assert np.allclose(_kept_energy(white, (64, 64)), 0.5, atol=0.005)
    assert np.allclose(_kept_energy(black, (64, 64)), 0.5, atol=0.005)
    # Pure red: red (0.299 of the luminance) clips the positive half, green and blue the negative half.
    assert np.allclose(_kept_energy(red, (64, 64)), 0.5 * (0.701**2 + 0.299**2), atol=0.005)
    half = np.full((300, 400, 3), 128, np.uint8)
    half[:, :200] = 255
    kept = _kept_energy(half, (150, 200))
    assert kept.shape == (150, 200) and abs(float(kept.mean()) - 0.75) < 0.005


def test_white_ui_gets_the_budget_clipping_leaves(sheet):
    canvas = prepare(sheet, level=2)
    amp, act, _ = _frame_maps(luma(sheet), canvas.scale)
    charged_in_full = math.sqrt(LEVEL_VISIBILITY[2] / visibility(amp, act))
    assert canvas.gain > 1.2 * charged_in_full


def test_photo_without_clipped_pixels_is_marked_as_before(monkeypatch):
    coffee = np.asarray(Image.open(data.sample_dir() / "coffee.jpg").convert("RGB"))
    photo = np.clip(coffee, 1, 254)  # no channel at either end of the range
    now = np.asarray(blind.embed(photo, text="cinb2026"))
    monkeypatch.setattr(embed_module, "CLIP_AWARE", False)
    assert np.array_equal(now, np.asarray(blind.embed(photo, text="cinb2026")))
    # coffee.jpg itself has 5 % of its pixels with a channel at 0 or 255: a little more mark, not much.
    more, before = np.asarray(blind.embed(coffee, text="cinb2026")), coffee.astype(float)
    monkeypatch.setattr(embed_module, "CLIP_AWARE", True)
    ratio = np.abs(np.asarray(blind.embed(coffee, text="cinb2026")) - before).mean() / np.abs(more - before).mean()
    assert 1.0 < ratio < 1.05


@pytest.mark.parametrize("text", ["sheet-01", "Q4-2026"])
def test_white_spreadsheet_survives_jpeg_q50(sheet, text):
    # Charged on the whole mark (rounds 2-4) both texts were lost after JPEG q50 (pilot z 5.7-6.2).
    marked = np.asarray(blind.embed(sheet, text=text))
    found = blind.extract(attacks.jpeg(marked, 50))
    assert found.text == text and found.status > 75, found


def test_white_spreadsheet_mark_stays_invisible(sheet):
    marked = np.asarray(blind.embed(sheet, text="sheet-01"))
    assert Reference(sheet).ssimulacra2(marked) >= 75.0
    mse = float(np.mean((marked.astype(float) - sheet) ** 2))
    assert 10 * math.log10(255.0**2 / mse) >= 40.0


def test_alpha_and_grey_count_like_the_colour_they_show(sheet):
    rgba = np.dstack([sheet, np.full(sheet.shape[:2], 255, np.uint8)])  # an opaque alpha is no clipping
    grey = luma(sheet).round().astype(np.uint8)
    gains = [prepare(p, level=2).gain for p in (sheet, rgba, grey)]
    assert gains[1] == pytest.approx(gains[0], rel=1e-6)
    assert gains[2] == pytest.approx(gains[0], rel=0.05)  # the white and the black text clip alike in grey
