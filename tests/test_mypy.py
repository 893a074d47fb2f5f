"""mypy passes on the whole package, with the configuration in pyproject.toml ([tool.mypy]).

Imported third-party modules are followed silently (their own errors are theirs). Skipped where mypy
is not installed; the ``test`` extra installs it (``scripts/setup.sh`` installs ``.[all]``).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: Files and packages mypy must pass on.
CHECKED = ("cinb",)


def test_mypy_passes_on_the_package():
    pytest.importorskip("mypy")
    command = [sys.executable, "-m", "mypy", "--no-incremental", "--cache-dir", os.devnull, "--follow-imports=silent"]
    res = subprocess.run([*command, *CHECKED], cwd=ROOT, capture_output=True, text=True, check=False)
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]
