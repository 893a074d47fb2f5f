"""Watermark geometry and compositing: relative size, oversize handling, gravity, tiling, opacity.

Everything here works on an RGBA watermark ("mark") and the canvas frames; the parsing lives in
``stages.py``. Compositing touches only the region the mark covers (one ``paste`` with the mark as
mask for opaque frames, ``alpha_composite`` for frames with alpha); tiling builds one pattern with
``numpy.tile`` and one rotation, then composites it once per frame.
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image

from ..canvas import Canvas
from ..ops.frames import resize, round_half_up


def scaled_size(mark: tuple[int, int], image: tuple[int, int], scatype: int, spcent: int) -> tuple[int, int]:
    """The mark's size relative to the image, keeping its aspect ratio (spcent is per mille).

    scatype 1: mark width = W x spcent/1000; 2: height = H x spcent/1000;
    3: mark area = W x H x spcent/1000.

    Examples
    --------
    >>> from cinb.watermark.layout import scaled_size
    >>> scaled_size((100, 50), (1000, 800), 1, 200)
    (200, 100)
    >>> scaled_size((100, 50), (1000, 800), 2, 100)
    (160, 80)
    >>> scaled_size((100, 100), (1000, 1000), 3, 250)
    (500, 500)
    """
    (w, h), (W, H) = mark, image
    if scatype == 1:
        k = W * spcent / 1000 / w
    elif scatype == 2:
        k = H * spcent / 1000 / h
    else:
        k = math.sqrt(W * H * spcent / 1000 / (w * h))
    return round_half_up(w * k), round_half_up(h * k)


def fit_inside(size: tuple[int, int], box: tuple[int, int]) -> tuple[int, int]:
    """``size`` shrunk (aspect kept) to fit ``box``; unchanged when it already fits.

    Examples
    --------
    >>> from cinb.watermark.layout import fit_inside
    >>> fit_inside((400, 100), (200, 200))
    (200, 50)
    """
    (w, h), (W, H) = size, box
    if w <= W and h <= H:
        return size
    k = min(W / w, H / h)
    return round_half_up(w * k), round_half_up(h * k)


def _anchor(gravity: str) -> tuple[float, float]:
    """Where the gravity cell sits: 0 = left/top, 0.5 = centre, 1 = right/bottom."""
    g = gravity.lower()
    fx = 0.0 if g.endswith("west") else 1.0 if g.endswith("east") else 0.5
    fy = 0.0 if g.startswith("north") else 1.0 if g.startswith("south") else 0.5
    return fx, fy


def crop_to(mark: Image.Image, box: tuple[int, int], gravity: str) -> Image.Image:
    """``blogo/2``: cut an oversized mark down to ``box``, keeping the part at the gravity side.

    Examples
    --------
    >>> from PIL import Image
    >>> from cinb.watermark.layout import crop_to
    >>> crop_to(Image.new("RGBA", (300, 100)), (200, 200), "SouthEast").size
    (200, 100)
    """
    w, h = min(mark.width, box[0]), min(mark.height, box[1])
    fx, fy = _anchor(gravity)
    x, y = round((mark.width - w) * fx), round((mark.height - h) * fy)
    return mark.crop((x, y, x + w, y + h))


def position(gravity: str, dx: int, dy: int, image: tuple[int, int], mark: tuple[int, int]) -> tuple[int, int]:
    """Top-left corner of the mark: anchored at the gravity cell, ``dx``/``dy`` inward from the edge.

    dx is ignored for the centre column (North, Center, South), dy for the middle row
    (West, Center, East), as CI documents.

    Examples
    --------
    >>> from cinb.watermark.layout import position
    >>> position("SouthEast", 10, 20, (400, 300), (100, 50))
    (290, 230)
    >>> position("North", 10, 20, (400, 300), (100, 50))
    (150, 20)
    """
    (W, H), (w, h) = image, mark
    fx, fy = _anchor(gravity)
    x = dx if fx == 0 else W - w - dx if fx == 1 else (W - w) // 2
    y = dy if fy == 0 else H - h - dy if fy == 1 else (H - h) // 2
    return x, y


def dissolve(mark: Image.Image, percent: int) -> Image.Image:
    """The mark with its alpha multiplied by ``percent`` / 100.

    Examples
    --------
    >>> from PIL import Image
    >>> from cinb.watermark.layout import dissolve
    >>> dissolve(Image.new("RGBA", (1, 1), (9, 9, 9, 200)), 50).getpixel((0, 0))
    (9, 9, 9, 100)
    """
    if percent >= 100:
        return mark
    out = mark.copy()
    out.putalpha(mark.getchannel("A").point(lambda a: (a * percent + 50) // 100))
    return out


def tile_pattern(mark: Image.Image, image: tuple[int, int], *, spacing: int, degree: int) -> Image.Image:
    """An image-sized RGBA layer tiled with the mark, gaps of ``spacing`` % of the mark's size, turned
    ``degree`` clockwise about the image centre. The lattice has a tile at the top-left corner.

    Examples
    --------
    >>> from PIL import Image
    >>> from cinb.watermark.layout import tile_pattern
    >>> layer = tile_pattern(Image.new("RGBA", (10, 10), (255, 0, 0, 255)), (100, 60), spacing=100, degree=0)
    >>> layer.size, layer.getpixel((5, 5))[3], layer.getpixel((15, 5))[3], layer.getpixel((25, 5))[3]
    ((100, 60), 255, 0, 255)
    """
    W, H = image
    degree %= 360
    cw = mark.width + round(mark.width * spacing / 100)
    ch = mark.height + round(mark.height * spacing / 100)
    cell = np.zeros((ch, cw, 4), np.uint8)
    cell[: mark.height, : mark.width] = np.asarray(mark)
    if degree == 0:
        reps = (math.ceil(H / ch), math.ceil(W / cw), 1)
        return Image.fromarray(np.tile(cell, reps)[:H, :W], "RGBA")
    if W * H / (cw * ch) <= PASTE_MAX_TILES:
        return _pasted_tiles(mark, (cw, ch), (W, H), degree)
    return _turned_tiles(cell, (W, H), degree)


#: Up to this many tiles a turned tiling pastes one turned mark per lattice point (cost per tile);
#: beyond, it resamples the periodic pattern once per output pixel (cost per pixel). Measured on
#: 4000x3000: pasting ~11,000 13 px text marks still beats resampling (benchmarks/RESULTS.md).
PASTE_MAX_TILES = 15000


def _pasted_tiles(mark: Image.Image, cell: tuple[int, int], image: tuple[int, int], degree: int) -> Image.Image:
    """Turn the mark once, then composite it at every lattice point that touches the image.

    Positions are rounded to whole pixels (at most half a pixel off the exact lattice).
    """
    W, H = image
    cw, ch = cell
    turned = mark.convert("RGBa").rotate(-degree, resample=Image.Resampling.BICUBIC, expand=True).convert("RGBA")
    t = math.radians(degree)
    a = np.array([[math.cos(t), -math.sin(t)], [math.sin(t), math.cos(t)]])
    centre = np.array([W / 2, H / 2])
    shift = centre - a @ centre
    # lattice cells whose turned mark can reach the image: preimage of the image grown by the mark
    reach = math.hypot(turned.width, turned.height)
    corners = np.array([[-reach, -reach], [W + reach, -reach], [-reach, H + reach], [W + reach, H + reach]])
    pre = (corners - shift) @ a
    i = np.arange(math.floor(pre[:, 0].min() / cw), math.ceil(pre[:, 0].max() / cw) + 1)
    j = np.arange(math.floor(pre[:, 1].min() / ch), math.ceil(pre[:, 1].max() / ch) + 1)
    gi, gj = np.meshgrid(i, j)
    mids = np.stack([gi.ravel() * cw + mark.width / 2, gj.ravel() * ch + mark.height / 2], axis=1)
    at = np.floor(mids @ a.T + shift - np.array([turned.width / 2, turned.height / 2]) + 0.5).astype(int)
    seen = ((at[:, 0] < W) & (at[:, 1] < H) & (at[:, 0] + turned.width > 0) & (at[:, 1] + turned.height > 0))
    layer = Image.new("RGBA", (W, H))
    for x, y in at[seen].tolist():
        layer.alpha_composite(turned, dest=(max(x, 0), max(y, 0)), source=(max(-x, 0), max(-y, 0)))
    return layer


#: Output block side for the turned tiling: bounds the periodic source to a few MB at any image size.
_BLOCK = 1024


def _turned_tiles(cell: np.ndarray, image: tuple[int, int], degree: int) -> Image.Image:
    """The cell repeated over the plane, turned ``degree`` clockwise about the image centre.

    The lattice is periodic, so one small tiled source (a little larger than the preimage of a
    1024 px output block) serves every block: each block is one affine ``Image.transform`` from that
    source, offset to the right lattice point. No image-sized pattern is built or rotated.
    Premultiplied alpha (``RGBa``) keeps the mark's edges free of dark fringes. (Pillow rather than
    OpenCV: OpenCV's thread pool in a parent process hangs forked collection workers.)
    """
    W, H = image
    ch, cw = cell.shape[:2]
    t = math.radians(degree)
    c, s = math.cos(t), math.sin(t)
    a = np.array([[c, -s], [s, c]])  # y points down, so this turns clockwise on screen
    centre = np.array([W / 2, H / 2])
    shift = centre - a @ centre  # destination = a @ pattern + shift
    span = math.ceil(_BLOCK * (abs(c) + abs(s))) + 4
    tiled = np.tile(cell, (math.ceil(span / ch) + 2, math.ceil(span / cw) + 2, 1))
    source = Image.fromarray(tiled, "RGBA").convert("RGBa")
    resample = Image.Resampling.NEAREST if degree % 90 == 0 else Image.Resampling.BILINEAR
    out = Image.new("RGBa", (W, H))
    for y0 in range(0, H, _BLOCK):
        for x0 in range(0, W, _BLOCK):
            bw, bh = min(_BLOCK, W - x0), min(_BLOCK, H - y0)
            corners = np.array([[x0, y0], [x0 + bw, y0], [x0, y0 + bh], [x0 + bw, y0 + bh]], float)
            pre = (corners - shift) @ a  # inverse rotation (a is orthogonal): pattern coordinates
            kx = math.floor((pre[:, 0].min() - 2) / cw) * cw  # a lattice point left of / above the block
            ky = math.floor((pre[:, 1].min() - 2) / ch) * ch
            ox, oy = x0 - shift[0], y0 - shift[1]
            # Pillow maps output to input: source = inverse rotation of (block origin + xy) - lattice point
            coeffs = (c, s, c * ox + s * oy - kx, -s, c, -s * ox + c * oy - ky)
            out.paste(source.transform((bw, bh), Image.Transform.AFFINE, coeffs, resample=resample), (x0, y0))
    return out.convert("RGBA")


def is_grey(mark: Image.Image) -> bool:
    """True when every visible pixel of the mark is grey (R = G = B)."""
    a = np.asarray(mark)
    seen = a[..., 3] > 0
    rgb = a[..., :3][seen].astype(np.int16)
    return bool(rgb.size == 0 or (np.abs(rgb[:, 0] - rgb[:, 1]).max() == 0
                                  and np.abs(rgb[:, 1] - rgb[:, 2]).max() == 0))


def _composite_frame(frame: Image.Image, mark: Image.Image, xy: tuple[int, int]) -> Image.Image:
    x, y = xy
    box = (max(0, x), max(0, y), min(frame.width, x + mark.width), min(frame.height, y + mark.height))
    if box[0] >= box[2] or box[1] >= box[3]:
        return frame  # entirely outside the image
    part = mark.crop((box[0] - x, box[1] - y, box[2] - x, box[3] - y))
    out = frame.copy()
    if frame.mode in ("RGBA", "LA"):
        region = out.crop(box).convert("RGBA")
        region.alpha_composite(part)
        out.paste(region.convert(frame.mode), box[:2])
    else:
        # An opaque frame: blending with the mark's alpha as paste mask is "mark over frame".
        out.paste(part.convert(frame.mode) if frame.mode == "L" else part.convert("RGB"), box[:2],
                  part.getchannel("A"))
    return out


def composite(canvas: Canvas, mark: Image.Image, xy: tuple[int, int]) -> Canvas:
    """Lay ``mark`` (RGBA) over every frame at ``xy``; grey frames become colour if the mark is not grey."""
    if canvas.frames[0].mode in ("L", "LA") and not is_grey(mark):
        promote = {"L": "RGB", "LA": "RGBA"}
        canvas = canvas.map_frames(lambda f: f.convert(promote[f.mode]))
    return canvas.map_frames(lambda f: _composite_frame(f, mark, xy))


__all__ = ["composite", "crop_to", "dissolve", "fit_inside", "is_grey", "position", "resize", "scaled_size",
           "tile_pattern"]
