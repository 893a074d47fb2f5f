"""The one formats table: every fact cinb knows about an image format, registered by its plugin.

CI names formats in lower case (``imageInfo`` says ``jpeg``, ``/format/jpg`` asks for one); Pillow
names them in upper case (``JPEG``, ``MPO``); files name them by extension. Each output plugin in
``cinb/codecs/<format>.py`` registers its :class:`Format` next to its codec, and the formats cinb
only reads (TIFF, ICO, PPM) register in ``cinb/codecs/readonly.py`` (Pillow's habit: a new format
is one file). Everything else asks here: the ``/format/`` parser, decode and the header reader,
``scan``'s and ``cinb process DIR``'s file filters, and the extension of written files.

This module is a leaf (it imports nothing of cinb but errors). The plugins register when
``cinb.codecs`` is imported; the first lookup imports it by name (:data:`PLUGINS`), as Pillow's
``Image.init()`` imports its plugins, so the table is complete whatever was imported before.

Examples
--------
>>> from cinb.formats import format_for_pil, get_format
>>> import cinb.codecs
>>> get_format("heic").name, get_format("jpg").extension, format_for_pil("MPO").name
('heif', '.jpg', 'jpeg')
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from .errors import UNSUPPORTED_TYPE, CIError

#: Modules whose import registers the formats (``cinb.codecs`` imports one plugin per format).
PLUGINS = ("cinb.codecs",)
_loaded = False


@dataclass(frozen=True)
class Format:
    """One image format.

    Parameters
    ----------
    name : str
        CI's lower-case name (``imageInfo``'s ``format``, ``Result.format``).
    tokens : tuple of str
        ``/format/<token>`` values that select it; the first is canonical (``jpeg`` -> ``jpg``).
    variants : tuple of str
        Tokens that select it but stay as written, for another encoder (``yjpeg``: jpegli).
    pil_names : tuple of str
        Pillow's ``Image.format`` values it covers (``MPO``: a camera's multi-picture JPEG).
    extensions : tuple of str
        File extensions (lower case, with the dot) read as this format.
    extension : str or None
        The one extension written for it (``cinb process`` and ``cinb apply`` alike).
    mime : str or None
        The MIME type of an encoded file.
    writable : bool
        cinb can encode it (``/format/`` token or an unchanged re-encode).
    encodes_as : str or None
        For a format cinb reads but does not write: the format an unchanged re-encode produces.
    """

    name: str
    tokens: tuple[str, ...] = ()
    variants: tuple[str, ...] = ()
    pil_names: tuple[str, ...] = ()
    extensions: tuple[str, ...] = ()
    extension: str | None = None
    mime: str | None = None
    writable: bool = False
    encodes_as: str | None = None

    def __post_init__(self):
        if not self.name or self.name != self.name.lower():
            raise ValueError(f"format name must be lower case: {self.name!r}")
        for ext in (*self.extensions, *([self.extension] if self.extension else [])):
            if not ext.startswith(".") or ext != ext.lower():
                raise ValueError(f"extension must be lower case with a dot: {ext!r}")


def _load_plugins() -> None:
    """Import the plugin modules once (Python's import lock makes it thread-safe)."""
    global _loaded
    if not _loaded:
        for name in PLUGINS:
            importlib.import_module(name)
        _loaded = True


_FORMATS: dict[str, Format] = {}
_BY_TOKEN: dict[str, Format] = {}
_BY_PIL: dict[str, Format] = {}
_BY_EXTENSION: dict[str, Format] = {}


def register_format(fmt: Format) -> None:
    """Add ``fmt`` to the table (plugins call this on import).

    Raises
    ------
    ValueError
        A token, Pillow name or extension already belongs to another format.
    """
    previous = _FORMATS.get(fmt.name)
    claims = [(_BY_TOKEN, t) for t in (fmt.name, *fmt.tokens, *fmt.variants)]
    claims += [(_BY_PIL, p) for p in fmt.pil_names] + [(_BY_EXTENSION, e) for e in fmt.extensions]
    for table, key in claims:
        owner = table.get(key)
        if owner is not None and owner.name != fmt.name:
            raise ValueError(f"{key!r} already belongs to format {owner.name!r}")
    if previous is not None:  # re-registration replaces every fact of the old entry
        for table in (_BY_TOKEN, _BY_PIL, _BY_EXTENSION):
            for key in [k for k, v in table.items() if v.name == fmt.name]:
                del table[key]
    _FORMATS[fmt.name] = fmt
    for table, key in claims:
        table[key] = fmt


def get_format(name_or_token: str) -> Format:
    """The format for a CI name or a ``/format/`` token (case-insensitive).

    Raises
    ------
    CIError
        -113 for a name no plugin registered.

    Examples
    --------
    >>> from cinb.formats import get_format
    >>> get_format("JPEG").name
    'jpeg'
    """
    _load_plugins()
    fmt = _BY_TOKEN.get(str(name_or_token).lower())
    if fmt is None:
        raise CIError(f"unknown image format {name_or_token!r}", code=UNSUPPORTED_TYPE, token=str(name_or_token))
    return fmt


def find_format(name_or_token: str) -> Format | None:
    """Like :func:`get_format`, None for an unknown name."""
    _load_plugins()
    return _BY_TOKEN.get(str(name_or_token).lower())


def canonical_token(token: str) -> str | None:
    """The canonical ``/format/`` token for ``token`` (None if no format accepts it).

    Examples
    --------
    >>> from cinb.formats import canonical_token
    >>> canonical_token("JPEG"), canonical_token("yjpeg"), canonical_token("heic"), canonical_token("x")
    ('jpg', 'yjpeg', 'heif', None)
    """
    _load_plugins()
    token = str(token).lower()
    fmt = _BY_TOKEN.get(token)
    if fmt is None or token not in (*fmt.tokens, *fmt.variants):
        return None
    return token if token in fmt.variants else fmt.tokens[0]


def format_for_pil(pil_name: str | None) -> Format | None:
    """The format for Pillow's ``Image.format`` (None when no plugin claims it).

    Examples
    --------
    >>> from cinb.formats import format_for_pil
    >>> format_for_pil("DIB").name
    'bmp'
    """
    _load_plugins()
    return _BY_PIL.get(pil_name or "")


def ci_name(pil_name: str | None) -> str:
    """CI's lower-case name for a Pillow format; unregistered formats keep Pillow's name, lowered.

    Examples
    --------
    >>> from cinb.formats import ci_name
    >>> ci_name("MPO"), ci_name("PCX"), ci_name(None)
    ('jpeg', 'pcx', 'unknown')
    """
    _load_plugins()
    fmt = _BY_PIL.get(pil_name or "")
    return fmt.name if fmt is not None else (pil_name or "unknown").lower()


def format_for_extension(ext_or_path: str) -> Format | None:
    """The format a file extension (``.JPG``, ``jfif``) or a file name is read as.

    Examples
    --------
    >>> from cinb.formats import format_for_extension
    >>> format_for_extension("IMG_1.JFIF").name, format_for_extension("notes.txt")
    ('jpeg', None)
    """
    _load_plugins()
    text = str(ext_or_path).lower()
    dot = text.rfind(".")
    ext = text[dot:] if dot >= 0 else "." + text
    return _BY_EXTENSION.get(ext)


def file_extension(name_or_token: str) -> str:
    """The extension (without the dot) written for a format; a name no plugin knows is kept as is.

    ``cinb process`` (``Result.extension``) and ``cinb apply`` (``{ext}``) both name files with it.

    Examples
    --------
    >>> from cinb.formats import file_extension
    >>> file_extension("jpeg"), file_extension("heif"), file_extension("json")
    ('jpg', 'heic', 'json')
    """
    _load_plugins()
    fmt = _BY_TOKEN.get(str(name_or_token).lower())
    if fmt is None or fmt.extension is None:
        return str(name_or_token)
    return fmt.extension[1:]


def read_extensions() -> frozenset[str]:
    """Every extension read as an image (``scan`` and ``cinb process DIR`` list these files)."""
    _load_plugins()
    return frozenset(_BY_EXTENSION)


def formats() -> list[Format]:
    """Every registered format, in registration order."""
    _load_plugins()
    return list(_FORMATS.values())
