"""``df.ci.show()``: an inline HTML grid of thumbnails with chosen columns as captions.

Built for big tables: only one page of rows is rendered (``limit``, default 100), each thumbnail is
a small JPEG (128 px, a few kB) embedded as a data URI so the notebook stays self-contained, and
thumbnails are cached on disk (keyed by file path, size and modification time) and in memory, so
paging back and forth or re-running a cell does not decode again.
"""

from __future__ import annotations

import base64
import hashlib
import html
import io
import math
import os
import re
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import pandas as pd
from PIL import Image

from cinb.ai.endpoints import endpoints
from cinb.caches import register_cache
from cinb.collection.analyses.context import ImageContext
from cinb.fileio import write_atomic
from cinb.imageinput import ImageInput
from cinb.parallel import is_dask, map_values
from cinb.settings import DEFAULT_THUMB_CACHE, Settings, get_settings

#: Default on-disk thumbnail cache (under the system temp folder; the ``thumb_cache`` setting,
#: ``$CINB_THUMB_CACHE``, changes it).
DEFAULT_CACHE = DEFAULT_THUMB_CACHE
# Data URIs by thumbnail key (path, size, mtime, pixel size): about 5 kB each, so at most ~25 MB.
_MEMORY: OrderedDict[str, str] = OrderedDict()
_MEMORY_MAX = 5000
register_cache(_MEMORY.clear, name="cinb.collection.gallery._MEMORY")


def cache_dir(*, settings: Settings | None = None) -> str:
    """The thumbnail cache folder in use: the ``thumb_cache`` setting (default: the current settings).

    Examples
    --------
    >>> from cinb.collection.gallery import cache_dir
    >>> from cinb.settings import using
    >>> with using(thumb_cache="/tmp/my-thumbs"):
    ...     cache_dir()
    '/tmp/my-thumbs'
    """
    return (settings if settings is not None else get_settings()).thumb_cache


def _key(path: str, size: int) -> str | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    raw = f"{os.path.realpath(path)}|{st.st_size}|{st.st_mtime_ns}|{size}"
    return hashlib.sha1(raw.encode("utf-8", "surrogateescape")).hexdigest()


def thumbnail_bytes(path: str, size: int = 128) -> bytes:
    """A JPEG thumbnail (long side ``size``, orientation applied), from the cache when possible.

    Raises the reading error (CIError, OSError) for a file that cannot be shown.

    Examples
    --------
    >>> import tempfile
    >>> import io
    >>> from PIL import Image
    >>> from cinb.collection.gallery import thumbnail_bytes
    >>> p = tempfile.mktemp(suffix=".png"); Image.new("RGB", (400, 200), "navy").save(p)
    >>> Image.open(io.BytesIO(thumbnail_bytes(p, 64))).size
    (64, 32)
    """
    key = _key(path, size)
    cached = os.path.join(cache_dir(), key[:2], key + ".jpg") if key else None
    if cached and os.path.exists(cached):
        with open(cached, "rb") as fh:
            return fh.read()
    img = ImageContext(path).image(size)
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=72, optimize=True)
    data = buf.getvalue()
    if cached:
        try:
            write_atomic(cached, data)
        except OSError:
            pass  # a read-only cache only costs speed
    return data


def _thumb_row(row: dict, *, size: int) -> dict:
    return {"uri": "data:image/jpeg;base64," + base64.b64encode(thumbnail_bytes(row["path"], size)).decode()}


def thumbnails(paths: Sequence[str], *, size: int = 128, workers: int | None = None,
               progress: bool = True) -> list[str | None]:
    """Data URIs of thumbnails (None where the file cannot be shown), decoding in parallel.

    Examples
    --------
    >>> from cinb.collection.gallery import thumbnails
    >>> thumbnails(["/no/such.jpg"], progress=False)
    [None]
    """
    out: list[str | None] = [None] * len(paths)
    todo = []
    for i, p in enumerate(paths):
        key = _key(p, size)
        if key and key in _MEMORY:
            _MEMORY.move_to_end(key)
            out[i] = _MEMORY[key]
        elif key:
            todo.append((i, key, p))
    if todo:
        # A pool only pays off when there is real decoding to do.
        n_workers = 1 if len(todo) < 24 else workers
        results = map_values([{"path": p} for _, _, p in todo], _thumb_row, fn_kwargs={"size": size},
                             workers=n_workers, desc="thumbnails", progress=progress and len(todo) >= 24)
        for (i, key, _), res in zip(todo, results, strict=True):
            if res.get("uri"):
                out[i] = _MEMORY[key] = res["uri"]
        while len(_MEMORY) > _MEMORY_MAX:
            _MEMORY.popitem(last=False)
    return out


