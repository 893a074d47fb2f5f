"""cinb: Tencent Cloud Infinite (CI) image processing on a laptop, for image collections.

Examples
--------
>>> import cinb
>>> from PIL import Image
>>> cinb.process(Image.new("RGB", (640, 480)), "imageMogr2/thumbnail/320x").width
320
"""

from .ai import ci_process
from .caches import clear_caches
from .engine import Result, process
from .errors import CIError
from .info import exif, image_ave, image_info
from .pic_operations import pic_operations
from .rules import Rule, parse_rule
from .styles import Styles
from . import watermark  # noqa: E402,F401  (registers watermark/1 and watermark/2)
from . import blind  # noqa: E402,F401  (registers watermark/3 and watermark/4)
from . import compression  # noqa: E402,F401  (registers imageSlim)
from .collection import analyze, apply, scan  # noqa: E402  (also registers df.ci and the CLI)

__version__ = "0.1.0"

__all__ = ["CIError", "Result", "Rule", "Styles", "analyze", "apply", "ci_process", "clear_caches", "exif", "image_ave", "image_info", "parse_rule", "pic_operations", "process",
           "scan", "__version__"]
