"""``AIEnhanceImage``: remove noise, then sharpen (spec §19.13).

CI (``ci-process=AIEnhanceImage``): ``denoise`` and ``sharpen``, integers 0-5, default 3 each, 0 =
that step is skipped; ``ignore-error=1`` returns the original image when processing fails (CI's
example: a file too large). CI answers with the enhanced image.

Locally (``docs/ci-compatibility.md``) both steps are classical filters, not a neural network: no
photo denoiser ships in a package cinb can install offline (SCUNet's plugin on PyPI expects the user's
own model file; waifu2x's photo denoisers are trained on JPEG artefacts at 2x and cost as much as
:mod:`cinb.ai.superres`).

- **denoise**: OpenCV's non-local means (Buades, Coll and Morel 2005; ``fastNlMeansDenoisingColored``,
  7 px patches, 21 px search window) with a strength set from the picture's own noise: the noise's
  standard deviation is measured (:func:`noise_sigma`, the median absolute response of Immerkær's
  noise mask, per channel) and the filter's ``h`` is :data:`DENOISE_FACTORS` [denoise] times it. On
  real photos with added Gaussian noise (sigma 5, 10, 20) PSNR peaks at ``h`` = 0.45-0.65 sigma,
  while SSIMULACRA2, which punishes lost texture, prefers less; level 3 uses 0.5 (within 0.05 dB of
  the best PSNR at sigma 5-10, SSIMULACRA2 8 points higher than at 0.65), lower levels leave more
  grain, higher ones smooth more. So a clean photo is left almost untouched at levels 1-3, where a
  fixed ``h`` (OpenCV's tutorial value, 10) blurs it: see ``benchmarks/RESULTS.md``.
- **sharpen**: an unsharp mask on luminance only (YCrCb's Y; colours do not fringe), radius sigma
  1 px, amount :data:`SHARPEN_AMOUNTS` [sharpen] (1.0 at level 3: on real photos blurred by a
  sigma 0.7-1.5 px Gaussian it raised PSNR at every blur; level 5 over-sharpens a sharp photo).
- ``denoise=0&sharpen=0`` returns the picture's pixels unchanged.
- The answer is upright (EXIF orientation applied), in the source's format and ICC profile; a grey
  picture stays grey; alpha is kept as it is; an animation gives its first frame. CI's general input
  limits apply (CI documents none of its own for this endpoint). ``ignore-error=1`` returns the
  decoded original when a step fails after decoding; a file over CI's limits, or one that does not
  decode, is still an error here (an endpoint answers with a decoded picture; cinb does not decode
  what CI refuses).
- Cost: non-local means takes about 1-2 CPU-seconds per megapixel here; the sharpening is negligible.
"""

from __future__ import annotations

import time

import cv2
import numpy as np
from PIL import Image

from ..errors import CIError
from ..imageinput import ImageInput
from .endpoints import Answer, Endpoint, bool_param, int_param, register_endpoint

#: Non-local means ``h`` as a multiple of the measured noise sigma, for denoise = 0..5.
DENOISE_FACTORS = (0.0, 0.3, 0.4, 0.5, 0.65, 0.85)
#: Unsharp-mask amount for sharpen = 0..5.
SHARPEN_AMOUNTS = (0.0, 0.3, 0.6, 1.0, 1.5, 2.0)
#: Gaussian sigma (px) of the unsharp mask.
SHARPEN_SIGMA = 1.0
#: Below this ``h`` non-local means changes nothing visible: the step is skipped.
MIN_H = 0.5
# Immerkær (1996): this 3x3 mask cancels any locally linear signal; on pure Gaussian noise of sigma s
# its response has standard deviation 6 s.
_NOISE_MASK = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], np.float32)


def noise_sigma(rgb: np.ndarray) -> float:
    """The standard deviation of the picture's pixel noise (8-bit units), measured per channel.

    The median of Immerkær's mask response, not its mean: edges and texture give large responses in
    few places, so the median follows the noise (on real photos with added Gaussian noise of sigma
    5, 10, 20 it measured 6.2, 10.8, 20.2; a clean photo measured about 2).

    Examples
    --------
    >>> import numpy as np
    >>> from cinb.ai.enhance import noise_sigma
    >>> rng = np.random.default_rng(0)
    >>> flat = np.full((200, 200, 3), 128.0)
    >>> round(noise_sigma(np.clip(flat + rng.normal(0, 10, flat.shape), 0, 255).astype(np.uint8)))
    10
    """
    a = rgb.astype(np.float32)
    if a.ndim == 2:
        a = a[..., None]
    if min(a.shape[:2]) < 3:
        return 0.0
    sigmas = []
    for c in range(a.shape[2]):
        r = cv2.filter2D(a[..., c], -1, _NOISE_MASK)[1:-1, 1:-1] / 6.0
        sigmas.append(float(np.median(np.abs(r))) / 0.6745)  # median |x| of a normal = 0.6745 sigma
    return float(np.median(sigmas))


def denoise_rgb(rgb: np.ndarray, level: int, *, sigma: float | None = None) -> tuple[np.ndarray, float]:
    """Non-local means at ``level`` (0-5) scaled to the measured noise; returns the picture and ``h``.

    Examples
    --------
    >>> import numpy as np
    >>> from cinb.ai.enhance import denoise_rgb
    >>> rng = np.random.default_rng(1)
    >>> clean = np.full((64, 64, 3), 100, np.uint8)
    >>> noisy = np.clip(clean + rng.normal(0, 12, clean.shape), 0, 255).astype(np.uint8)
    >>> out, h = denoise_rgb(noisy, 3)
    >>> float(np.abs(out.astype(int) - 100).mean()) < float(np.abs(noisy.astype(int) - 100).mean()) / 2
    True
    """
    if level == 0:
        return rgb, 0.0
    s = noise_sigma(rgb) if sigma is None else sigma
    h = DENOISE_FACTORS[level] * s
    if h < MIN_H:
        return rgb, 0.0
    out = cv2.fastNlMeansDenoisingColored(np.ascontiguousarray(rgb), None, h, h, 7, 21)
    return out, h


