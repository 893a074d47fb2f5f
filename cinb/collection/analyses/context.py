"""``ImageContext``: the image every per-image analysis receives (:class:`cinb.imageinput.ImageInput`).

Kept under this name for the analyses written against it; new code imports ``ImageInput``.

Examples
--------
>>> from cinb.collection.analyses.context import ImageContext
>>> from cinb.imageinput import ImageInput
>>> ImageContext is ImageInput
True
"""

from __future__ import annotations

from cinb.imageinput import WORK_SIZE, ImageInput

ImageContext = ImageInput

__all__ = ["WORK_SIZE", "ImageContext"]
