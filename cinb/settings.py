"""cinb's settings: one frozen object, read from the environment once, changed only through this module.

CI itself has no client settings; these say where cinb finds what CI would fetch from the bucket
(watermark images), which fonts stand for CI's, the blind-watermark key rules use, where gallery
thumbnails are cached, and whether row errors print a traceback.

Environment variables are only the defaults, read once on first use (:meth:`Settings.from_env`):

============================  ==========================  ===========================================
variable                      field                       meaning
============================  ==========================  ===========================================
``CINB_WATERMARK_DIR``        ``watermark_dirs``          folders standing for the bucket
                                                          (``os.pathsep``-separated)
``CINB_BLIND_KEY``            ``blind_key``               key of ``watermark/3`` and ``watermark/4``
``CINB_FONT_DIR``             ``font_dir``                font files named as CI names them
``CINB_THUMB_CACHE``          ``thumb_cache``             on-disk thumbnail cache of ``df.ci.show()``
``CINB_DEBUG``                ``debug``                   print the traceback of a failing row
``CINB_SAMPLE_DIR``           ``sample_dir``              the sample images of ``cinb.data``
============================  ==========================  ===========================================

After that, :func:`configure` changes the process-wide settings and :func:`using` changes them for a
``with`` block in the current thread or task only (a ``contextvars`` variable). cinb never writes
``os.environ``: the settings travel explicitly, in ``rules.model.Context`` to the stages of a rule and
with every chunk of rows sent to a worker process (fork or spawn alike).

Examples
--------
>>> from cinb.settings import configure, get_settings, using
>>> with using(blind_key="secret"):
...     get_settings().blind_key
'secret'
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import os
import tempfile
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from .errors import BAD_PARAMETER, CIError

#: Default on-disk thumbnail cache of ``df.ci.show()`` (under the system temp folder).
DEFAULT_THUMB_CACHE = os.path.join(tempfile.gettempdir(), "cinb-thumbs")

#: Environment variable of each field that has one.
ENV_VARS = {
    "watermark_dirs": "CINB_WATERMARK_DIR",
    "blind_key": "CINB_BLIND_KEY",
    "font_dir": "CINB_FONT_DIR",
    "thumb_cache": "CINB_THUMB_CACHE",
    "debug": "CINB_DEBUG",
    "sample_dir": "CINB_SAMPLE_DIR",
}

_FALSE = {"", "0", "false", "no", "off"}


def _bad(message: str, token: Any) -> CIError:
    return CIError(message, code=BAD_PARAMETER, token=None if token is None else str(token))


def _folder(value: Any, name: str) -> str:
    """An absolute folder path (``~`` expanded). No symlink resolution and no file-system access but
    ``getcwd``: settings are built on every :func:`using`, and a folder may be created later."""
    if not isinstance(value, (str, os.PathLike)):
        raise _bad(f"setting {name} takes a folder path, got {type(value).__name__}", value)
    text = os.fspath(value)
    if isinstance(text, bytes) or not text or "\x00" in text:
        raise _bad(f"setting {name} takes a non-empty folder path, got {text!r}", text)
    return os.path.abspath(os.path.expanduser(text))


@dataclass(frozen=True)
class Settings:
    """Every setting cinb reads (a frozen value: change it with :func:`configure` or :func:`using`).

    Parameters
    ----------
    watermark_dirs : tuple of str
        Folders that stand for the bucket: watermark object keys and relative paths are looked up
        there first, then in the source image's folder (``watermark/1``, ``watermark/3``, ``/4``).
        Paths become absolute when the settings are made.
    blind_key : str, optional
        The key ``watermark/3`` and ``watermark/4`` rules embed and extract with (None: cinb's
        default key).
    font_dir : str, optional
        A folder of font files named as CI names its fonts (``simhei.ttf``...), used before the
        packaged fonts.
    fonts : tuple of (str, str, int)
        Font overrides ``(CI font name, file, face index)``, see ``cinb.watermark.register_font``.
    system_fonts : bool
        Prefer closer style matches from installed Debian font packages (machine-dependent output),
        see ``cinb.watermark.use_system_fonts``.
    thumb_cache : str
        The on-disk thumbnail cache folder of ``df.ci.show()``.
    debug : bool
        Print the traceback of a row that fails in ``scan``, ``apply`` or ``analyze``.
    sample_dir : str, optional
        Where ``cinb.data`` finds its sample images (None: ``datasets/sample`` of the repository).

    Raises
    ------
    CIError
        -103 for a value of the wrong type.

    Examples
    --------
    >>> from cinb.settings import Settings
    >>> s = Settings(watermark_dirs=["/srv/bucket"], debug=True)
    >>> s.watermark_dirs, s.debug
    (('/srv/bucket',), True)
    >>> Settings(debug="yes")
    Traceback (most recent call last):
    ...
    cinb.errors.CIError: setting debug takes True or False, got 'yes' (X-ErrNo -103)
    """

    watermark_dirs: tuple[str, ...] = ()
    blind_key: str | None = None
    font_dir: str | None = None
    fonts: tuple[tuple[str, str, int], ...] = ()
    system_fonts: bool = False
    thumb_cache: str = DEFAULT_THUMB_CACHE
    debug: bool = False
    sample_dir: str | None = None

    def __post_init__(self) -> None:
        dirs: Any = self.watermark_dirs  # whatever the caller gave: checked here
        if isinstance(dirs, (str, os.PathLike)):
            dirs = (dirs,)
        try:
            dirs = tuple(dict.fromkeys(_folder(d, "watermark_dirs") for d in dirs))
        except TypeError:
            raise _bad(f"setting watermark_dirs takes folder paths, got {type(dirs).__name__}", dirs) from None
        object.__setattr__(self, "watermark_dirs", dirs)
        if self.blind_key is not None and (not isinstance(self.blind_key, str) or not self.blind_key):
            raise _bad(f"setting blind_key takes a non-empty str or None, got {self.blind_key!r}", self.blind_key)
        for name in ("font_dir", "sample_dir"):
            if getattr(self, name) is not None:
                object.__setattr__(self, name, _folder(getattr(self, name), name))
        object.__setattr__(self, "fonts", _fonts(self.fonts))
        object.__setattr__(self, "thumb_cache", _folder(self.thumb_cache, "thumb_cache"))
        for name in ("system_fonts", "debug"):
            if not isinstance(getattr(self, name), bool):
                raise _bad(f"setting {name} takes True or False, got {getattr(self, name)!r}", getattr(self, name))

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Settings from ``CINB_*`` environment variables (``os.environ`` by default), unset ones at
        their defaults. ``CINB_DEBUG`` is on unless empty, ``0``, ``false``, ``no`` or ``off``.

        Examples
        --------
        >>> import os
        >>> from cinb.settings import Settings
        >>> s = Settings.from_env({"CINB_WATERMARK_DIR": "/a" + os.pathsep + "/b", "CINB_DEBUG": "1"})
        >>> s.watermark_dirs, s.debug, s.blind_key
        (('/a', '/b'), True, None)
        """
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        dirs = env.get(ENV_VARS["watermark_dirs"], "")
        values["watermark_dirs"] = tuple(p for p in dirs.split(os.pathsep) if p)
        values["blind_key"] = env.get(ENV_VARS["blind_key"]) or None
        values["font_dir"] = env.get(ENV_VARS["font_dir"]) or None
        values["thumb_cache"] = env.get(ENV_VARS["thumb_cache"]) or DEFAULT_THUMB_CACHE
        values["debug"] = env.get(ENV_VARS["debug"], "").strip().lower() not in _FALSE
        values["sample_dir"] = env.get(ENV_VARS["sample_dir"]) or None
        return cls(**values)

    def replace(self, **changes: Any) -> Settings:
        """A copy with ``changes`` (validated like the constructor).

        Raises
        ------
        TypeError
            For a name that is not a setting.

        Examples
        --------
        >>> from cinb.settings import Settings
        >>> Settings().replace(blind_key="k").blind_key
        'k'
        """
        unknown = sorted(set(changes) - _FIELDS)
        if unknown:
            raise TypeError(f"unknown setting(s) {', '.join(unknown)}; settings are: {', '.join(sorted(_FIELDS))}")
        return dataclasses.replace(self, **changes)


