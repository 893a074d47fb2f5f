"""Every docstring example in cinb.collection runs and gives what it says."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "cinb.collection", "cinb.parallel", "cinb.collection.headers", "cinb.collection.sources",
    "cinb.collection.scan", "cinb.collection.journal", "cinb.collection.apply", "cinb.collection.analyze",
    "cinb.collection.gallery", "cinb.collection.accessor", "cinb.collection.cli", "cinb.collection.cluster",
    "cinb.collection.analyses", "cinb.collection.analyses.registry", "cinb.collection.analyses.context",
    "cinb.collection.analyses.engine_info", "cinb.collection.analyses.hashes",
    "cinb.collection.analyses.quality", "cinb.collection.analyses.geometry",
    "cinb.collection.analyses.duplicates",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0 and result.attempted > 0
