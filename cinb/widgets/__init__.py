"""ipywidgets explorers. Imported lazily so ``import cinb`` never needs ipywidgets.

- ``RuleExplorer``: type or tweak a rule, see the result live (cinb.widgets.rules)
- ``WatermarkTuner``: visible-watermark controls, live preview, CI rule; blind attack check (cinb.widgets.watermark)
- ``CompressionTuner``: format/quality, synced zoomed crops, live bytes and metrics, RD curve, CI rule
  (cinb.widgets.compression)
"""

from __future__ import annotations

import importlib

_WIDGETS = {
    "RuleExplorer": "cinb.widgets.rules",
    "WatermarkTuner": "cinb.widgets.watermark",
    "CompressionTuner": "cinb.widgets.compression",
}


def __getattr__(name: str):
    if name in _WIDGETS:
        return getattr(importlib.import_module(_WIDGETS[name]), name)
    raise AttributeError(f"module 'cinb.widgets' has no attribute {name!r}")


def __dir__():
    return sorted(_WIDGETS)
