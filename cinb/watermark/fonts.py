"""CI's text-watermark font names mapped to openly licensed fonts that install with cinb.

CI renders ``watermark/2`` text with fonts it names after Windows/macOS files (spec §11:
``simfang仿宋.ttf``, ``tahoma.ttf``, ``simsun宋体.ttc`` ...). Those files are not redistributable,
so each name maps to an OFL font shipped by a PyPI dependency:

- ``cvttf-notosanscjk-regular``: Noto Sans CJK (Hei/sans style) for the Chinese names;
- ``fontpkg-noto-sans``: Noto Sans (variable weight) for ``tahoma`` and ``ariblk`` (weight 900);
- ``fontpkg-arimo``: Arimo, metric-compatible with Arial, for ``arial``, ``Helvetica*`` and
  ``ahronbd`` (weight 700; Arimo also covers Hebrew).

Characters the chosen font lacks (Chinese text in ``tahoma``, CI's default) fall back to Noto Sans
CJK, so Chinese always renders (in Simplified-Chinese glyph forms: see ``text.LANGUAGE``). The
mapping is the same on every machine; to get CI's exact glyphs, point a CI name at a file you hold a
licence for with :func:`register_font` or put files named as CI names them into the ``font_dir``
folder (``cinb.settings``, ``$CINB_FONT_DIR``).
:func:`use_system_fonts` opts in to closer style matches from Debian font packages when installed
(Noto Serif CJK for ``simsun`` / ``simfang``, AR PL UKai for ``simkai``), at the price of
machine-dependent output. All three are settings (``fonts``, ``font_dir``, ``system_fonts``), so
worker processes render with the same fonts as the notebook that started them.
"""

from __future__ import annotations

import os
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from importlib.resources import files
from pathlib import Path

from PIL import ImageFont

from ..caches import register_cache
from ..errors import BAD_PARAMETER, CIError
from ..settings import Settings, configure, get_settings

#: CI's default font (spec §11).
DEFAULT_FONT = "tahoma.ttf"


@dataclass(frozen=True)
class FontSpec:
    """One font face: a file, the face index inside a collection, a weight for variable fonts.

    Examples
    --------
    >>> from cinb.watermark.fonts import font_spec
    >>> spec = font_spec("arial.ttf")
    >>> spec.path.name, spec.weight
    ('Arimo[wght].ttf', 400)
    """

    path: Path
    index: int = 0
    weight: int | None = None
    source: str = "package"  # package | system | user

    def load(self, size: int) -> ImageFont.FreeTypeFont:
        """The font at ``size`` pixels (cached by file, modification time, face, weight and size)."""
        return _load(str(self.path), _mtime(self.path), self.index, self.weight, int(size))


def _packaged(module: str, *parts: str) -> Path:
    try:
        return Path(str(files(module).joinpath(*parts)))
    except ModuleNotFoundError as exc:  # a broken install: say which dependency is missing
        raise CIError(f"the font package {module!r} is not installed; reinstall cinb",
                      code=BAD_PARAMETER, token=module) from exc


def _cjk() -> FontSpec:
    return FontSpec(_packaged("cvttf_NotoSansCJK_Regular", "NotoSansCJKtc-Regular.otf"))


def _noto_sans(weight: int) -> FontSpec:
    return FontSpec(_packaged("fontpkg_noto_sans", "files", "NotoSans[wdth,wght].ttf"), weight=weight)


def _arimo(weight: int) -> FontSpec:
    return FontSpec(_packaged("fontpkg_arimo", "files", "Arimo[wght].ttf"), weight=weight)


#: CI name -> (aliases, packaged font, style note). Names are spec §11's list.
_TABLE: dict[str, tuple[tuple[str, ...], Callable[[], FontSpec], str]] = {
    "simfang仿宋.ttf": (("simfang", "simfang.ttf", "仿宋"), _cjk,
                        "Noto Sans CJK Regular (FangSong serif not packaged)"),
    "tahoma.ttf": (("tahoma",), lambda: _noto_sans(400), "Noto Sans Regular"),
    "simhei黑体.ttf": (("simhei", "simhei.ttf", "黑体"), _cjk, "Noto Sans CJK Regular (Hei: sans, style match)"),
    "simkai楷体.ttf": (("simkai", "simkai.ttf", "楷体"), _cjk, "Noto Sans CJK Regular (Kai not packaged)"),
    "simsun宋体.ttc": (("simsun", "simsun.ttc", "宋体"), _cjk, "Noto Sans CJK Regular (Song serif not packaged)"),
    "STHeiti Light华文黑体.ttc": (("stheiti light", "stheiti light.ttc", "华文黑体"), _cjk,
                              "Noto Sans CJK Regular (Hei: sans, style match)"),
    "STHeiti Medium.ttc": (("stheiti medium", "stheiti"), _cjk, "Noto Sans CJK Regular (Hei: sans, style match)"),
    "幼圆.TTF": (("幼圆", "youyuan", "youyuan.ttf"), _cjk, "Noto Sans CJK Regular (rounded sans not packaged)"),
    "ahronbd.ttf": (("ahronbd",), lambda: _arimo(700), "Arimo Bold (covers Hebrew)"),
    "arial.ttf": (("arial",), lambda: _arimo(400), "Arimo Regular (Arial-metric)"),
    "ariblk.ttf": (("ariblk",), lambda: _noto_sans(900), "Noto Sans Black"),
    "Helvetica.dfont": (("helvetica", "helvetica.ttf"), lambda: _arimo(400), "Arimo Regular (Helvetica-metric)"),
    "HelveticaNeue.dfont": (("helveticaneue", "helvetica neue", "helveticaneue.ttf"), lambda: _arimo(400),
                            "Arimo Regular"),
}

