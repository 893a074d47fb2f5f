"""Public functions: ``embed`` a blind watermark, ``extract`` it again (CI ``watermark/3`` and ``/4``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np
from PIL import Image

from ..decode import open_canvas
from ..errors import BAD_PARAMETER, UNSUPPORTED_TYPE, CIError
from . import payload
from .embed import LEVEL_PSNR, frame_scale, jnd_mask, luma, to_frame
from .mark import ORIENTATIONS, SYNC_Z, Reading, embed_coded, read_coded, read_tile
from .pattern import DEFAULT_KEY, TILE, Layout
from .screen import screen_odds
from .sync import fold

#: CI's blind-watermark types.
TYPES = (1, 2, 3)
#: Level used when the rule gives none (CI's older pages: default 1; we pick the level that meets
#: the robustness goals at PSNR >= 40 dB, see benchmarks/RESULTS.md).
DEFAULT_LEVEL = 2
#: Smallest side we mark: the extractor needs a couple of tile periods to find the lattice.
MIN_SIDE = TILE
#: Pilot z-score from which a payload that plain Viterbi cannot decode is list-decoded (unmarked
#: photos stay under ~6, see ``mark.SYNC_Z``).
LIST_Z = SYNC_Z + 1.5
#: Pilot z-score from which a mark whose payload does not decode is "suspected" (status 60-75). The
#: round-3 searches try more geometries, so chance peaks on unmarked photos reach ~6.0 (1 of 236 unmarked
#: readings); the bar sits above that.
SUSPECT_Z = SYNC_Z + 0.75
#: Visibility budget of image payloads (types 1/2) relative to text ones (see ``embed``).
IMAGE_BUDGET = 2.0


def _to_pil(src: Any) -> Image.Image:
    if isinstance(src, Image.Image):
        return src
    if isinstance(src, np.ndarray):
        return Image.fromarray(src)
    canvas = open_canvas(src)
    if canvas.is_animated:
        raise CIError("blind watermarks do not support animated images", code=UNSUPPORTED_TYPE)
    return canvas.frames[0]


def _pixels(img: Image.Image) -> tuple[np.ndarray, str]:
    mode = img.mode
    if mode.startswith("I"):  # 16/32-bit grey: keep the top 8 bits (PIL's convert would clip)
        a = np.asarray(img).astype(np.uint32)
        shift = 8 if a.max(initial=0) > 255 else 0
        return (a >> shift).clip(0, 255).astype(np.uint8), "L"
    if mode not in ("RGB", "RGBA", "L"):
        img = img.convert("RGBA" if "A" in mode or mode == "P" and "transparency" in img.info else "RGB")
    return np.asarray(img), img.mode


def _check_size(img: Image.Image) -> None:
    if min(img.size) < MIN_SIDE:
        raise CIError(f"image {img.size[0]}x{img.size[1]} is too small for a blind watermark "
                      f"(each side must be at least {MIN_SIDE} px)", code=BAD_PARAMETER)


def _check_level(level: int) -> int:
    if isinstance(level, bool) or not isinstance(level, (int, np.integer)) or int(level) not in LEVEL_PSNR:
        raise CIError(f"blind watermark level must be 0, 1, 2 or 3, got {level!r}", token=str(level))
    return int(level)


def _image_key(key: str, type_: int) -> str:
    # Types use separate layouts so a text mark never reads as an image mark and vice versa.
    return key if type_ == 3 else f"{key}/type{type_}"


def embed(src: Any, *, text: str | None = None, image: Any = None, type: int | None = None,
          level: int = DEFAULT_LEVEL, key: str = DEFAULT_KEY) -> Image.Image:
    """Add an invisible, blind-detectable watermark (CI ``watermark/3``).

    Parameters
    ----------
    src : path, bytes, PIL.Image.Image or ndarray
        The image to mark (at least 128 px each side; not animated).
    text : str, optional
        Type 3: up to 8 bytes of UTF-8 text.
    image : path, bytes, PIL.Image.Image or ndarray, optional
        Types 1 and 2: a small watermark image (reduced to a 16x16 binary grid).
    type : {1, 2, 3}, optional
        CI's type; default 3 with ``text``, 2 with ``image``.
    level : {0, 1, 2, 3}
        Strength: 0 is the least visible (PSNR ~45 dB), 3 the most robust (~38 dB).
    key : str
        Secret seed; extraction needs the same key.

    Returns
    -------
    PIL.Image.Image
        The marked image (same size and mode).

    Raises
    ------
    CIError
        -103 for a bad type, level, text or a too-small image; -113 for animated images.

    Examples
    --------
    >>> from cinb.blind.api import embed, extract
    >>> from PIL import Image
    >>> import numpy as np
    >>> y, x = np.mgrid[0:256, 0:320]
    >>> img = Image.fromarray((128 + 60 * np.sin(x / 19.0) * np.cos(y / 13.0)).astype(np.uint8)).convert("RGB")
    >>> marked = embed(img, text="cinb")
    >>> extract(marked).text
    'cinb'
    """
    if type is None:
        type = 3 if text is not None else 2
    if type not in TYPES:
        raise CIError(f"blind watermark type must be 1, 2 or 3, got {type!r}", token=str(type))
    level = _check_level(level)
    pil = _to_pil(src)
    _check_size(pil)
    if type == 3:
        if text is None:
            raise CIError("blind watermark type 3 needs text", token="text")
        coded = payload.text_bits(text, key=key)
    else:
        if image is None:
            raise CIError(f"blind watermark type {type} needs a watermark image", token="image")
        mark = _to_pil(image)
        # CI's blind-watermark page: the watermark image's width and height may not exceed 1/8 of
        # the picture's (issue 12: cinb used to reduce any mark to its grid and embed it).
        if mark.width * 8 > pil.width or mark.height * 8 > pil.height:
            raise CIError(f"the watermark image is {mark.width}x{mark.height}; CI allows at most 1/8 of the "
                          f"picture's sides ({pil.width // 8}x{pil.height // 8})", token="image")
        bits = payload.image_bits(mark)
        coded = bits ^ payload.whitening(_image_key(key, type), bits.size)
    if isinstance(src, np.ndarray) and src.dtype == np.uint8 and (src.ndim == 2 or src.shape[-1] in (3, 4)):
        pixels, mode = src, pil.mode  # already decoded: skip a copy through PIL
    else:
        pixels, mode = _pixels(pil)
    # Image payloads have no error-correcting code: they get twice the visibility budget (still
    # capped by the level's PSNR floor); text marks meet the SSIMULACRA2 goals of issue 15.
    out = embed_coded(pixels, coded, key=_image_key(key, type), level=level, budget=1.0 if type == 3 else IMAGE_BUDGET)
    result = Image.fromarray(out, mode)
    if pil.info.get("icc_profile"):
        result.info["icc_profile"] = pil.info["icc_profile"]
    return result


@dataclass
class Extraction:
    """What ``extract`` found.

    Attributes
    ----------
    status : int
        CI's ``WatermarkStatus``: 0-100; above 75 the mark is present, 60-75 suspected.
    text : str or None
        Type 3: the recovered text ("" when none was found).
    image : PIL.Image.Image or None
        Types 1 and 2: the recovered watermark (black on white).
    sync : float
        Pilot correlation z-score (how clearly the tile was found).
    details : dict
        cinb's diagnostics: ``"orientation"`` (what was done to the marked image: ``"none"``,
        ``"flip horizontal"``, ``"rotate 90"`` clockwise, ...) and ``"layout"`` (``"relative"``, ``"enlarged"``
        for the layout of screens, or ``"fixed-128"`` for a mark made before issue 15) when a mark was found.
    """

    type: int
    status: int
    text: str | None = None
    image: Image.Image | None = None
    sync: float = 0.0
    details: dict = field(default_factory=dict)

    @property
    def present(self) -> bool:
        return self.status > 75

    def as_ci(self) -> dict:
        """CI's result fields: ``{"WatermarkStatus": n}`` plus ``"Text"`` for type 3."""
        out: dict = {"WatermarkStatus": self.status}
        if self.type == 3:
            out["Text"] = self.text or ""
        return out


