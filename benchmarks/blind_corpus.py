"""The blind-watermark benchmark's corpora: the hard set (flat skies, dark scenes, screenshots) and the
unmarked photos for false positives (issue 15).

``hard_corpus()`` -- 19 pictures no earlier blind-watermark run has used, picked for where a mark is most
visible (large smooth areas, dark tones, flat UI colours and text) before any mark was made on them:

=========================  ===  ==========================================================================
source                     n    pictures (licences: see the module named)
=========================  ===  ==========================================================================
:mod:`benchmarks.natural`  6    beyond the default 24: summer_1am (pink night sky over a lake), Kite (deep
                                blue sky), ColdRipple (jetty in fog), free (indoor, dim), greentock (wall
                                clock in the dark), YellowFlower (petals on black)
:mod:`benchmarks.           7    cliff (blue sky), lighthouse (blue sky), sun_behind_clouds (deep blue
heldout_photos`                  sky), trees_above (sky through crowns), trees_at_dusk (dusk sky),
                                jellyfish (dark aquarium), ocean_splash (dark water)
rendered here              6    screenshots of real text: this repository's ``docs/architecture.md`` as a
                                light document, ``cinb/blind/api.py`` in a dark code editor, a spreadsheet of
                                ``benchmarks/natural.py``'s photo list, a chat, a settings dialog over a
                                document, and a web page showing a held-out photo with its caption; DejaVu
                                fonts (Debian ``fonts-dejavu-core``) or, without them, Pillow's own font
=========================  ===  ==========================================================================

The screenshots are PNG (lossless, as a screen grab is), sizes of real screens (1920x1080, 1440x900,
1280x800, 1080x1920, 1024x768, 1366x768); they show the repository's files as they were when first rendered
(the cached PNG is kept until ``RECIPE_VERSION`` changes), so a rebuild on a later tree shows other text; the
photos keep their corpus recipe (long side
1024, JPEG q95 4:4:4). Files are written under ``benchmarks/.cache/blind/`` (git-ignored), nothing is
committed.

``unmarked_corpus()`` -- the photos that were never marked, for false positives: the 32 of
:mod:`benchmarks.heldout_photos`, the 37 of :mod:`benchmarks.natural` and the 222 of
:mod:`benchmarks.labelled` (ImageNet validation photos from foolbox, gcompris animal photos, tuxpaint photo
stamps on white; largest first): 291 real photos. The benchmark reads each as it is, after JPEG q75 and
after halving.

Example
-------
>>> from benchmarks.blind_corpus import hard_corpus   # doctest: +SKIP
>>> len(hard_corpus())                                # doctest: +SKIP
19
"""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from benchmarks.heldout_photos import ensure_heldout
from benchmarks.natural import REPO, ensure_natural

#: Bump when a screenshot's recipe changes: the cached PNGs are then rebuilt.
RECIPE_VERSION = 1
CACHE = REPO / "benchmarks" / ".cache" / "blind"

#: (index into benchmarks.natural.PHOTOS, why it is hard); all beyond the default 24.
HARD_NATURAL = [(24, "sky"), (26, "sky"), (28, "fog"), (32, "dark"), (33, "dark"), (36, "dark")]
#: (index into benchmarks.heldout_photos.PHOTOS, why it is hard).
HARD_HELDOUT = [(1, "sky"), (4, "sky"), (14, "sky"), (16, "sky"), (17, "sky"), (3, "dark"), (8, "dark")]
#: (kind, width, height) of the rendered screenshots.
SCREENS = [("document", 1280, 800), ("code", 1920, 1080), ("spreadsheet", 1440, 900), ("chat", 1080, 1920),
           ("dialog", 1024, 768), ("webpage", 1366, 768)]
_DEJAVU = Path("/usr/share/fonts/truetype/dejavu")


def _font(size: int, *, mono: bool = False, bold: bool = False) -> ImageFont.ImageFont:
    name = "DejaVuSansMono" if mono else "DejaVuSans"
    path = _DEJAVU / f"{name}{'-Bold' if bold else ''}.ttf"
    if path.exists():
        return ImageFont.truetype(str(path), size)
    return ImageFont.load_default(size=size)


def _text_lines(path: Path, width: int) -> list[str]:
    out = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        out += textwrap.wrap(raw, width) or [""]
    return out


