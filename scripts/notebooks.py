"""Run the notebooks and store them as a freshly opened notebook should look; or check that they do.

What a notebook stores (``tests/test_notebooks.py`` checks it, ``tests/test_browser.py`` runs them live):

- the kernel ``cinb`` ("Python 3 (cinb)") in its metadata, and no saved widget state;
- static outputs only: text, tables, pictures and HTML that render the same trusted or not;
- no output that only makes sense live: widget views (explorers, progress bars) are dropped, so an
  explorer's cell shows its printed rule and nothing else until it is run; no stderr (warnings,
  Dask's worker logs);
- small: a picture shown as both PNG and JPEG (a PIL image's repr) keeps one, the smaller unless the PNG
  has transparency; a PNG over 48 KB that is a photo or a plot of photos is stored as JPEG (quality 80) when
  that halves it; at most 350 KB per notebook and 120 KB per output.

Usage, from the repository root::

    .venv/bin/python scripts/notebooks.py run [NAME ...]    # execute (kernel cinb) and store cleaned
    .venv/bin/python scripts/notebooks.py clean [NAME ...]  # clean the stored outputs only
    .venv/bin/python scripts/notebooks.py check             # list what breaks the rules (exit 1 if any)
"""

from __future__ import annotations

import base64
import io
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
KERNELSPEC = {"name": "cinb", "display_name": "Python 3 (cinb)", "language": "python"}
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
MAX_NOTEBOOK_BYTES = 350_000
MAX_OUTPUT_BYTES = 120_000
PNG_TO_JPEG_ABOVE = 48_000


def _opaque(png_b64: str) -> bool:
    """True when a PNG has no transparent pixel (a JPEG of it shows the same picture)."""
    from PIL import Image

    img = Image.open(io.BytesIO(base64.b64decode(png_b64)))
    return not (img.mode in ("RGBA", "LA", "P", "PA") and img.convert("RGBA").getextrema()[3][0] < 255)


def _jpeg_if_smaller(png_b64: str) -> tuple[str, str] | None:
    """(mime, base64) of a JPEG version of an opaque PNG when it is at most half the size; else None."""
    from PIL import Image

    raw = base64.b64decode(png_b64)
    if not _opaque(png_b64):
        return None  # transparency: JPEG would paint it
    img = Image.open(io.BytesIO(raw))
    buf = io.BytesIO()
    img.convert("RGB").save(buf, "JPEG", quality=80, optimize=True)
    if buf.tell() * 2 > len(raw):
        return None
    return "image/jpeg", base64.b64encode(buf.getvalue()).decode("ascii")


def clean(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Apply the storage rules above to a notebook, in place; returns it."""
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        if cell.cell_type != "code":
            continue
        kept = []
        for out in cell.outputs:
            if out.output_type == "stream" and out.name == "stderr":
                continue
            data = out.get("data", {})
            if WIDGET_VIEW in data:
                continue
            png = data.get("image/png")
            if isinstance(png, str) and isinstance(data.get("image/jpeg"), str):
                # a PIL image's repr gives the picture twice (PNG and JPEG): keep one, the smaller opaque one
                drop = "image/png" if len(data["image/jpeg"]) < len(png) and _opaque(png) else "image/jpeg"
                del data[drop]
                png = data.get("image/png")
            if isinstance(png, str) and len(png) > PNG_TO_JPEG_ABOVE:
                smaller = _jpeg_if_smaller(png)
                if smaller is not None:
                    del data["image/png"]
                    data[smaller[0]] = smaller[1]
            kept.append(out)
        cell.outputs = kept
    return nb


def problems(path: Path) -> list[str]:
    """What in a stored notebook breaks the rules (empty when it meets them)."""
    raw = path.read_bytes()
    nb = nbformat.reads(raw.decode("utf-8"), as_version=4)
    out = []
    if nb.metadata.get("kernelspec", {}).get("name") != KERNELSPEC["name"]:
        out.append(f"kernel is {nb.metadata.get('kernelspec', {}).get('name')!r}, not 'cinb'")
    if "widgets" in nb.metadata:
        out.append("saved widget state (metadata.widgets)")
    if len(raw) > MAX_NOTEBOOK_BYTES:
        out.append(f"{len(raw):,} bytes > {MAX_NOTEBOOK_BYTES:,}")
    for i, cell in enumerate(nb.cells):
        for o in cell.get("outputs", []):
            if o.output_type == "stream" and o.name == "stderr":
                out.append(f"cell {i}: stderr output")
            if o.output_type == "error":
                out.append(f"cell {i}: error output")
            if WIDGET_VIEW in o.get("data", {}):
                out.append(f"cell {i}: widget view (live only)")
            size = len(nbformat.writes(nbformat.from_dict({"o": o})))
            if size > MAX_OUTPUT_BYTES:
                out.append(f"cell {i}: output of {size:,} bytes > {MAX_OUTPUT_BYTES:,}")
    return out


def run(path: Path, *, timeout: int = 600) -> None:
    """Execute a notebook on the ``cinb`` kernel in its folder and store it cleaned."""
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=timeout, kernel_name=KERNELSPEC["name"],
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    nbformat.write(clean(nb), path)


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("run", "clean", "check"):
        print(__doc__, file=sys.stderr)
        return 2
    names = argv[1:]
    paths = [NOTEBOOKS / (n if n.endswith(".ipynb") else n + ".ipynb") for n in names] or sorted(
        NOTEBOOKS.glob("*.ipynb"))
    bad = 0
    for p in paths:
        if argv[0] == "run":
            run(p)
        elif argv[0] == "clean":
            nbformat.write(clean(nbformat.read(p, as_version=4)), p)
        for msg in problems(p):
            print(f"{p.name}: {msg}")
            bad += 1
        if argv[0] != "check":
            print(f"{p.name}: {p.stat().st_size:,} bytes")
    return 1 if bad and argv[0] == "check" else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
