"""The resume journal of ``apply``: one JSON line per output written, in the output folder.

A line is appended *after* its output file is in place (the output is renamed into place first), so
the journal never lists a file that does not exist. Lines are short single ``write`` calls on an
``O_APPEND`` descriptor: concurrent workers (pool or Dask on a shared folder) never interleave them,
and a torn last line (a killed process) is skipped on reading.
"""

from __future__ import annotations

import json
import os
from typing import Any

from cinb.caches import register_cache

#: File name of the journal inside an output folder (hidden, so a scan of that folder skips it).
JOURNAL_NAME = ".cinb-apply.jsonl"

# Per-process snapshots: {(journal path, run token): (entries by key, set of outputs)}.
_SNAPSHOTS: dict[tuple[str, str], tuple[dict, set]] = {}
register_cache(_SNAPSHOTS.clear, name="cinb.collection.journal._SNAPSHOTS")


def journal_path(out_dir: str) -> str:
    """Where the journal of ``out_dir`` lives.

    Examples
    --------
    >>> from cinb.collection.journal import journal_path
    >>> journal_path("/tmp/out")
    '/tmp/out/.cinb-apply.jsonl'
    """
    return os.path.join(out_dir, JOURNAL_NAME)


def entry_key(src: str, rule: str, name: str) -> str:
    """What makes two runs "the same": source path, canonical rule text, name template."""
    return "\x1f".join((src, rule, name))


def read_journal(out_dir: str) -> tuple[dict[str, dict], set[str]]:
    """Entries by :func:`entry_key` (the latest wins) and the set of every output path written.

    Examples
    --------
    >>> from cinb.collection.journal import read_journal
    >>> read_journal("/nonexistent")
    ({}, set())
    """
    entries: dict[str, dict] = {}
    outputs: set[str] = set()
    try:
        with open(journal_path(out_dir), "rb") as fh:
            for line in fh:
                try:
                    e = json.loads(line)
                    entries[entry_key(e["src"], e["rule"], e["name"])] = e
                    outputs.add(e["out"])
                except (ValueError, KeyError, TypeError):
                    continue  # a torn line from a killed process
    except FileNotFoundError:
        pass
    return entries, outputs


def snapshot(out_dir: str, token: str) -> tuple[dict[str, dict], set[str]]:
    """The journal as it was when this run (``token``) first looked, read once per process.

    Lines this run appends are not re-read: they cannot make one of its own rows skippable, and
    re-reading a growing file per row would cost O(n^2).
    """
    key = (journal_path(out_dir), token)
    if key not in _SNAPSHOTS:
        if len(_SNAPSHOTS) > 16:
            _SNAPSHOTS.clear()
        _SNAPSHOTS[key] = read_journal(out_dir)
    return _SNAPSHOTS[key]


def append(out_dir: str, entry: dict[str, Any]) -> None:
    """Append one entry as a single atomic write."""
    line = (json.dumps(entry, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")
    fd = os.open(journal_path(out_dir), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)
