"""ruff passes on the package, the tests and the benchmarks (rules in pyproject.toml, [tool.ruff]).

Skipped where ruff is not installed; the ``test`` extra installs it, so CI enforces it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: Benchmarks still being edited by others when benchmarks/ joined the check (2026-12-02); the lead removes
#: each once it passes.
NOT_YET: tuple[str, ...] = ()


def test_ruff_finds_nothing():
    pytest.importorskip("ruff")
    excluded = [arg for path in NOT_YET for arg in ("--extend-exclude", path)]
    res = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", *excluded,
                          "cinb", "tests", "conftest.py", "benchmarks"],
                         cwd=ROOT, capture_output=True, text=True, check=False)
    assert res.returncode == 0, res.stdout + res.stderr