def _fmt(value: Any) -> str:
    if value is None or value is pd.NA or value is pd.NaT:
        return "–"
    if isinstance(value, float):
        if math.isnan(value):
            return "–"
        return f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d %H:%M")
    text = str(value)
    return text if len(text) <= 60 else text[:57] + "..."


class Gallery:
    """The HTML grid ``show`` returns; Jupyter renders it through ``_repr_html_``.

    Attributes
    ----------
    html : str
        The markup (also what ``str(gallery)`` gives).
    shown, total : int
        Rows rendered and rows in the table.
    """

    def __init__(self, markup: str, shown: int, total: int):
        self.html = markup
        self.shown = shown
        self.total = total

    def _repr_html_(self) -> str:
        return self.html

    def __str__(self) -> str:
        return self.html

    def __repr__(self) -> str:
        return f"<Gallery: {self.shown} of {self.total} images>"


def show(df: Any, columns: Sequence[str] | str | None = None, *, limit: int = 100, start: int = 0,
         size: int = 128, by: str | None = None, workers: int | None = None, progress: bool = True,
         draw: str | Sequence[str] | bool = True) -> Gallery:
    """An HTML grid of thumbnails, one page of rows at a time, captioned with chosen columns.

    Parameters
    ----------
    df : pandas.DataFrame or dask.dataframe.DataFrame
        Rows with a ``path`` column (filter first: ``df[df.blurry].ci.show()``). For Dask, only the
        requested page of rows is computed.
    columns : str or list of str, optional
        Columns printed under each thumbnail (default: ``name``, plus ``error`` where set).
    limit : int
        Rows per page (default 100: about 0.5 MB of notebook output).
    start : int
        First row of the page (``start=100`` for the second page).
    size : int
        Thumbnail long side in pixels.
    by : str, optional
        Group rows by this column (e.g. ``near_group``, ``duplicate_group``), one line per group;
        rows where it is missing are left out.
    workers : int, optional
        Processes for making thumbnails that are not cached yet.
    progress : bool
        Show a progress bar while making many thumbnails.
    draw : bool, str or list of str
        Draw the answers of ``ci-process`` analyses on the thumbnails (QR code outlines, OCR text
        boxes, ...; hover a shape for its text): True draws every ``<analysis>_response`` column
        of an endpoint that has shapes, a name or list of names draws those, False none.

    Returns
    -------
    Gallery
        Displays itself in Jupyter; ``.html`` holds the markup.

    Examples
    --------
    >>> import tempfile
    >>> import pandas as pd
    >>> import os
    >>> from PIL import Image
    >>> from cinb.collection.gallery import show
    >>> folder = tempfile.mkdtemp(); p = os.path.join(folder, "a.png")
    >>> Image.new("RGB", (300, 200), "orange").save(p)
    >>> g = show(pd.DataFrame({"path": [p], "name": ["a.png"]}), progress=False)
    >>> g, "data:image/jpeg;base64," in g.html
    (<Gallery: 1 of 1 images>, True)
    """
    if isinstance(columns, str):
        columns = [columns]
    if is_dask(df):
        df = df.head(start + limit, npartitions=-1, compute=True)
    total = len(df)
    if by is not None:
        df = df[df[by].notna()].sort_values(by, kind="stable")
    page = df.iloc[start:start + limit]
    columns = list(columns) if columns is not None else [c for c in ("name",) if c in df.columns]
    uris = thumbnails([str(p) for p in page["path"]], size=size, workers=workers, progress=progress)
    drawers = _drawers(df.columns, draw)
    cells: list[tuple[Any, str]] = []
    for (_, row), uri in zip(page.iterrows(), uris, strict=True):
        overlay = _overlay(row, uri, drawers) if drawers and uri else ""
        cells.append((row[by] if by else None, _cell(row, uri, columns, size, overlay)))
    body = _grouped(cells, by) if by else f'<div class="cinb-grid">{"".join(c for _, c in cells)}</div>'
    shown = len(page)
    more = ""
    if start + shown < len(df) or start > 0:
        more = (f'<div class="cinb-note">rows {start + 1 if shown else start}–{start + shown} of {len(df)}'
                f'{f" (grouped by {html.escape(by)})" if by else ""}; '
                f"next page: <code>show(..., start={start + shown})</code></div>")
    markup = _inline_css(f'<div class="cinb-gallery">{more}{body}</div>')
    return Gallery(markup, shown, total)


