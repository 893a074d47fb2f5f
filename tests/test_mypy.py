"""mypy passes on the core modules (the grammar, decode, engine and what they stand on) and the ops, codecs,
compression, watermark and collection packages, with the configuration in pyproject.toml ([tool.mypy]).

The rest of the package is not held to it yet: the list grows as modules are made to pass. Imported
modules are followed silently (their own errors are theirs). Skipped where mypy is not installed; the
``test`` extra installs it (``scripts/setup.sh`` installs ``.[all]``).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: Files and packages mypy must pass on.
CHECKED = ("cinb/errors.py", "cinb/limits.py", "cinb/tokens.py", "cinb/caches.py", "cinb/fileio.py",
           "cinb/formats.py", "cinb/canvas.py", "cinb/result.py", "cinb/rules", "cinb/decode.py",
           "cinb/imageinput.py", "cinb/engine.py", "cinb/info.py", "cinb/styles.py",
           "cinb/pic_operations.py", "cinb/parallel.py", "cinb/settings.py", "cinb/header.py", "cinb/ops",
           "cinb/codecs", "cinb/__init__.py", "cinb/collection", "cinb/watermark", "cinb/compression",
           "cinb/__main__.py", "cinb/cli.py", "cinb/data.py", "cinb/display.py", "cinb/lab.py",
           "cinb/lazy.py", "cinb/widgets", "cinb/ai")


def test_mypy_passes_on_the_core_modules():
    pytest.importorskip("mypy")
    command = [sys.executable, "-m", "mypy", "--no-incremental", "--cache-dir", os.devnull, "--follow-imports=silent"]
    res = subprocess.run([*command, *CHECKED], cwd=ROOT, capture_output=True, text=True, check=False)
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]
