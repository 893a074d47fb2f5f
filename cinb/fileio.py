"""Atomic file writes: the one helper every cinb writer goes through (nothing partial is ever seen).

A file is written under a temporary name in its target folder, then renamed over the target
(``os.replace``) or, when nothing may be replaced, hard-linked to it (``os.link`` fails if the target
exists, so two writers cannot both win). A reader sees the old file or the new one, never a partial
one; on any error the temporary file is removed and the target is untouched.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

__all__ = ["atomic_path", "write_atomic"]


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, *, replace: bool = True, tag: str | None = None,
                durable: bool = False) -> Iterator[Path]:
    """A temporary path to write ``path`` through: committed when the block ends without an error.

    For writers that take a file name (``DataFrame.to_parquet``, ``PIL.Image.save``). The temporary
    file exists (empty, created exclusively) when the block starts and has the permissions of a
    normally created file (``0o666`` less the umask).

    Parameters
    ----------
    path : str or os.PathLike
        The target; its folder is created if missing.
    replace : bool
        Replace an existing target (default). False: raise ``FileExistsError`` instead, atomically
        (on a filesystem without hard links, an existence check just before the rename).
    tag : str, optional
        Name the temporary file ``.<name>.<tag>.part`` so a run can find and remove its own leftovers
        after being killed (``cinb.collection.apply``); default: a random tag.
    durable : bool
        ``fsync`` the file before it takes the target's name, so a crash of the machine cannot leave
        the target empty (for files rebuilt rarely and read for long, such as an index).

    Raises
    ------
    FileExistsError
        ``replace=False`` and the target exists; or ``tag`` names a temporary file that exists.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from cinb.fileio import atomic_path
    >>> target = Path(tempfile.mkdtemp()) / "note.txt"
    >>> with atomic_path(target) as tmp:
    ...     _ = tmp.write_text("hello")
    ...     target.exists()
    False
    >>> target.read_text()
    'hello'
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.parent / f".{target.name}.{tag or secrets.token_hex(6)}.part"
    os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
    try:
        yield tmp
        if durable:
            with open(tmp, "rb") as fh:
                os.fsync(fh.fileno())
        if replace:
            os.replace(tmp, target)
        else:
            try:
                os.link(tmp, target)
            except FileExistsError:
                raise
            except OSError:  # a filesystem without hard links: check, then rename (not atomic)
                if os.path.lexists(target):
                    raise FileExistsError(f"{target} exists") from None
                os.replace(tmp, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def write_atomic(path: str | os.PathLike, data: bytes, *, replace: bool = True, tag: str | None = None) -> Path:
    """Write ``data`` to ``path`` through a temporary file in the same folder (see :func:`atomic_path`).

    Returns
    -------
    pathlib.Path
        The target.

    Raises
    ------
    FileExistsError
        ``replace=False`` and the target exists.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from cinb.fileio import write_atomic
    >>> p = write_atomic(pathlib.Path(tempfile.mkdtemp()) / "sub" / "a.bin", b"abc")
    >>> p.read_bytes()
    b'abc'
    >>> write_atomic(p, b"xyz", replace=False)
    Traceback (most recent call last):
    ...
    FileExistsError: ...
    """
    target = Path(path)
    with atomic_path(target, replace=replace, tag=tag) as tmp, open(tmp, "wb") as fh:
        fh.write(data)
    return target