def sharpen_rgb(rgb: np.ndarray, level: int) -> np.ndarray:
    """Unsharp mask of luminance at ``level`` (0-5).

    Examples
    --------
    >>> import numpy as np
    >>> from cinb.ai.enhance import sharpen_rgb
    >>> edge = np.zeros((20, 20, 3), np.uint8); edge[:, 10:] = 200
    >>> out = sharpen_rgb(edge, 3)
    >>> int(out[5, 9, 0]) < 5, int(out[5, 10, 0]) > 200
    (True, True)
    """
    amount = SHARPEN_AMOUNTS[level]
    if amount == 0:
        return rgb
    a = rgb.astype(np.float32)
    y = a @ np.array([0.299, 0.587, 0.114], np.float32)
    # the same detail added to R, G and B changes luminance by it and leaves Cr and Cb alone, with no
    # colour-space round trip (which moved flat colours by a level: pure red came back 254)
    detail = amount * (y - cv2.GaussianBlur(y, (0, 0), SHARPEN_SIGMA))
    return np.clip(a + detail[..., None] + 0.5, 0, 255).astype(np.uint8)


def enhance_frame(frame: Image.Image, *, denoise_level: int = 3, sharpen_level: int = 3) -> tuple[Image.Image, dict]:
    """One upright frame (RGB, RGBA, L or LA) denoised and sharpened, in the same mode; and diagnostics."""
    if denoise_level == 0 and sharpen_level == 0:
        return frame, {"noise_sigma": None, "h": 0.0}
    bands = frame.getbands()
    rgb = np.asarray(frame.convert("RGB"))
    sigma = noise_sigma(rgb)
    out, h = denoise_rgb(rgb, denoise_level, sigma=sigma)
    out = sharpen_rgb(out, sharpen_level)
    if bands[0] == "L":
        image = Image.fromarray(np.round(out.astype(np.float32).mean(axis=2)).astype(np.uint8), "L")
    else:
        image = Image.fromarray(out, "RGB")
    if "A" in bands:
        image.putalpha(frame.getchannel("A"))
    return image, {"noise_sigma": round(sigma, 2), "h": round(h, 2)}


def enhance_image(inp: ImageInput, *, denoise: int = 3, sharpen: int = 3, ignore_error: bool = False) -> Answer:
    """CI's ``AIEnhanceImage``: the picture denoised (``denoise`` 0-5) then sharpened (``sharpen`` 0-5).

    Returns
    -------
    Answer
        ``response`` is empty (CI answers with the image); ``image`` the enhanced upright picture;
        ``info``: ``denoise``, ``sharpen``, ``noise_sigma`` (measured), ``h`` (the non-local means
        strength used; 0 when skipped), ``frames_dropped``, ``seconds``; ``ignored_error`` when
        ``ignore-error=1`` returned the original.

    Raises
    ------
    CIError
        CI's input limits (-167, -447) and the decode errors (-113, -443), unless ``ignore-error=1``.

    Examples
    --------
    >>> import numpy as np
    >>> from PIL import Image
    >>> from cinb.imageinput import ImageInput
    >>> from cinb.ai.enhance import enhance_image
    >>> img = Image.fromarray(np.full((40, 60, 3), 90, np.uint8))
    >>> a = enhance_image(ImageInput(img), denoise=0, sharpen=0)
    >>> a.image.size, a.info["h"], a.image.getpixel((5, 5))
    ((60, 40), 0.0, (90, 90, 90))
    """
    start = time.perf_counter()
    try:
        inp.header()  # CI's limits and an unreadable file fail here, before any pixel is decoded
        image, diag = enhance_frame(inp.frame(), denoise_level=denoise, sharpen_level=sharpen)
    except CIError as exc:
        if not ignore_error:
            raise
        return _original(inp, exc)
    info = {"denoise": denoise, "sharpen": sharpen, **diag, "frames_dropped": inp.frame_count() - 1,
            "seconds": round(time.perf_counter() - start, 3)}
    return Answer({}, image=image, info=info)


def _original(inp: ImageInput, exc: CIError) -> Answer:
    """``ignore-error=1``: the picture as it is (its canvas when it decodes), else the error stands."""
    try:
        canvas = inp.canvas()
    except CIError:
        raise exc from None
    return Answer({}, image=canvas, info={"ignored_error": str(exc)})


ENDPOINT = register_endpoint(Endpoint(
    "AIEnhanceImage", enhance_image, kind="image", rule="AIEnhanceImage",
    params=(int_param("denoise", 3, lo=0, hi=5, doc="0-5: noise removal strength (0: none)"),
            int_param("sharpen", 3, lo=0, hi=5, doc="0-5: sharpening strength (0: none)"),
            bool_param("ignore-error", doc="1: return the original image when processing fails")),
    description="denoise (non-local means scaled to the measured noise) then sharpen (unsharp mask)"))

__all__ = ["DENOISE_FACTORS", "ENDPOINT", "SHARPEN_AMOUNTS", "SHARPEN_SIGMA", "denoise_rgb", "enhance_frame",
           "enhance_image", "noise_sigma", "sharpen_rgb"]
