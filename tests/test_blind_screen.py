"""Blind watermarks on screens (issue 15, round 5): a picture of flat UI gets the keyed tile enlarged 2x and
spread evenly, which WebP keeps (VP8 codes flat areas with little more than the means of 4x4 blocks)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from cinb import blind, data
from cinb.blind import attacks, mark, payload
from cinb.blind.mark import read_tile, working_frame
from cinb.blind.pattern import TILE, Layout
from cinb.blind.screen import ENLARGE, flat_share, is_screen, screen_odds
from cinb.blind.sync import fold
from cinb.compression.metrics import Reference

TEXT = "page-r5"


def _page(w: int = 1024, h: int = 768) -> np.ndarray:
    """A document window: white page, a light sidebar, a dark title bar, lines of small text."""
    img = Image.new("RGB", (w, h), (250, 250, 250))
    d = ImageDraw.Draw(img)
    d.rectangle([0, 0, 200, h], fill=(236, 239, 243))
    d.rectangle([0, 0, w, 40], fill=(52, 58, 70))
    font = ImageFont.load_default()
    rng = np.random.default_rng(3)
    words = ["blind", "watermark", "screen", "flat", "tile", "webp", "pilot", "chip", "frame", "reader"]
    for i, yy in enumerate(range(70, h - 30, 22)):
        x = 230
        while x < w - 120:
            word = words[rng.integers(len(words))]
            d.text((x, yy), word, fill=(30, 30, 30), font=font)
            x += 8 * len(word) + 8
        d.text((20, yy), f"item {i}", fill=(60, 60, 90), font=font)
    return np.asarray(img)


@pytest.fixture(scope="module")
def page() -> np.ndarray:
    return _page()


@pytest.fixture(scope="module")
def marked(page) -> np.ndarray:
    return np.asarray(blind.embed(page, text=TEXT))


@pytest.fixture(scope="module")
def fine(page) -> np.ndarray:
    """The page marked as releases before round 5 did (the fine layout)."""
    keep = mark.is_screen
    mark.is_screen = lambda pixels: False
    try:
        return np.asarray(blind.embed(page, text=TEXT))
    finally:
        mark.is_screen = keep


def _photo() -> np.ndarray:
    a = np.asarray(Image.open(data.coffee()).convert("RGB"))
    row = np.concatenate([a, a[:, ::-1]], axis=1)
    return np.ascontiguousarray(np.concatenate([row, row[::-1]], axis=0))  # 1200x800


def test_screens_and_photos_are_told_apart(page):
    assert flat_share(page) > 0.75 and is_screen(page)
    assert not is_screen(page[:500, :700])  # under the canonical frame: the enlarged tile would repeat too rarely
    photo = _photo()
    assert flat_share(photo) < 0.2 and not is_screen(photo)
    assert screen_odds(photo) == 0


def test_screen_mark_is_enlarged_and_faint(page, marked):
    # The enlarged tile folds at twice the nominal period, and not at the nominal one.
    coded = payload.text_bits(TEXT, key="cinb")
    lay = Layout("cinb", coded.size)
    y = working_frame(marked)
    _, z_big, _, _ = read_tile(fold(y, np.eye(2) * TILE * ENLARGE), lay)
    _, z_fine, _, _ = read_tile(fold(y, np.eye(2) * TILE), lay)
    assert z_big > 12 and z_fine < 6
    assert Reference(page).ssimulacra2(marked) > 70
    psnr = 10 * np.log10(255.0**2 / np.mean((marked.astype(float) - page) ** 2))
    assert psnr > 40


@pytest.mark.parametrize("quality", [50, 75])
def test_screen_reads_after_webp(marked, fine, quality):
    found = blind.extract(attacks.webp(marked, quality))
    assert found.text == TEXT and found.present and found.details["layout"] == "enlarged"
    # The fine layout keeps less of its pilots through WebP (measured: z 13.0 vs 9.8 at q50).
    old = blind.extract(attacks.webp(fine, quality))
    assert found.sync > old.sync + 1.0


@pytest.mark.parametrize("attack", ["crop 80% area", "rotate 3deg crop", "resize 0.3", "flip horizontal"])
def test_screen_reads_after_geometric_attacks(marked, attack):
    found = blind.extract(attacks.ATTACKS[attack](marked))
    assert found.text == TEXT
    # At 0.3x the page no longer looks like a screen; the fine layout's search finds the enlarged tile as a
    # thumbnail's (a 89 px tile in a 307x230 picture).
    assert found.details["layout"] == ("relative" if attack == "resize 0.3" else "enlarged")


def test_screen_marked_by_an_earlier_release_still_reads(fine):
    # The reader may search the enlarged layout first on a screen; the fine one must still be found.
    for attacked in (fine, attacks.ATTACKS["crop 80% area"](fine)):
        found = blind.extract(attacked)
        assert found.text == TEXT and found.details["layout"] == "relative"
