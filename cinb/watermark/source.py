"""Where a watermark image comes from: CI takes a URL in the same bucket; cinb maps it to a file.

cinb never touches the network. ``/image/<b64u>`` decodes to either

- a COS URL ``http://<bucket>.cos.<region>.myqcloud.com/<key>`` (or any ``http://host/<key>``): the
  object key is looked up as a relative path in the watermark folders (the ``watermark_dirs``
  setting: :func:`set_watermark_dirs`, ``cinb.settings``, ``$CINB_WATERMARK_DIR``), then in the
  source image's folder; if the key is not found there, its file name alone is tried in the same
  folders;
- a local path (absolute, or relative to those folders, then to the working directory).

``/image_key/<b64u key>`` is an object key, looked up the same way.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from pathlib import Path
from urllib.parse import unquote, urlsplit

from PIL import Image

from ..caches import register_cache
from ..errors import BAD_PARAMETER, CIError
from ..settings import Settings, configure, get_settings


def set_watermark_dirs(*folders: str | os.PathLike) -> None:
    """Folders that stand for the bucket: watermark keys and relative paths are looked up there first.

    A shorthand for ``cinb.settings.configure(watermark_dirs=folders)``: the folders are part of the
    process-wide settings, which worker processes of ``cinb.collection.apply`` receive with their
    rows. Call with no folder to clear. For a temporary change use
    ``cinb.settings.using(watermark_dirs=...)``.

    Raises
    ------
    CIError
        -103 for something that is not a folder path.

    Examples
    --------
    >>> from cinb.watermark.source import set_watermark_dirs, watermark_dirs
    >>> set_watermark_dirs("/tmp")
    >>> watermark_dirs()[0].as_posix()
    '/tmp'
    >>> set_watermark_dirs()
    >>> watermark_dirs()
    []
    """
    configure(watermark_dirs=folders)


def watermark_dirs(base_dir: str | os.PathLike | None = None, *, settings: Settings | None = None) -> list[Path]:
    """The folders searched, in order: the settings' ``watermark_dirs`` (see :func:`set_watermark_dirs`,
    ``$CINB_WATERMARK_DIR``), then ``base_dir``.

    Examples
    --------
    >>> from cinb.settings import Settings
    >>> from cinb.watermark.source import watermark_dirs
    >>> [p.as_posix() for p in watermark_dirs("/photos", settings=Settings(watermark_dirs=["/bucket"]))]
    ['/bucket', '/photos']
    """
    settings = settings if settings is not None else get_settings()
    out = [Path(p) for p in settings.watermark_dirs]
    if base_dir:
        out.append(Path(base_dir))
    return out


def _split(location: str, key: str):
    # urlsplit refuses some hosts (``http://[::1/x``: "Invalid IPv6 URL") with a plain ValueError.
    try:
        return urlsplit(location)
    except ValueError as exc:
        raise CIError(f"{key}: the watermark URL {location!r} is malformed ({exc})",
                      code=BAD_PARAMETER, token=location) from exc


def check_location(location: str, key: str) -> None:
    """Parse-time checks CI makes on the watermark URL (it must be ``http://``, not ``https://``).

    Raises
    ------
    CIError
        -103 for an ``https://`` URL, a URL naming no object key, or a malformed URL.

    Examples
    --------
    >>> from cinb.watermark.source import check_location
    >>> check_location("http://[::1/wm.png", "image")
    Traceback (most recent call last):
    ...
    cinb.errors.CIError: image: the watermark URL 'http://[::1/wm.png' is malformed (Invalid IPv6 URL) (X-ErrNo -103)
    """
    low = location.lower()
    if low.startswith("https://"):
        raise CIError(f"{key}: CI requires the watermark URL to start with http://, got {location!r}",
                      code=BAD_PARAMETER, token=location)
    if low.startswith("http://") and not _split(location, key).path.strip("/"):
        raise CIError(f"{key}: the watermark URL {location!r} names no object key",
                      code=BAD_PARAMETER, token=location)


def object_key(location: str) -> str | None:
    """The object key of an ``http://`` URL (query string, e.g. a signature, dropped); None for a path.

    Examples
    --------
    >>> from cinb.watermark.source import object_key
    >>> object_key("http://examplebucket-1250000000.cos.ap-shanghai.myqcloud.com/logo/wm.png?sign=x")
    'logo/wm.png'
    >>> object_key("logo.png") is None
    True
    """
    if not location.lower().startswith("http://"):
        return None
    return unquote(_split(location, "image").path).lstrip("/")


def _is_file(path: Path) -> bool | OSError:
    # Path.is_file lets some OS errors through (a name over 255 bytes: ENAMETOOLONG); such a
    # candidate is simply not the watermark, and the error is reported if no candidate matches.
    try:
        return path.is_file()
    except OSError as exc:
        return exc


def resolve_location(location: str, *, is_key: bool = False, base_dir: str | os.PathLike | None = None,
                     settings: Settings | None = None) -> Path:
    """The local file a watermark URL, key or path stands for.

    Parameters
    ----------
    location : str
        The decoded ``/image/`` URL or path, or the ``/image_key/`` object key.
    is_key : bool
        ``location`` is an object key.
    base_dir : str or PathLike, optional
        The source image's folder, searched after the settings' ``watermark_dirs``.
    settings : Settings, optional
        Default: :func:`cinb.settings.get_settings`.

    Raises
    ------
    CIError
        -103 naming the watermark and the folders searched when no file matches (also for a name
        the file system refuses, e.g. over 255 bytes, or ``~user`` of an unknown user).

    Examples
    --------
    >>> from cinb.watermark.source import resolve_location
    >>> resolve_location("~nosuchuser/wm.png")
    Traceback (most recent call last):
    ...
    cinb.errors.CIError: watermark image '~nosuchuser/wm.png' not found: no user 'nosuchuser' (X-ErrNo -103)
    """
    key = location.lstrip("/") if is_key else object_key(location)
    folders = watermark_dirs(base_dir, settings=settings)
    candidates: list[Path] = []
    if key is not None:
        for rel in dict.fromkeys([key, Path(key).name]):
            candidates += [d / rel for d in folders]
    else:
        p = Path(location)
        if location.startswith("~"):
            try:
                p = p.expanduser()
            except RuntimeError as exc:  # pathlib's "Could not determine home directory"
                user = location[1:].split("/", 1)[0]
                raise CIError(f"watermark image {location!r} not found: no user {user!r}",
                              code=BAD_PARAMETER, token=location) from exc
        if p.is_absolute():
            candidates.append(p)
        else:
            candidates += [d / p for d in folders] + [p]
    refused: OSError | None = None
    for c in candidates:
        found = _is_file(c)
        if found is True:
            return c
        if isinstance(found, OSError):
            refused = found
    where = ", ".join(str(d) for d in folders) or "(no folders: set_watermark_dirs or $CINB_WATERMARK_DIR)"
    why = f" (the file system refuses the name: {refused.strerror})" if refused is not None else ""
    raise CIError(f"watermark image {location!r} not found{why} (searched {where}); cinb never downloads",
                  code=BAD_PARAMETER, token=location)


#: Decoded watermarks kept in memory, by total pixel bytes rather than by count: a logo is a few
#: kB, but one 8000x8000 watermark is 256 MB, and 32 of them would have held 8 GB.
CACHE_BYTES = 256 * 1024 * 1024
_CACHE: OrderedDict[tuple[str, int, int], Image.Image] = OrderedDict()
_CACHE_LOCK = threading.Lock()
_cached_bytes = 0


def _clear() -> None:
    global _cached_bytes
    with _CACHE_LOCK:
        _CACHE.clear()
        _cached_bytes = 0


register_cache(_clear, name="cinb.watermark.source._load")


def _cached_load(path: str, mtime_ns: int, size: int) -> Image.Image:
    global _cached_bytes
    key = (path, mtime_ns, size)
    with _CACHE_LOCK:
        if key in _CACHE:
            _CACHE.move_to_end(key)
            return _CACHE[key]
    img = _load(path)
    nbytes = img.width * img.height * 4
    if nbytes <= CACHE_BYTES:
        with _CACHE_LOCK:
            if key not in _CACHE:
                _CACHE[key] = img
                _cached_bytes += nbytes
            while _cached_bytes > CACHE_BYTES:
                _, old = _CACHE.popitem(last=False)
                _cached_bytes -= old.width * old.height * 4
    return img


def _load(path: str) -> Image.Image:
    try:
        with Image.open(path) as img:
            if getattr(img, "n_frames", 1) > 1:
                raise CIError(f"the watermark image {path!r} is animated; CI takes a still image",
                              code=BAD_PARAMETER, token=path)
            img.load()
            return img.convert("RGBA")  # a palette's transparency becomes alpha
    except CIError:
        raise
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise CIError(f"the watermark image {path!r} cannot be read: {exc}", code=BAD_PARAMETER, token=path) from exc


def load_watermark(path: str | os.PathLike) -> Image.Image:
    """The watermark image as RGBA (cached by path, size and modification time; do not modify it).

    Raises
    ------
    CIError
        -103 for a file that cannot be read or is not a still image.
    """
    try:
        st = os.stat(path)
    except OSError as exc:
        raise CIError(f"the watermark image {str(path)!r} cannot be read: {exc.strerror}",
                      code=BAD_PARAMETER, token=str(path)) from exc
    return _cached_load(str(path), st.st_mtime_ns, st.st_size)


__all__ = ["check_location", "load_watermark", "object_key", "resolve_location", "set_watermark_dirs",
           "watermark_dirs"]
