"""Where a watermark image comes from: CI takes a URL in the same bucket; cinb maps it to a file.

cinb never touches the network. ``/image/<b64u>`` decodes to either

- a COS URL ``http://<bucket>.cos.<region>.myqcloud.com/<key>`` (or any ``http://host/<key>``): the
  object key is looked up as a relative path in the watermark folders (see :func:`set_watermark_dirs`,
  ``$CINB_WATERMARK_DIR``), then in the source image's folder; if the key is not found there, its
  file name alone is tried in the same folders;
- a local path (absolute, or relative to those folders, then to the working directory).

``/image_key/<b64u key>`` is an object key, looked up the same way.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from urllib.parse import unquote, urlsplit

from PIL import Image

from ..errors import BAD_PARAMETER, CIError

def set_watermark_dirs(*folders: str | os.PathLike) -> None:
    """Folders that stand for the bucket: watermark keys and relative paths are looked up there first.

    The folders are kept in ``$CINB_WATERMARK_DIR`` (``os.pathsep``-separated), so worker processes
    of ``cinb.collection.apply`` see them too. Call with no folder to clear.

    Examples
    --------
    >>> set_watermark_dirs("/tmp")
    >>> watermark_dirs()[0].as_posix()
    '/tmp'
    >>> set_watermark_dirs()
    """
    if folders:
        os.environ["CINB_WATERMARK_DIR"] = os.pathsep.join(str(Path(f).expanduser().resolve()) for f in folders)
    else:
        os.environ.pop("CINB_WATERMARK_DIR", None)


def watermark_dirs(base_dir: str | os.PathLike | None = None) -> list[Path]:
    """The folders searched, in order: ``$CINB_WATERMARK_DIR`` (see :func:`set_watermark_dirs`), ``base_dir``."""
    env = os.environ.get("CINB_WATERMARK_DIR", "")
    out = [Path(p) for p in env.split(os.pathsep) if p]
    if base_dir:
        out.append(Path(base_dir))
    return out


def check_location(location: str, key: str) -> None:
    """Parse-time checks CI makes on the watermark URL (it must be ``http://``, not ``https://``)."""
    low = location.lower()
    if low.startswith("https://"):
        raise CIError(f"{key}: CI requires the watermark URL to start with http://, got {location!r}",
                      code=BAD_PARAMETER, token=location)
    if low.startswith("http://") and not urlsplit(location).path.strip("/"):
        raise CIError(f"{key}: the watermark URL {location!r} names no object key",
                      code=BAD_PARAMETER, token=location)


def object_key(location: str) -> str | None:
    """The object key of an ``http://`` URL (query string, e.g. a signature, dropped); None for a path.

    Examples
    --------
    >>> object_key("http://examplebucket-1250000000.cos.ap-shanghai.myqcloud.com/logo/wm.png?sign=x")
    'logo/wm.png'
    >>> object_key("logo.png") is None
    True
    """
    if not location.lower().startswith("http://"):
        return None
    return unquote(urlsplit(location).path).lstrip("/")


def resolve_location(location: str, *, is_key: bool = False, base_dir: str | os.PathLike | None = None) -> Path:
    """The local file a watermark URL, key or path stands for.

    Raises
    ------
    CIError
        -103 naming the watermark and the folders searched when no file matches.
    """
    key = location.lstrip("/") if is_key else object_key(location)
    folders = watermark_dirs(base_dir)
    candidates: list[Path] = []
    if key is not None:
        for rel in dict.fromkeys([key, Path(key).name]):
            candidates += [d / rel for d in folders]
    else:
        p = Path(location).expanduser()
        if p.is_absolute():
            candidates.append(p)
        else:
            candidates += [d / p for d in folders] + [p]
    for c in candidates:
        if c.is_file():
            return c
    where = ", ".join(str(d) for d in folders) or "(no folders: set_watermark_dirs or $CINB_WATERMARK_DIR)"
    raise CIError(f"watermark image {location!r} not found (searched {where}); cinb never downloads",
                  code=BAD_PARAMETER, token=location)


@lru_cache(maxsize=32)
def _load(path: str, mtime_ns: int, size: int) -> Image.Image:
    try:
        with Image.open(path) as img:
            if getattr(img, "n_frames", 1) > 1:
                raise CIError(f"the watermark image {path!r} is animated; CI takes a still image",
                              code=BAD_PARAMETER, token=path)
            img.load()
            if img.mode == "P" and "transparency" in img.info:
                img = img.convert("RGBA")
            return img.convert("RGBA")
    except CIError:
        raise
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise CIError(f"the watermark image {path!r} cannot be read: {exc}", code=BAD_PARAMETER, token=path) from exc


def load_watermark(path: str | os.PathLike) -> Image.Image:
    """The watermark image as RGBA (cached by path and modification time; do not modify it)."""
    st = os.stat(path)
    return _load(str(path), st.st_mtime_ns, st.st_size)


__all__ = ["check_location", "load_watermark", "object_key", "resolve_location", "set_watermark_dirs",
           "watermark_dirs"]
