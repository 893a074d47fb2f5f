"""cinb: Tencent Cloud Infinite (CI) image processing on a laptop, for image collections.

``import cinb`` is light: the public names load their modules on first use (PEP 562), so neither
pandas nor any model library is imported until a function that needs it is called. Rule families
of every feature package are known to ``parse_rule`` all the same: the family registry imports its
plugin modules on first use (:mod:`cinb.rules.registry`).

The ``df.ci`` accessor exists once :mod:`cinb.collection` is imported: ``cinb.scan``, ``cinb.apply``
and ``cinb.analyze`` import it, and so does ``import cinb`` when pandas is already imported (the
usual notebook order). For a DataFrame made elsewhere, before pandas was imported, run
``import cinb.collection``.

Examples
--------
>>> import cinb
>>> from PIL import Image
>>> cinb.process(Image.new("RGB", (640, 480)), "imageMogr2/thumbnail/320x").width
320
"""

from __future__ import annotations

import importlib
import sys
from typing import TYPE_CHECKING

from .errors import CIError
from .lazy import lazy_names as _lazy_names

__version__ = "0.1.0"

#: Public name -> the module that defines it, imported on first access.
_LAZY = {
    # one image, one rule
    "process": "cinb.engine",
    "Result": "cinb.result",
    "parse_rule": "cinb.rules",
    "Rule": "cinb.rules",
    "Styles": "cinb.styles",
    "image_info": "cinb.info",
    "exif": "cinb.info",
    "image_ave": "cinb.info",
    "pic_operations": "cinb.pic_operations",
    "clear_caches": "cinb.caches",
    # ci-process endpoints
    "ci_process": "cinb.ai",
    "Library": "cinb.ai.search",
    # collections (pandas); importing cinb.collection also registers df.ci
    "scan": "cinb.collection",
    "apply": "cinb.collection",
    "analyze": "cinb.collection",
}

if TYPE_CHECKING:  # what the lazy table resolves to, for type checkers and IDEs
    from .ai import ci_process
    from .caches import clear_caches
    from .collection.analyze import analyze  # the defining modules: mypy takes ".collection import analyze"
    from .collection.apply import apply  # for the submodule of the same name (no-redef)
    from .collection.scan import scan
    from .engine import process
    from .info import exif, image_ave, image_info
    from .pic_operations import pic_operations
    from .result import Result
    from .rules import Rule, parse_rule
    from .styles import Styles


_lazy_names(__name__, _LAZY, submodules=True)


if "pandas" in sys.modules:  # pandas came first (a notebook): df.ci at once, as users expect
    importlib.import_module("cinb.collection")

__all__ = ["CIError", "Result", "Rule", "Styles", "analyze", "apply", "ci_process", "clear_caches", "exif",
           "image_ave", "image_info", "parse_rule", "pic_operations", "process", "scan", "__version__"]
