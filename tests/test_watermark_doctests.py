"""Every docstring example in the watermark modules and the WatermarkTuner runs and gives what it says."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["cinb.watermark", "cinb.watermark.fonts", "cinb.watermark.source", "cinb.watermark.layout",
           "cinb.watermark.text", "cinb.watermark.stages", "cinb.widgets.watermark"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    if name.startswith("cinb.widgets"):
        pytest.importorskip("ipywidgets")
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0 and result.attempted > 0