def _drawers(columns: Sequence[str], draw: str | Sequence[str] | bool) -> list[tuple[str, Any]]:
    """(response column, shapes function) for each endpoint answer to draw."""
    if draw is False or draw is None:
        return []
    wanted = None if draw is True else ({draw} if isinstance(draw, str) else set(draw))
    out = []
    for ep in endpoints():
        if ep.analysis and ep.shapes is not None and f"{ep.analysis}_response" in columns:
            if wanted is None or ep.analysis in wanted or ep.name in wanted:
                out.append((f"{ep.analysis}_response", ep.shapes))
    return out


_COLOURS = ("#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#42d4f4")


def _overlay(row: pd.Series, uri: str, drawers: list[tuple[str, Any]]) -> str:
    """An SVG over the thumbnail: the shapes of each drawn answer, in the upright image's pixels."""
    shapes = []
    for column, fn in drawers:
        response = row.get(column)
        if isinstance(response, dict):
            try:
                shapes.extend(fn(response))
            except (KeyError, TypeError, ValueError):  # an answer without the fields to draw
                continue
    if not shapes:
        return ""
    try:
        thumb = Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1])))
        width, height = upright_size(str(row["path"]), thumb.size)
    except Exception:  # noqa: BLE001 - a drawing is a nicety: never fail the gallery over it
        return ""
    items = []
    for i, (points, label) in enumerate(shapes):
        colour = _COLOURS[i % len(_COLOURS)]
        pts = " ".join(f"{float(x):.1f},{float(y):.1f}" for x, y in points)
        items.append(f'<polygon points="{pts}" fill="{colour}" fill-opacity="0.15" stroke="{colour}" '
                     f'stroke-width="{max(width, height) / 100:.1f}"><title>{html.escape(str(label))}</title>'
                     "</polygon>")
    return (f'<svg class="cinb-shapes" viewBox="0 0 {width} {height}" preserveAspectRatio="none" '
            f'style="width:{thumb.width}px;height:{thumb.height}px">{"".join(items)}</svg>')


def upright_size(path: str, thumb_size: tuple[int, int]) -> tuple[int, int]:
    """The displayed size of an image, from its header and its (upright) thumbnail's shape.

    Orientation only swaps the sides, and the thumbnail shows which way round they go: this holds
    for every decoder, including those that rotate HEIF themselves.

    Examples
    --------
    >>> import tempfile
    >>> from PIL import Image
    >>> from cinb.collection.gallery import upright_size
    >>> p = tempfile.mktemp(suffix=".png"); Image.new("RGB", (30, 20)).save(p)
    >>> upright_size(p, (12, 8)), upright_size(p, (8, 12))
    ((30, 20), (20, 30))
    """
    header = ImageInput(path).header()
    long, short = max(header.width, header.height), min(header.width, header.height)
    return (long, short) if thumb_size[0] >= thumb_size[1] else (short, long)