def _sync_status(z: float) -> int:
    """Status from the sync strength alone (no decodable payload): below 60 unless very strong."""
    return int(np.clip(round(60 * (z - 3.0) / (SUSPECT_Z - 3.0)), 0, 59)) if z < SUSPECT_Z else \
        int(np.clip(round(60 + (z - SUSPECT_Z)), 60, 75))


def _present_status(score: float) -> int:
    return int(np.clip(round(76 + score), 76, 100))


def extract(src: Any, *, type: int = 3, image: Any = None, original: Any = None,
            key: str = DEFAULT_KEY) -> Extraction:
    """Look for a blind watermark (CI ``watermark/4``) without the original (types 2 and 3).

    Parameters
    ----------
    src : path, bytes, PIL.Image.Image or ndarray
        The image to check; it may have been recompressed, resized, cropped or slightly rotated.
    type : {1, 2, 3}
        The type it was marked with.
    image : optional
        Type 2: the watermark image that was embedded (the status measures the match with it).
    original : optional
        Type 1: the unmarked original (semi-blind extraction, the most robust).
    key : str
        The key used to embed.

    Returns
    -------
    Extraction
        ``.status`` (CI's WatermarkStatus), ``.text`` (type 3) or ``.image`` (types 1/2);
        ``.as_ci()`` gives CI's result fields.

    Examples
    --------
    >>> from cinb.blind.api import extract
    >>> from PIL import Image
    >>> extract(Image.new("RGB", (256, 256), "grey")).status < 60
    True
    """
    if type not in TYPES:
        raise CIError(f"blind watermark type must be 1, 2 or 3, got {type!r}", token=str(type))
    pil = _to_pil(src)
    if min(pil.size) < 32:
        raise CIError(f"image {pil.size[0]}x{pil.size[1]} is too small to hold a blind watermark")
    pixels, _ = _pixels(pil)
    if type == 3:
        n = payload.n_text_coded()
        best: Reading | None = None
        decoded: dict[int, str | None] = {}

        def text_of(r: Reading) -> str | None:
            # Plain Viterbi; near the decoding limit the list decoder, only where the pilots show a
            # mark, so an unmarked image never gets the extra CRC tries. Each geometry once.
            # The pilot-fitted filter's soft bits first, then the plain chip sum's (``SoftBits.plain``).
            if id(r) not in decoded:
                text = None
                if r.z >= SYNC_Z - 1:
                    for soft in (r.soft, getattr(r.soft, "plain", None)):
                        if soft is None:
                            continue
                        text, _ = payload.decode_text(soft, key=key)
                        if text is None and r.z >= LIST_Z:
                            text, _ = payload.decode_text(soft, key=key, list_size=payload.LIST_SIZE)
                        if text is not None:
                            break
                decoded[id(r)] = text
            return decoded[id(r)]

        layouts = _layouts(pixels)
        screen = (False, True) in layouts
        for legacy, enlarged in layouts:
            # The keyed CRC decides between geometries; the search stops at the first that decodes.
            reading = read_coded(pixels, n, key=key, legacy=legacy, enlarged=enlarged, screen=screen,
                                 accept=lambda r: text_of(r) is not None)
            for r in reading.all()[:3]:
                text = text_of(r)
                if text is not None:
                    return Extraction(3, _present_status(r.z - SYNC_Z), text=text, sync=r.z,
                                      details=_details(r, legacy))
            if best is None or reading.z > best.z:
                best = reading
        assert best is not None  # _layouts gives at least one layout
        return Extraction(3, min(_sync_status(best.z), 75), text="", sync=best.z)

    ikey = _image_key(key, type)
    n = payload.IMAGE_GRID ** 2
    found: Reading | None = None
    legacy = False
    layouts = _layouts(pixels)
    for lay, enlarged in layouts:
        r = read_coded(pixels, n, key=ikey, legacy=lay, enlarged=enlarged, screen=(False, True) in layouts)
        if found is None or r.z > found.z:
            found, legacy = r, lay
        if found.z >= SYNC_Z + 2.5:
            break
    assert found is not None  # _layouts gives at least one layout
    reading = found
    if type == 1:
        if original is None:
            raise CIError("blind watermark type 1 extraction needs the original image", token="image")
        semi = _read_with_original(pixels, _to_pil(original), n, ikey)
        if semi is not None and semi.z > reading.z:
            reading = semi
    white = payload.whitening(ikey, n)
    bits = payload.smooth_image_bits(reading.soft, white)
    size = (64, 64)
    details: dict = _details(reading, legacy)
    if type == 2:
        if image is None:
            raise CIError("blind watermark type 2 extraction needs the watermark image", token="image")
        wm = _to_pil(image)
        size = wm.size
        expected = payload.image_bits(wm) ^ white
        # Normalised correlation of soft bits with the expected ones: ~N(0, 1) without a mark.
        signs = 1.0 - 2.0 * expected
        corr_z = float(np.dot(reading.soft, signs) / (np.linalg.norm(reading.soft) + 1e-12))
        details["match_z"] = corr_z
        details["bit_agreement"] = float(np.mean(bits == payload.image_bits(wm)))
        # z ~ N(0,1) unmarked; 8 sigma is beyond chance for any practical number of checks.
        if corr_z >= 8:
            status = _present_status(corr_z - 8)
        else:
            status = int(np.clip(round(60 * corr_z / 8), 0, 59))
    else:
        # Type 1 has no payload check: only the pilot statistic, so it must clear a higher bar.
        bar = SYNC_Z + 2.5
        status = _present_status(reading.z - bar) if reading.z >= bar else min(_sync_status(reading.z), 75)
    return Extraction(type, status, image=payload.bits_image(bits, size), sync=reading.z, details=details)