def render_screen(kind: str, w: int, h: int) -> Image.Image:
    """A screenshot of real text: flat UI colours, anti-aliased type, thin rules (deterministic)."""
    rng = np.random.default_rng(sum(map(ord, kind)))
    dark = kind == "code"
    bg, fg = ((30, 31, 36), (212, 212, 212)) if dark else ((255, 255, 255), (33, 33, 33))
    img = Image.new("RGB", (w, h), bg)
    d = ImageDraw.Draw(img)
    bar = max(28, h // 30)
    d.rectangle((0, 0, w, bar), fill=(45, 47, 54) if dark else (232, 234, 238))  # title bar
    for i, c in enumerate([(236, 95, 90), (245, 190, 80), (98, 197, 84)]):
        d.ellipse((12 + 22 * i, bar // 2 - 6, 24 + 22 * i, bar // 2 + 6), fill=c)
    d.text((100, bar // 2), f"{kind} - cinb", fill=(150, 150, 150) if dark else (80, 80, 80),
           font=_font(14), anchor="lm")
    top = bar + 8
    if kind == "document":
        font, head = _font(17), _font(26, bold=True)
        d.rectangle((0, bar, 220, h), fill=(246, 247, 249))  # outline pane
        for i, line in enumerate(["Contents", "Layers", "Engine", "Collections", "AI", "Blind", "Limits"]):
            d.text((20, top + 16 + 30 * i), line, fill=(60, 60, 60), font=_font(15))
        y, lines = top + 20, _text_lines(REPO / "docs" / "architecture.md", 100)
        for line in lines:
            if y > h - 30:
                break
            heading = line.startswith("#")
            d.text((260, y), line.lstrip("# ") if heading else line, fill=fg, font=head if heading else font)
            y += 40 if heading else 26
    elif kind == "code":
        font = _font(17, mono=True)
        d.rectangle((0, bar, 260, h), fill=(37, 38, 44))  # file tree
        for i, name in enumerate(sorted(n for n in os.listdir(REPO / "cinb" / "blind") if n.endswith(".py"))):
            d.text((16, top + 10 + 24 * i), name, fill=(170, 170, 170), font=_font(15))
        palette = {"def": (198, 120, 221), "return": (198, 120, 221), "import": (198, 120, 221),
                   "#": (110, 120, 110), '"': (152, 195, 121)}
        y = top + 10
        src = (REPO / "cinb" / "blind" / "api.py").read_text(encoding="utf-8").splitlines()
        for n, line in enumerate(src, 1):
            if y > h - 24:
                break
            d.text((280, y), f"{n:4d}", fill=(90, 90, 100), font=font)
            key = next((k for k in palette if line.strip().startswith(k)), None)
            d.text((340, y), line[:150], fill=palette.get(key, fg), font=font)
            y += 23
    elif kind == "spreadsheet":
        from benchmarks.natural import PHOTOS

        font = _font(14)
        cols, cw, ch = ["#", "package", "subject", "author", "licence"], [50, 260, 640, 220, 270], 26
        x0, y = 0, top + 30
        d.rectangle((0, top, w, top + 30), fill=(242, 242, 242))
        for name, width in zip(cols, cw, strict=True):
            d.rectangle((x0, y, x0 + width, y + ch), fill=(217, 225, 242), outline=(190, 190, 190))
            d.text((x0 + 6, y + 5), name, fill=(20, 20, 20), font=_font(14, bold=True))
            x0 += width
        for r, ph in enumerate(PHOTOS):
            y += ch
            if y > h - ch:
                break
            x0 = 0
            cells = [str(r), ph.package, ph.subject, ph.author, ph.licence]
            for cell, width in zip(cells, cw, strict=True):
                d.rectangle((x0, y, x0 + width, y + ch), outline=(212, 212, 212))
                d.text((x0 + 6, y + 5), cell[: width // 8], fill=(30, 30, 30), font=font)
                x0 += width
    elif kind == "chat":
        font = _font(30)
        lines = [s for s in _text_lines(REPO / "README.md", 34) if len(s) > 12]
        d.rectangle((0, bar, w, h), fill=(237, 237, 237))
        y, i = top + 30, 0
        while y < h - 200 and i < len(lines):
            mine = rng.random() < 0.45
            msg = lines[i : i + 2]
            i += 2
            bw = 40 + max(int(d.textlength(s, font=font)) for s in msg)
            bh = 30 + 40 * len(msg)
            x0 = w - bw - 40 if mine else 110
            if not mine:
                d.ellipse((20, y, 90, y + 70), fill=(90, 140, 200))
            d.rounded_rectangle((x0, y, x0 + bw, y + bh), 14, fill=(149, 236, 105) if mine else (255, 255, 255))
            for k, s in enumerate(msg):
                d.text((x0 + 20, y + 15 + 40 * k), s, fill=(20, 20, 20), font=font)
            y += bh + 30
        d.rectangle((0, h - 140, w, h), fill=(247, 247, 247))
        d.rounded_rectangle((30, h - 110, w - 170, h - 40), 10, fill=(255, 255, 255))
        d.rounded_rectangle((w - 150, h - 110, w - 30, h - 40), 10, fill=(7, 193, 96))
        d.text((w - 90, h - 75), "Send", fill=(255, 255, 255), font=font, anchor="mm")
    elif kind == "dialog":
        font = _font(15)
        y = top + 16
        for line in _text_lines(REPO / "docs" / "ci-compatibility.md", 110):
            if y > h - 20:
                break
            d.text((24, y), line, fill=fg, font=font)
            y += 22
        shade = Image.new("RGB", (w, h), (0, 0, 0))
        img = Image.blend(img, shade, 0.35)  # the modal's dimmed background
        d = ImageDraw.Draw(img)
        box = (w // 5, h // 4, 4 * w // 5, 3 * h // 4)
        d.rounded_rectangle(box, 12, fill=(255, 255, 255), outline=(180, 180, 190))
        d.text((box[0] + 24, box[1] + 20), "Blind watermark settings", fill=(20, 20, 20), font=_font(20, bold=True))
        for i, (label, value) in enumerate([("Type", "3 (text)"), ("Text", "cinb2026"), ("Level", "2"),
                                            ("Key", "from $CINB_BLIND_KEY")]):
            yy = box[1] + 70 + 44 * i
            d.text((box[0] + 24, yy + 6), label, fill=(60, 60, 60), font=font)
            d.rounded_rectangle((box[0] + 140, yy, box[2] - 24, yy + 32), 6, outline=(190, 190, 200))
            d.text((box[0] + 150, yy + 7), value, fill=(20, 20, 20), font=font)
        d.rounded_rectangle((box[2] - 220, box[3] - 56, box[2] - 130, box[3] - 20), 8, fill=(235, 235, 238))
        d.text((box[2] - 175, box[3] - 38), "Cancel", fill=(30, 30, 30), font=font, anchor="mm")
        d.rounded_rectangle((box[2] - 114, box[3] - 56, box[2] - 24, box[3] - 20), 8, fill=(40, 110, 230))
        d.text((box[2] - 69, box[3] - 38), "OK", fill=(255, 255, 255), font=font, anchor="mm")
    elif kind == "webpage":
        from benchmarks.heldout_photos import PHOTOS as HELDOUT

        d.rectangle((0, bar, w, bar + 44), fill=(243, 243, 245))  # address bar
        d.rounded_rectangle((120, bar + 8, w - 120, bar + 36), 14, fill=(255, 255, 255))
        d.text((140, bar + 22), "https://example.org/gallery/lighthouse", fill=(90, 90, 90), font=_font(14),
               anchor="lm")
        y = bar + 70
        d.text((w // 2 - 380, y), "Gallery: a lighthouse", fill=(20, 20, 20), font=_font(34, bold=True))
        with Image.open(ensure_heldout()[4]) as photo:  # the lighthouse against a blue sky
            photo = photo.convert("RGB")
            photo.thumbnail((420, 520), Image.LANCZOS)
            img.paste(photo, (w // 2 - 380, y + 60))
        d.text((w // 2 - 380, y + 70 + photo.size[1]), HELDOUT[4][2], fill=(110, 110, 110), font=_font(14))
        yy = y + 60
        for line in _text_lines(REPO / "docs" / "architecture.md", 44)[:24]:
            d.text((w // 2 + 80, yy), line, fill=(40, 40, 40), font=_font(16))
            yy += 24
    else:
        raise ValueError(f"unknown screenshot kind {kind!r}")
    return img


def hard_corpus() -> list[Path]:
    """The hard set: 6 + 7 photos and 6 rendered screenshots (see the module docstring), built once."""
    natural = ensure_natural(n=37)
    heldout = ensure_heldout()
    out = [natural[i] for i, _ in HARD_NATURAL] + [heldout[i] for i, _ in HARD_HELDOUT]
    folder = CACHE / f"screens-v{RECIPE_VERSION}"
    folder.mkdir(parents=True, exist_ok=True)
    for kind, w, h in SCREENS:
        path = folder / f"screen-{kind}-{w}x{h}.png"
        if not path.exists():
            tmp = path.with_suffix(".part.png")
            render_screen(kind, w, h).save(tmp)
            os.replace(tmp, path)
        out.append(path)
    return out


def hard_kind(path: str | os.PathLike) -> str:
    """Why a picture of :func:`hard_corpus` is hard: ``"sky"``, ``"fog"``, ``"dark"`` or ``"screen"``."""
    name = Path(path).name
    if name.startswith("screen-"):
        return "screen"
    table = {f"natural-{i:02d}.jpg": k for i, k in HARD_NATURAL} | {f"heldout-{i:02d}.jpg": k for i, k in HARD_HELDOUT}
    return table.get(name, "?")


def unmarked_corpus() -> list[tuple[str, Path]]:
    """(source, path) of every never-marked photo used for false positives (see the module docstring)."""
    from benchmarks.labelled import ensure_labelled

    out = [("heldout", p) for p in ensure_heldout()]
    out += [("natural", p) for p in ensure_natural(n=37)]

    def side(path: Path) -> int:
        with Image.open(path) as im:
            return min(im.size)

    # Largest first: ``unmarked_corpus()[:n]`` keeps the photos whose halves are still readable (>= 128 px).
    out += sorted((("labelled", Path(item.path)) for item in ensure_labelled()), key=lambda sp: -side(sp[1]))
    return out


if __name__ == "__main__":
    for p in hard_corpus():
        with Image.open(p) as im:
            print(hard_kind(p), p.name, im.size)
    print(len(unmarked_corpus()), "unmarked photos")