def _cell(row: pd.Series, uri: str | None, columns: list[str], size: int, overlay: str = "") -> str:
    path = str(row["path"])
    error = row.get("error") if "error" in row.index else None
    error = None if error is None or (isinstance(error, float) and math.isnan(error)) else str(error)
    if uri:
        img = f'<img src="{uri}" style="max-width:{size}px;max-height:{size}px">'
    else:
        img = (f'<div class="cinb-missing" style="width:{size}px;height:{size}px">'
               f"{html.escape(error or 'cannot show this file')[:120]}</div>")
    lines = [f'<div class="cinb-cap"><b>{html.escape(c)}</b> {html.escape(_fmt(row.get(c)))}</div>'
             if c != "name" else f'<div class="cinb-cap">{html.escape(_fmt(row.get(c)))}</div>'
             for c in columns if c in row.index]
    if error and "error" not in columns:
        lines.append(f'<div class="cinb-cap cinb-err">{html.escape(error[:80])}</div>')
    css = "cinb-cell cinb-bad" if error else "cinb-cell"
    return (f'<div class="{css}" title="{html.escape(path)}" style="width:{size + 8}px">'
            f'<div class="cinb-img" style="height:{size}px">{img}{overlay}</div>{"".join(lines)}</div>')


def _grouped(cells: list[tuple[Any, str]], by: str) -> str:
    out: list[str] = []
    row: list[str] = []
    current: Any = object()
    for key, cell in cells:
        if key != current and row:
            out.append(_group_line(current, by, row))
            row = []
        current = key
        row.append(cell)
    if row:
        out.append(_group_line(current, by, row))
    return "".join(out)


def _group_line(key: Any, by: str, cells: list[str]) -> str:
    return (f'<div class="cinb-group"><div class="cinb-note">{html.escape(by)} = {html.escape(_fmt(key))} '
            f'({len(cells)})</div><div class="cinb-grid">{"".join(cells)}</div></div>')


# Styles go inline, one set per class: JupyterLab strips <style> from untrusted outputs (every saved
# notebook opened anew), which drew the 00-tour galleries unstyled, 4,854 px tall instead of 1,101;
# style attributes survive its sanitizer (measured in headless Chromium, JupyterLab 4.6).
_CSS = {
    "cinb-gallery": "font-family:sans-serif;font-size:11px;",
    "cinb-grid": "display:flex;flex-wrap:wrap;gap:6px;margin:4px 0;",
    "cinb-cell": "border:1px solid #ddd;border-radius:3px;padding:3px;overflow:hidden;background:#fff;",
    "cinb-bad": "border-color:#d33;",
    "cinb-img": "display:flex;align-items:center;justify-content:center;position:relative;",
    "cinb-shapes": "position:absolute;pointer-events:auto;",
    "cinb-cap": "white-space:nowrap;overflow:hidden;text-overflow:ellipsis;color:#333;line-height:1.3;",
    "cinb-err": "color:#c00;",
    "cinb-missing": ("display:flex;align-items:center;justify-content:center;text-align:center;background:#f4f4f4;"
                     "color:#a00;font-size:10px;overflow:hidden;overflow-wrap:anywhere;"),
    "cinb-note": "color:#555;margin:4px 0;",
}
_TAG = re.compile(r"<([a-zA-Z][\w-]*)([^>]*)>")


def _inline_css(markup: str) -> str:
    """Each element's class styles from ``_CSS`` put first in its ``style`` attribute.

    Examples
    --------
    >>> from cinb.collection.gallery import _inline_css
    >>> _inline_css('<div class="cinb-bad" title="x" style="width:9px">')
    '<div class="cinb-bad" title="x" style="border-color:#d33;width:9px">'
    """
    def one(m: re.Match) -> str:
        attrs = m.group(2)
        cls = re.search(r'\bclass="([^"]*)"', attrs)
        css = "".join(_CSS.get(c, "") for c in cls.group(1).split()) if cls else ""
        if not css:
            return m.group(0)
        style = re.search(r'\bstyle="([^"]*)"', attrs)
        if style:
            attrs = attrs[:style.start(1)] + css + attrs[style.start(1):]
        else:
            closing = "/" if attrs.endswith("/") else ""
            attrs = attrs[:len(attrs) - len(closing)] + f' style="{css}"' + closing
        return f"<{m.group(1)}{attrs}>"
    return _TAG.sub(one, markup)