def _layouts(pixels: np.ndarray) -> list[tuple[bool, bool]]:
    """Layouts to search, as ``(legacy, enlarged)`` flags: the relative layout and the enlarged layout of
    screens when the picture may be one (:func:`cinb.blind.screen.screen_odds`; first when it likely is;
    the relative layout's search then also tries the enlarged one at the untouched geometry), then (for
    images larger than the canonical frame, where the two differ) the fixed 128 px tile of marks made
    before issue 15."""
    h, w = pixels.shape[:2]
    odds = screen_odds(pixels)
    out = [(False, False)]
    if odds:  # the enlarged layout: first when the picture likely is a screen
        out.insert(0 if odds == 2 else 1, (False, True))
    if frame_scale(h, w) > 1.0:
        out.append((True, False))
    return out


def _details(reading: Reading, legacy: bool) -> dict:
    """cinb's diagnostics of a reading: which orientation and layout the mark was found in."""
    layout = "fixed-128" if legacy else "enlarged" if reading.enlarged else "relative"
    return {"orientation": ORIENTATIONS[reading.orientation], "layout": layout}


def _read_with_original(pixels: np.ndarray, original: Image.Image, n: int, key: str) -> Reading | None:
    """Semi-blind reading: subtract the original (resized to the marked image) and decode the
    difference, which holds the mark without the photo's own texture."""
    orig, _ = _pixels(original)
    h, w = pixels.shape[:2]
    oh, ow = orig.shape[:2]
    if (oh, ow) != (h, w):
        orig = cv2.resize(orig, (w, h), interpolation=cv2.INTER_AREA)
    yo = luma(orig)
    diff = luma(pixels) - yo
    diff -= float(diff.mean())
    # The mark was shaped by the JND map of the original: weight the difference by it (matched filter).
    s_orig = frame_scale(oh, ow)
    r = diff * jnd_mask(yo, s_orig * w / ow)
    s_work = frame_scale(h, w)
    layout = Layout(key, n)
    folded = fold(to_frame(r, s_work), np.eye(2) * TILE * s_orig * (w / ow) / s_work, filtered=True)
    soft, z, shift, o = read_tile(folded, layout)
    return Reading(soft, z, None, shift, o)