_FIELDS = frozenset(f.name for f in dataclasses.fields(Settings))


def _fonts(value: Any) -> tuple[tuple[str, str, int], ...]:
    out = []
    try:
        items = list(value)
    except TypeError:
        raise _bad(f"setting fonts takes (name, file, index) triples, got {type(value).__name__}", value) from None
    for item in items:
        try:
            name, path, index = item
        except (TypeError, ValueError):
            raise _bad(f"setting fonts takes (name, file, index) triples, got {item!r}", item) from None
        if not isinstance(name, str) or not isinstance(path, (str, os.PathLike)) or not isinstance(index, int):
            raise _bad(f"setting fonts takes (str, path, int) triples, got {item!r}", item)
        out.append((name, os.path.abspath(os.fspath(path)), index))
    # One override per font name, the last one given wins.
    return tuple({name: (name, path, index) for name, path, index in out}.values())


# -- the current settings ---------------------------------------------------------------------------

_lock = threading.Lock()
_process: Settings | None = None  # read from the environment on first use, then set by configure()


@dataclass
class _Layer:
    """What :func:`using` pushed: a whole Settings (``pinned``) and/or changes on top of the process
    settings; ``resolved`` caches the result for the process settings object it was built from."""

    pinned: Settings | None
    changes: dict
    base: Settings | None = None
    resolved: Settings | None = None