#: Closer style matches from Debian packages, used only after ``use_system_fonts(True)``.
_SYSTEM: dict[str, tuple[str, int]] = {
    # fonts-noto-cjk: the .ttc holds JP, KR, SC, TC, HK faces in that order; 2 = Simplified Chinese
    "simsun宋体.ttc": ("/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc", 2),
    "simfang仿宋.ttf": ("/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc", 2),
    "simkai楷体.ttf": ("/usr/share/fonts/truetype/arphic/ukai.ttc", 0),  # fonts-arphic-ukai
    "simhei黑体.ttf": ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 2),
    "STHeiti Light华文黑体.ttc": ("/usr/share/fonts/opentype/noto/NotoSansCJK-Light.ttc", 2),
    "STHeiti Medium.ttc": ("/usr/share/fonts/opentype/noto/NotoSansCJK-Medium.ttc", 2),
}

def _key(name: str) -> str:
    return unicodedata.normalize("NFKC", name).strip().lower()


_LOOKUP: dict[str, str] = {}
for _ci, (_aliases, _f, _n) in _TABLE.items():
    for _a in (_ci, *_aliases):
        _LOOKUP[_key(_a)] = _ci


def ci_font_names() -> list[str]:
    """CI's font names, as spec §11 lists them (what ``/font/`` should encode).

    Examples
    --------
    >>> from cinb.watermark.fonts import ci_font_names
    >>> ci_font_names()[:2]
    ['simfang仿宋.ttf', 'tahoma.ttf']
    """
    return list(_TABLE)


def canonical_font_name(name: str) -> str:
    """CI's spelling of a font name given loosely (case, with or without the Chinese part or extension).

    Raises
    ------
    CIError
        -103 for a name CI does not offer.

    Examples
    --------
    >>> from cinb.watermark.fonts import canonical_font_name
    >>> canonical_font_name("SimHei"), canonical_font_name("黑体"), canonical_font_name("ARIAL.TTF")
    ('simhei黑体.ttf', 'simhei黑体.ttf', 'arial.ttf')
    """
    ci = _LOOKUP.get(_key(name or ""))
    if ci is None:
        raise CIError(f"unknown watermark font {name!r}; CI offers: {', '.join(_TABLE)}",
                      code=BAD_PARAMETER, token=name)
    return ci


def register_font(name: str, path: str | os.PathLike, *, index: int = 0) -> None:
    """Render CI font ``name`` with your own file (for instance a licensed copy of the original).

    A shorthand for adding ``(name, path, index)`` to the ``fonts`` setting with
    ``cinb.settings.configure``: process-wide, and passed to worker processes.

    Raises
    ------
    CIError
        -103 for a font name CI does not offer or a file that does not exist.

    Examples
    --------
    >>> from cinb.watermark.fonts import font_spec, register_font, unregister_fonts
    >>> register_font("arial", font_spec("tahoma").path)
    >>> font_spec("arial.ttf").source
    'user'
    >>> unregister_fonts()
    """
    p = Path(path)
    if not p.is_file():
        raise CIError(f"font file not found: {str(p)!r}", code=BAD_PARAMETER, token=str(p))
    configure(fonts=(*get_settings().fonts, (canonical_font_name(name), str(p), int(index))))


def unregister_fonts() -> None:
    """Forget every :func:`register_font` override (``configure(fonts=())``)."""
    configure(fonts=())


def use_system_fonts(enabled: bool = True) -> None:
    """Prefer closer style matches from installed Debian font packages (machine-dependent output).

    A shorthand for ``cinb.settings.configure(system_fonts=enabled)``.

    Examples
    --------
    >>> from cinb.settings import get_settings
    >>> from cinb.watermark.fonts import use_system_fonts
    >>> use_system_fonts(True); get_settings().system_fonts
    True
    >>> use_system_fonts(False)
    """
    configure(system_fonts=bool(enabled))


def _mtime(path: str | os.PathLike) -> int:
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return -1  # let the loader report the missing file


@register_cache
@lru_cache(maxsize=8)
def _font_dir_files(folder: str, mtime_ns: int) -> tuple[tuple[str, Path], ...]:
    """``(normalised name or stem, file)`` of a font folder, keyed on the folder's modification time
    (adding, removing or renaming a file changes it), so rendering does not list the folder per text."""
    out = []
    for entry in sorted(Path(folder).iterdir()):
        if entry.is_file():
            out += [(_key(entry.name), entry), (_key(entry.stem), entry)]
    return tuple(out)


