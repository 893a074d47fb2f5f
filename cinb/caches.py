"""Every in-memory cache of cinb, registered in one place so :func:`clear_caches` can empty them all.

A module that keeps a cache registers how to empty it when it is imported::

    @register_cache
    @functools.lru_cache(maxsize=32)
    def _load(path: str, mtime_ns: int) -> ...

Caches must be bounded and keyed on content or on a file's modification time, so that a stale
entry is never served; :func:`clear_caches` is there to free memory (e.g. before forking workers or
after a large batch), not to fix staleness.

Examples
--------
>>> from cinb.caches import clear_caches, register_cache
>>> box = {"a": 1}
>>> _ = register_cache(box.clear, name="doc example")
>>> "doc example" in clear_caches(), box
(True, {})
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T", bound=Callable)

_lock = threading.Lock()
_CACHES: dict[str, Callable[[], object]] = {}


def register_cache(clear: T, *, name: str | None = None) -> T:
    """Register a cache; ``clear`` is a function emptying it, or an ``functools.lru_cache`` function.

    Usable as a decorator over an ``lru_cache`` (returns its argument unchanged). Registering the
    same name again replaces the earlier entry (a module reloaded in a notebook).

    Parameters
    ----------
    clear : callable
        ``clear()`` empties the cache; for an ``lru_cache`` function its ``cache_clear`` is used.
    name : str, optional
        A label for :func:`clear_caches` results (default: the function's module and name).

    Returns
    -------
    callable
        ``clear``, unchanged.

    Examples
    --------
    >>> import functools
    >>> from cinb.caches import register_cache
    >>> @register_cache
    ... @functools.lru_cache(maxsize=8)
    ... def square(x):
    ...     return x * x
    >>> square(3), square.cache_info().currsize
    (9, 1)
    """
    fn = getattr(clear, "cache_clear", clear)
    if not callable(fn):
        raise TypeError(f"register_cache takes a function, not {type(clear).__name__}")
    label = name or f"{getattr(clear, '__module__', '?')}.{getattr(clear, '__qualname__', repr(clear))}"
    with _lock:
        _CACHES[label] = fn
    return clear


def registered_caches() -> list[str]:
    """Names of the registered caches (modules not imported yet have none).

    Examples
    --------
    >>> import cinb.watermark
    >>> from cinb.caches import registered_caches
    >>> "cinb.watermark.source._load" in registered_caches()
    True
    """
    with _lock:
        return sorted(_CACHES)


def clear_caches() -> list[str]:
    """Empty every registered in-memory cache; returns their names.

    On-disk caches (the thumbnail folder of ``df.ci.show()``, see ``cinb.settings``) are left alone.

    Examples
    --------
    >>> import cinb
    >>> len(cinb.clear_caches()) > 0
    True
    """
    with _lock:
        items = list(_CACHES.items())
    for _, fn in items:
        fn()
    return sorted(name for name, _ in items)


__all__ = ["clear_caches", "register_cache", "registered_caches"]
