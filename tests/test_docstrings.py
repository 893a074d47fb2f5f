"""Every docstring example in the engine modules runs and gives what it says."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "cinb", "cinb.errors", "cinb.limits", "cinb.canvas", "cinb.decode", "cinb.engine", "cinb.info",
    "cinb.styles", "cinb.pic_operations", "cinb.display",
    "cinb.rules.grammar", "cinb.rules.model", "cinb.rules.registry", "cinb.rules.mogr2",
    "cinb.ops.frames", "cinb.ops.scaling", "cinb.ops.cropping", "cinb.ops.rotation", "cinb.ops.filters",
    "cinb.ops.animation", "cinb.codecs.registry", "cinb.codecs.jpeg_quality",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
