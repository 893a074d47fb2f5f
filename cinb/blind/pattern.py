"""The keyed periodic tile that carries a blind watermark.

A tile of ``TILE x TILE`` pixels is cut into ``CHIP x CHIP`` chips. A keyed random subset of the chips
are *pilots* with known signs (they let the extractor find the tile's cyclic shift after a crop); the
others carry the coded payload, each coded bit spread over several chips with keyed signs. The tile is
smoothed a little (cyclically) so its energy sits in the mid frequencies that survive JPEG and
down-scaling, and it is repeated over the whole image.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

from ..caches import register_cache

#: Tile period in pixels (the normalised frame).
TILE = 128
#: Chip size in pixels.
CHIP = 4
#: Share of chips used as pilots.
PILOT_SHARE = 0.375
#: Cyclic smoothing of the tile (Gaussian sigma, pixels).
SMOOTH_SIGMA = 1.0
#: Default key: marks made with another key are invisible to this one.
DEFAULT_KEY = "cinb"


def _seed(key: str, purpose: str) -> int:
    digest = hashlib.sha256(f"cinb-blind/{purpose}/{key}".encode()).digest()
    return int.from_bytes(digest[:8], "little")


def cyclic_smooth(tile: np.ndarray, sigma: float = SMOOTH_SIGMA) -> np.ndarray:
    """Gaussian-smooth a tile with wrap-around borders (the tile repeats)."""
    if sigma <= 0:
        return tile.astype(np.float32)
    pad = int(np.ceil(4 * sigma))
    big = np.pad(tile.astype(np.float32), pad, mode="wrap")  # OpenCV filters refuse BORDER_WRAP
    out = cv2.GaussianBlur(big, (0, 0), sigma)
    return np.ascontiguousarray(out[pad:-pad, pad:-pad])


@dataclass(frozen=True)
class Layout:
    """Where pilots and payload chips sit in the tile, for one key and payload length.

    Attributes
    ----------
    key : str
        The secret that seeds every random choice.
    n_coded : int
        Number of coded payload bits carried by the data chips.
    """

    key: str
    n_coded: int

    @property
    def grid(self) -> int:
        return TILE // CHIP

    def _arrays(self):
        return _layout_arrays(self.key, self.n_coded)

    @property
    def pilot_chips(self) -> np.ndarray:
        """``grid x grid`` array: +1/-1 at pilot chips, 0 elsewhere."""
        return self._arrays()[0]

    @property
    def data_index(self) -> np.ndarray:
        """Flat chip indices of the data chips."""
        return self._arrays()[1]

    @property
    def data_bit(self) -> np.ndarray:
        """For each data chip, which coded bit it carries."""
        return self._arrays()[2]

    @property
    def data_sign(self) -> np.ndarray:
        """For each data chip, its keyed spreading sign (+1/-1)."""
        return self._arrays()[3]

    def pilot_tile(self) -> np.ndarray:
        """The smoothed pilot-only tile (``TILE x TILE`` float32)."""
        return _pilot_tile(self.key, self.n_coded)

    def tile(self, coded: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
        """The full smoothed tile for coded bits ``coded`` (0/1), zero-mean, unit RMS-ish.

        ``weights`` (one per coded bit, default 1) scale each coded bit's chips (informed embedding,
        :func:`cinb.blind.mark.embed_coded`); the pilots keep unit amplitude.

        Examples
        --------
        >>> import numpy as np
        >>> from cinb.blind.pattern import Layout
        >>> lay = Layout("k", 60)
        >>> t = lay.tile(np.zeros(60, dtype=np.uint8))
        >>> t.shape, abs(float(t.mean())) < 0.05
        ((128, 128), True)
        """
        chips = self.pilot_chips.astype(np.float32).ravel().copy()
        symbols = 1.0 - 2.0 * np.asarray(coded, dtype=np.float32)
        if weights is not None:
            symbols = symbols * np.asarray(weights, dtype=np.float32)
        chips[self.data_index] = self.data_sign * symbols[self.data_bit]
        up = np.kron(chips.reshape(self.grid, self.grid), np.ones((CHIP, CHIP), np.float32))
        return cyclic_smooth(up)


@register_cache
@lru_cache(maxsize=32)
def _layout_arrays(key: str, n_coded: int):
    grid = TILE // CHIP
    n = grid * grid
    rng = np.random.default_rng(_seed(key, f"layout/{n_coded}"))
    perm = rng.permutation(n)
    n_pilot = int(round(n * PILOT_SHARE))
    pilot_idx, data_idx = np.sort(perm[:n_pilot]), perm[n_pilot:]
    if data_idx.size < n_coded:
        raise ValueError(f"tile holds {data_idx.size} data chips, fewer than {n_coded} coded bits")
    pilots = np.zeros(n, dtype=np.float32)
    pilots[pilot_idx] = rng.choice(np.array([-1.0, 1.0], np.float32), size=n_pilot)
    # Spread each coded bit over chips far apart in the tile (the permutation already scatters them).
    data_bit = np.arange(data_idx.size) % n_coded
    data_sign = rng.choice(np.array([-1.0, 1.0], np.float32), size=data_idx.size)
    return pilots.reshape(grid, grid), data_idx, data_bit, data_sign


@register_cache
@lru_cache(maxsize=32)
def _pilot_tile(key: str, n_coded: int) -> np.ndarray:
    lay = Layout(key, n_coded)
    up = np.kron(lay.pilot_chips, np.ones((CHIP, CHIP), np.float32))
    return cyclic_smooth(up)
