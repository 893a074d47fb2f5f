"""cinb.fileio: every file cinb writes appears whole or not at all."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

import cinb
from cinb.fileio import atomic_path, write_atomic


def _leftovers(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".part"))


def test_write_atomic_creates_folders_and_replaces(tmp_path):
    target = tmp_path / "a" / "b" / "out.bin"
    assert write_atomic(target, b"one") == target
    write_atomic(str(target), b"two")
    assert target.read_bytes() == b"two"
    assert _leftovers(target.parent) == []


def test_a_failing_writer_leaves_the_old_file_and_no_temp(tmp_path):
    target = tmp_path / "table.csv"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("disk full")
    assert target.read_text() == "old"
    assert _leftovers(tmp_path) == []


def test_durable_writes_sync_the_file_before_renaming(tmp_path, monkeypatch):
    synced = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: synced.append(os.fstat(fd).st_size) or real_fsync(fd))
    target = tmp_path / "index.bin"
    with atomic_path(target, durable=True) as tmp:
        tmp.write_bytes(b"12345")
        assert synced == []
    assert synced == [5] and target.read_bytes() == b"12345"


def test_no_replace_refuses_an_existing_target(tmp_path):
    target = tmp_path / "photo.jpg"
    write_atomic(target, b"first", replace=False)
    with pytest.raises(FileExistsError):
        write_atomic(target, b"second", replace=False)
    assert target.read_bytes() == b"first"
    assert _leftovers(tmp_path) == []


def test_tagged_temp_names_are_findable_and_exclusive(tmp_path):
    target = tmp_path / "x.png"
    with atomic_path(target, tag="run1") as tmp:
        assert tmp.name == ".x.png.run1.part"
        with pytest.raises(FileExistsError), atomic_path(target, tag="run1"):
            pass
        assert tmp.exists()  # the second writer did not remove the first one's file
        tmp.write_bytes(b"ok")
    assert target.read_bytes() == b"ok"


def test_written_files_get_the_usual_permissions(tmp_path):
    old = os.umask(0o022)
    try:
        path = write_atomic(tmp_path / "out.jpg", b"data")
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644  # not mkstemp's 0o600


def test_engine_keeps_its_name_for_the_helper():
    import cinb.engine

    assert cinb.engine.write_atomic is write_atomic


def test_cinb_renames_files_into_place_only_in_fileio():
    package = Path(cinb.__file__).resolve().parent
    offenders = [str(p.relative_to(package)) for p in sorted(package.rglob("*.py"))
                 if p.name != "fileio.py" and any(s in p.read_text(encoding="utf-8")
                                                  for s in ("os.replace(", "os.rename(", "mkstemp("))]
    assert offenders == [], "write files through cinb.fileio.write_atomic / atomic_path"
