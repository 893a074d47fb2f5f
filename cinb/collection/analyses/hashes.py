"""Image hashes: perceptual (phash, dhash) for near-duplicates, pixel hash for exact duplicates."""

from __future__ import annotations

import hashlib

import numpy as np
from PIL import Image

from cinb.collection.analyses.context import ImageContext
from cinb.collection.analyses.registry import register_analysis


def bits_to_hex(bits: np.ndarray) -> str:
    """64 booleans -> 16 hex digits (first bit = most significant).

    Examples
    --------
    >>> import numpy as np
    >>> from cinb.collection.analyses.hashes import bits_to_hex
    >>> bits_to_hex(np.array([1] + [0] * 63, dtype=bool))
    '8000000000000000'
    """
    return np.packbits(np.asarray(bits, dtype=bool).ravel()).tobytes().hex()


def hamming(a: str, b: str) -> int:
    """Number of differing bits between two hex hashes.

    Examples
    --------
    >>> from cinb.collection.analyses.hashes import hamming
    >>> hamming("ff00", "0f00")
    4
    """
    return (int(a, 16) ^ int(b, 16)).bit_count()


def phash_of(img: Image.Image) -> str:
    """DCT perceptual hash (64 bits): 32x32 luma, 8x8 lowest frequencies above their median.

    Examples
    --------
    >>> import numpy as np
    >>> from PIL import Image
    >>> from cinb.collection.analyses.hashes import hamming, phash_of
    >>> from PIL import ImageFilter
    >>> noise = np.random.default_rng(0).integers(0, 256, (256, 256), dtype=np.uint8)
    >>> img = Image.fromarray(noise).filter(ImageFilter.GaussianBlur(8))
    >>> hamming(phash_of(img), phash_of(img.resize((100, 100)))) <= 2
    True
    >>> hamming(phash_of(img), phash_of(img.rotate(90))) > 16
    True
    """
    # OpenCV loads on the first hash, not with the registry: a process that forks a pool for apply or
    # scan would hand its 17 MB to every worker.
    import cv2

    small = np.asarray(img.convert("L").resize((32, 32), Image.Resampling.LANCZOS), dtype=np.float32)
    low = cv2.dct(small)[:8, :8]
    return bits_to_hex(low > np.median(low))


def dhash_of(img: Image.Image) -> str:
    """Difference hash (64 bits): is each pixel of a 9x8 luma thumbnail darker than its right neighbour.

    Examples
    --------
    >>> from PIL import Image
    >>> from cinb.collection.analyses.hashes import dhash_of
    >>> dhash_of(Image.linear_gradient("L").rotate(90))
    'ffffffffffffffff'
    """
    small = np.asarray(img.convert("L").resize((9, 8), Image.Resampling.LANCZOS), dtype=np.int16)
    return bits_to_hex(small[:, 1:] > small[:, :-1])


def phash(ctx: ImageContext) -> dict:
    """``phash``: 16-hex-digit DCT hash of the displayed image (robust to resizing and re-encoding)."""
    return {"phash": phash_of(ctx.image())}


def dhash(ctx: ImageContext) -> dict:
    """``dhash``: 16-hex-digit gradient hash of the displayed image."""
    return {"dhash": dhash_of(ctx.image())}


def pixel_hash(ctx: ImageContext) -> dict:
    """``pixel_hash``: digest of the fully decoded pixels of every frame (plus EXIF orientation).

    Two files with the same pixels get the same hash whatever their container, metadata or
    compression settings (e.g. a PNG and its re-saved copy, a JPEG and its EXIF-stripped copy).

    Examples
    --------
    >>> from PIL import Image
    >>> from cinb.collection.analyses.context import ImageContext
    >>> from cinb.collection.analyses.hashes import pixel_hash
    >>> import tempfile
    >>> a, b = tempfile.mktemp(suffix=".png"), tempfile.mktemp(suffix=".bmp")
    >>> Image.linear_gradient("L").save(a); Image.linear_gradient("L").save(b)
    >>> pixel_hash(ImageContext(a)) == pixel_hash(ImageContext(b))
    True
    """
    canvas = ctx.canvas(None)
    digest = hashlib.blake2b(digest_size=16)
    digest.update(f"{canvas.orientation}|{len(canvas.frames)}".encode())
    for frame in canvas.frames:
        digest.update(f"|{frame.mode}|{frame.width}x{frame.height}|".encode())
        # Strips of rows hash the same bytes as frame.tobytes() without a second full-size copy.
        rows = max(1, (1 << 22) // max(1, frame.width))
        for top in range(0, frame.height, rows):
            digest.update(frame.crop((0, top, frame.width, min(frame.height, top + rows))).tobytes())
    return {"pixel_hash": digest.hexdigest()}


register_analysis("phash", phash, columns={"phash": object}, description="perceptual DCT hash (64-bit hex)")
register_analysis("dhash", dhash, columns={"dhash": object}, description="difference hash (64-bit hex)")
register_analysis("pixel_hash", pixel_hash, columns={"pixel_hash": object},
                  description="hash of the decoded pixels (full decode), for exact duplicates")
