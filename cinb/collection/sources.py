"""Turn what a user points at (folder, glob, list, table) into a list of file paths."""

from __future__ import annotations

import glob
import os
from collections.abc import Iterable
from typing import Any

import pandas as pd

from cinb.errors import BAD_PARAMETER, CIError
from cinb.formats import read_extensions

Source = str | os.PathLike | Iterable[str | os.PathLike] | pd.DataFrame | pd.Series


def is_image_name(name: str) -> bool:
    """True when a file name has an extension read as an image (:func:`cinb.formats.read_extensions`).

    Examples
    --------
    >>> from cinb.collection.sources import is_image_name
    >>> is_image_name("IMG_0001.JPG"), is_image_name("notes.txt")
    (True, False)
    """
    return os.path.splitext(name)[1].lower() in read_extensions()


def list_paths(source: Any, *, recursive: bool = True) -> list[str]:
    """Absolute paths named by ``source``, in a stable order.

    Parameters
    ----------
    source : str, os.PathLike, list of paths, pandas.DataFrame or pandas.Series
        A folder (files with image extensions, skipping hidden names), a glob pattern (``**``
        honoured when ``recursive``), a single file, a list of paths, or a table with a ``path``
        column. Listed paths are kept even when missing or not files: scanning them gives an
        ``error`` row instead of silently dropping them.
    recursive : bool
        Walk sub-folders (and let ``**`` match across folders in a glob).

    Examples
    --------
    >>> from cinb.collection.sources import list_paths
    >>> list_paths(["b.jpg", "a.jpg"])[0].endswith("b.jpg")
    True
    """
    if isinstance(source, pd.DataFrame):
        if "path" not in source.columns:
            raise CIError("the table has no 'path' column", code=BAD_PARAMETER, token="path")
        return [os.path.abspath(str(p)) for p in source["path"]]
    if isinstance(source, pd.Series):
        return [os.path.abspath(str(p)) for p in source]
    if isinstance(source, (str, os.PathLike)):
        text = os.fspath(source)
        if os.path.isdir(text):
            return walk_folder(text, recursive=recursive)
        if glob.has_magic(text):
            return sorted(os.path.abspath(p) for p in glob.glob(text, recursive=recursive))
        return [os.path.abspath(text)]
    try:
        return [os.path.abspath(os.fspath(p)) for p in source]
    except TypeError:
        raise CIError(f"cannot scan {type(source).__name__!s}: give a folder, a glob, a list of paths "
                      "or a table with a 'path' column", code=BAD_PARAMETER) from None


def walk_folder(root: str, *, recursive: bool = True) -> list[str]:
    """Image files under ``root`` (hidden entries skipped), sorted.

    A sub-folder named like an image (``album.jpg/``) is walked when ``recursive``; otherwise it is
    listed so the scan reports it instead of hiding it.

    Examples
    --------
    >>> from cinb.collection.sources import walk_folder
    >>> walk_folder("/nonexistent-folder")
    []
    """
    found: list[str] = []
    stack = [os.path.abspath(root)]
    while stack:
        folder = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            if entry.name.startswith("."):
                continue
            try:
                is_dir = entry.is_dir()
            except OSError:
                is_dir = False
            if is_dir:
                if recursive:
                    stack.append(entry.path)
                elif is_image_name(entry.name):
                    found.append(entry.path)
            elif is_image_name(entry.name):
                found.append(entry.path)
    found.sort()
    return found