_layer: contextvars.ContextVar[_Layer | None] = contextvars.ContextVar("cinb_settings", default=None)


def _process_settings() -> Settings:
    global _process
    if _process is None:
        with _lock:
            if _process is None:
                _process = Settings.from_env()
    return _process


def get_settings() -> Settings:
    """The settings in effect here: :func:`using` blocks of this thread or task over the process-wide
    settings (:func:`configure`, first read from the environment).

    Examples
    --------
    >>> from cinb.settings import get_settings, using
    >>> with using(debug=True):
    ...     get_settings().debug
    True
    """
    layer = _layer.get()
    if layer is None:
        return _process_settings()
    base = layer.pinned if layer.pinned is not None else _process_settings()
    if layer.base is not base:
        layer.resolved = base.replace(**layer.changes) if layer.changes else base
        layer.base = base
    return layer.resolved  # type: ignore[return-value]


def configure(**changes: Any) -> Settings:
    """Change the process-wide settings; returns the new settings.

    Worker processes of ``scan``/``apply``/``analyze`` get the settings of the call that started them.
    Inside a :func:`using` block the block's own changes still win until it ends.

    Parameters
    ----------
    **changes
        Fields of :class:`Settings`, e.g. ``watermark_dirs=["bucket/"]``, ``blind_key="secret"``.

    Returns
    -------
    Settings
        The new process-wide settings.

    Raises
    ------
    TypeError
        For a name that is not a setting.
    CIError
        -103 for a value of the wrong type.

    Examples
    --------
    >>> from cinb.settings import configure, get_settings
    >>> old = get_settings()
    >>> configure(blind_key="secret").blind_key
    'secret'
    >>> configure(blind_key=old.blind_key) == old
    True
    """
    global _process
    with _lock:
        current = _process if _process is not None else Settings.from_env()
        _process = current.replace(**changes)
        return _process


@contextlib.contextmanager
def using(settings: Settings | None = None, /, **changes: Any) -> Iterator[Settings]:
    """Temporary settings for a ``with`` block, in this thread or asyncio task only.

    Parameters
    ----------
    settings : Settings, optional
        Use exactly these settings (e.g. the parent's, in a worker process) instead of the
        process-wide ones.
    **changes
        Fields of :class:`Settings` changed on top (nested blocks add up).

    Yields
    ------
    Settings
        The settings in effect inside the block.

    Raises
    ------
    TypeError
        For a name that is not a setting.
    CIError
        -103 for a value of the wrong type.

    Examples
    --------
    >>> from cinb.settings import get_settings, using
    >>> with using(blind_key="a"):
    ...     with using(debug=True) as inner:
    ...         inner.blind_key, inner.debug
    ('a', True)
    >>> get_settings().blind_key == "a"
    False
    """
    if settings is not None and not isinstance(settings, Settings):
        raise TypeError(f"using() takes a Settings object or keyword changes, not {type(settings).__name__}")
    outer = _layer.get()
    if settings is not None:
        layer = _Layer(settings, dict(changes))
    elif outer is not None:
        layer = _Layer(outer.pinned, {**outer.changes, **changes})
    else:
        layer = _Layer(None, dict(changes))
    token = _layer.set(layer)
    try:
        yield get_settings()  # validates the changes before the block runs
    finally:
        _layer.reset(token)


__all__ = ["DEFAULT_THUMB_CACHE", "ENV_VARS", "Settings", "configure", "get_settings", "using"]
