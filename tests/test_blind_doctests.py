"""Every docstring example in the blind-watermark modules runs and gives what it says."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["cinb.blind", "cinb.blind.api", "cinb.blind.ecc", "cinb.blind.pattern", "cinb.blind.embed",
           "cinb.blind.payload", "cinb.blind.stages", "cinb.blind.collection"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0 and result.attempted > 0