def _from_font_dir(ci: str, folder: str | None) -> Path | None:
    if not folder:
        return None
    try:
        files = _font_dir_files(folder, os.stat(folder).st_mtime_ns)
    except OSError:  # no such folder (or unreadable): the setting simply finds nothing
        return None
    wanted = {_key(ci), *(_key(a) for a in _TABLE[ci][0])}
    for label, entry in files:
        if label in wanted:
            return entry
    return None


def font_spec(name: str = DEFAULT_FONT, *, settings: Settings | None = None) -> FontSpec:
    """The face CI font ``name`` renders with here.

    Order: :func:`register_font` (the ``fonts`` setting), the ``font_dir`` setting
    (``$CINB_FONT_DIR``), Debian fonts after :func:`use_system_fonts`, then the packaged OFL font.

    Parameters
    ----------
    name : str
        A CI font name, given loosely (see :func:`canonical_font_name`).
    settings : Settings, optional
        Default: :func:`cinb.settings.get_settings`.

    Raises
    ------
    CIError
        -103 for a font name CI does not offer.

    Examples
    --------
    >>> from cinb.settings import Settings
    >>> from cinb.watermark.fonts import font_spec
    >>> font_spec("simsun").path.name
    'NotoSansCJKtc-Regular.otf'
    >>> font_spec("simsun", settings=Settings(fonts=[("simsun宋体.ttc", "/fonts/simsun.ttc", 0)])).source
    'user'
    """
    settings = settings if settings is not None else get_settings()
    ci = canonical_font_name(name)
    for user_name, path, index in settings.fonts:
        if user_name == ci:
            return FontSpec(Path(path), index, source="user")
    found = _from_font_dir(ci, settings.font_dir)
    if found is not None:
        return FontSpec(found, 0, source="user")
    if settings.system_fonts and ci in _SYSTEM and Path(_SYSTEM[ci][0]).is_file():
        return FontSpec(Path(_SYSTEM[ci][0]), _SYSTEM[ci][1], source="system")
    return _TABLE[ci][1]()


def resolve_font(name: str = DEFAULT_FONT) -> Path:
    """The font file CI font ``name`` resolves to (see :func:`font_spec` for the face details).

    Raises
    ------
    CIError
        -103 for a font name CI does not offer.

    Examples
    --------
    >>> from cinb.watermark.fonts import resolve_font
    >>> resolve_font("arial.ttf").name
    'Arimo[wght].ttf'
    """
    return font_spec(name).path


def fallback_spec() -> FontSpec:
    """The face used for characters the requested font lacks (Noto Sans CJK)."""
    return _cjk()


def font_table(*, settings: Settings | None = None) -> list[dict]:
    """Every CI font name with the file and weight it resolves to here (for docs and notebooks).

    Examples
    --------
    >>> from cinb.watermark.fonts import ci_font_names, font_table
    >>> len(font_table()) == len(ci_font_names())
    True
    """
    rows = []
    for ci, (_aliases, _f, note) in _TABLE.items():
        spec = font_spec(ci, settings=settings)
        rows.append({"ci_name": ci, "file": spec.path.name, "weight": spec.weight, "source": spec.source,
                     "style": note if spec.source == "package" else spec.source, "path": str(spec.path)})
    return rows


@register_cache
@lru_cache(maxsize=64)
def _load(path: str, mtime_ns: int, index: int, weight: int | None, size: int) -> ImageFont.FreeTypeFont:
    font = ImageFont.truetype(path, size, index=index)
    if weight is not None:
        axes = font.get_variation_axes()
        values = []
        for axis in axes:
            name = axis.get("name", b"")  # FreeType gives no name to an axis without a name-table entry
            label = name.decode("ascii", "replace") if isinstance(name, bytes) else name
            lo, default, hi = axis["minimum"], axis["default"], axis["maximum"]
            if lo is None or default is None or hi is None:  # Pillow always sets them; its Axis type allows None
                raise OSError(f"the font {path} has a variation axis without a range")
            if label.strip().lower() in ("weight", "wght"):
                values.append(float(min(max(weight, lo), hi)))
            else:
                values.append(float(default))
        font.set_variation_by_axes(values)
    return font


def covered(path: str, index: int) -> frozenset[int]:
    """Code points a font file maps to glyphs (its best cmap; cached by file modification time).

    Examples
    --------
    >>> from cinb.watermark.fonts import covered, font_spec
    >>> ord("A") in covered(str(font_spec("arial").path), 0)
    True
    """
    return _covered(str(path), _mtime(path), index)


@register_cache
@lru_cache(maxsize=16)
def _covered(path: str, mtime_ns: int, index: int) -> frozenset[int]:
    from fontTools.ttLib import TTFont

    with TTFont(path, fontNumber=index, lazy=True) as tt:
        return frozenset(tt.getBestCmap() or {})


__all__ = ["DEFAULT_FONT", "FontSpec", "canonical_font_name", "ci_font_names", "covered", "fallback_spec",
           "font_spec", "font_table", "register_font", "resolve_font", "unregister_fonts", "use_system_fonts"]
