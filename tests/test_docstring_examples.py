"""Docstring examples: pytest collects and runs every one under cinb/ (``--doctest-modules`` in
pyproject.toml, a fresh namespace per example in conftest.py). These tests keep that true."""

from __future__ import annotations

import doctest
import importlib
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: Feature modules documented by example: each keeps at least one (the earlier per-package runners
#: asserted it, so an example deleted by mistake fails here rather than silently testing nothing).
DOCUMENTED = [
    "cinb.blind", "cinb.blind.api", "cinb.blind.ecc", "cinb.blind.pattern", "cinb.blind.embed",
    "cinb.blind.payload", "cinb.blind.stages", "cinb.blind.collection",
    "cinb.watermark", "cinb.watermark.fonts", "cinb.watermark.source", "cinb.watermark.layout",
    "cinb.watermark.text", "cinb.watermark.stages", "cinb.widgets.watermark",
    "cinb.collection", "cinb.parallel", "cinb.header", "cinb.collection.sources",
    "cinb.collection.scan", "cinb.collection.journal", "cinb.collection.apply", "cinb.collection.analyze",
    "cinb.collection.gallery", "cinb.collection.accessor", "cinb.collection.cli", "cinb.collection.cluster",
    "cinb.collection.analyses", "cinb.collection.analyses.registry", "cinb.collection.analyses.context",
    "cinb.collection.analyses.engine_info", "cinb.collection.analyses.hashes",
    "cinb.collection.analyses.quality", "cinb.collection.analyses.geometry",
    "cinb.collection.analyses.duplicates",
]


@pytest.mark.parametrize("name", DOCUMENTED)
def test_documented_module_keeps_its_examples(name):
    if name.startswith("cinb.widgets"):
        pytest.importorskip("ipywidgets")
    module = importlib.import_module(name)
    examples = sum(len(t.examples) for t in doctest.DocTestFinder().find(module, name))
    assert examples > 0, f"{name} lost its docstring examples"


def test_pytest_collects_the_package_examples():
    options = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["pytest"]["ini_options"]
    assert "cinb" in options["testpaths"]
    assert "--doctest-modules" in options["addopts"].split()
    assert {"ELLIPSIS", "NORMALIZE_WHITESPACE"} <= set(options["doctest_optionflags"])

