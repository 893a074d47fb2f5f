"""ruff passes on the package and the tests (rules in pyproject.toml, [tool.ruff]).

Skipped where ruff is not installed; the ``test`` extra installs it, so CI enforces it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_ruff_finds_nothing():
    pytest.importorskip("ruff")
    res = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "cinb", "tests", "conftest.py"],
                         cwd=ROOT, capture_output=True, text=True, check=False)
    assert res.returncode == 0, res.stdout + res.stderr
