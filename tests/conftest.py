"""Fixtures shared by the test modules (sample images come from :mod:`cinb.data`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from collection_data import make_mixed_folder


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The mixed good/odd/broken folder of ``collection_data``, built once per test module (modules
    that write beside it never see each other's files)."""
    return make_mixed_folder(tmp_path_factory.mktemp("mixed"))
