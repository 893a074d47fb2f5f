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
import types
from typing import TYPE_CHECKING

from .errors import CIError

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
    from .collection import analyze, apply, scan
    from .engine import process
    from .info import exif, image_ave, image_info
    from .pic_operations import pic_operations
    from .result import Result
    from .rules import Rule, parse_rule
    from .styles import Styles


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is not None:
        value = getattr(importlib.import_module(module), name)
        globals()[name] = value  # later lookups skip this function
        return value
    if not name.startswith("_"):  # a subpackage or module: cinb.watermark, cinb.compression, ...
        try:
            return importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{name}":
                raise
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


class _Package(types.ModuleType):
    """``cinb.pic_operations`` is a function and a submodule. Importing the submodule sets the
    package attribute to the module; keep the function there instead, as the eager
    ``from .pic_operations import pic_operations`` at the top of this file used to."""

    def __setattr__(self, name: str, value) -> None:
        if name in _LAZY and isinstance(value, types.ModuleType) and value.__name__ == f"{__name__}.{name}":
            value = getattr(value, name)
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


if "pandas" in sys.modules:  # pandas came first (a notebook): df.ci at once, as users expect
    importlib.import_module("cinb.collection")

__all__ = ["CIError", "Result", "Rule", "Styles", "analyze", "apply", "ci_process", "clear_caches", "exif",
           "image_ave", "image_info", "parse_rule", "pic_operations", "process", "scan", "__version__"]
