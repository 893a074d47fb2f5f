"""The stored notebooks open right: kernel "cinb", static outputs only, small; a kernel without cinb
gets a message naming the fix. (Executing them is nbval's job: ``--nbval-lax``; live, tests/test_browser.py.)"""

from __future__ import annotations

import base64
import importlib.util
import io
import json
import subprocess
from pathlib import Path

import nbformat
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))

_spec = importlib.util.spec_from_file_location("cinb_notebooks_script", ROOT / "scripts" / "notebooks.py")
nbscript = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(nbscript)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_stored_notebook_meets_the_rules(path):
    assert nbscript.problems(path) == []


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_first_code_cell_names_the_fix_when_cinb_is_missing(path, tmp_path):
    nb = nbformat.read(path, as_version=4)
    first = next(c.source for c in nb.cells if c.cell_type == "code")
    guard = first.split("\n\n", 1)[0]
    assert guard.startswith("try:\n    import cinb\nexcept ModuleNotFoundError")
    # an interpreter that cannot see cinb: -I ignores the environment, -S the site-packages
    res = subprocess.run(["python3", "-I", "-S", "-c", guard], cwd=tmp_path, capture_output=True, text=True)
    assert res.returncode != 0
    assert "Python 3 (cinb)" in res.stderr and "scripts/lab.sh" in res.stderr


def test_notebooks_define_no_library_code():
    # attacks, metrics and sample paths come from cinb (style rule 14): none is redefined in a cell
    for path in NOTEBOOKS:
        src = "\n".join(c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code")
        for name in ("def jpeg(", "def resize(", "def crop(", "def rotate(", "def psnr(", '"../datasets/sample"'):
            assert name not in src, (path.name, name)


def _out(data: dict, output_type="display_data"):
    return nbformat.from_dict({"output_type": output_type, "data": data, "metadata": {}})


def _png_b64(img: Image.Image) -> str:
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return base64.b64encode(buf.getvalue()).decode()


def test_clean_drops_live_only_outputs_and_shrinks_photos():
    import numpy as np

    noisy = Image.fromarray(np.random.default_rng(0).integers(0, 256, (300, 400, 3), np.uint8))
    clear = Image.new("RGBA", (300, 200), (0, 0, 0, 0))
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3"},
                                            "widgets": {"state": {}}})
    cell = nbformat.v4.new_code_cell("x")
    cell.outputs = [
        nbformat.from_dict({"output_type": "stream", "name": "stderr", "text": "distributed.nanny - killing"}),
        nbformat.from_dict({"output_type": "stream", "name": "stdout", "text": "kept\n"}),
        _out({"text/plain": "  0%|", "application/vnd.jupyter.widget-view+json": {"model_id": "x"}}),
        _out({"image/png": _png_b64(noisy), "text/plain": "<Figure>"}),
        _out({"image/png": _png_b64(clear)}),
        _out({"image/png": _png_b64(noisy.resize((40, 30))), "image/jpeg": "c21hbGw=", "text/plain": "<PIL>"}),
        _out({"image/png": _png_b64(clear.resize((8, 8))), "image/jpeg": "c21hbGw="}),
    ]
    nb.cells = [cell]
    nbscript.clean(nb)
    assert nb.metadata["kernelspec"]["name"] == "cinb" and "widgets" not in nb.metadata
    kinds = [(o.output_type, o.get("name"), sorted(o.get("data", {}))) for o in cell.outputs]
    assert kinds == [("stream", "stdout", []), ("display_data", None, ["image/jpeg", "text/plain"]),
                     ("display_data", None, ["image/png"]),  # transparency stays PNG
                     ("display_data", None, ["image/jpeg", "text/plain"]),  # a picture twice: the smaller
                     ("display_data", None, ["image/png"])]  # ... unless the PNG has transparency
    jpeg = Image.open(io.BytesIO(base64.b64decode(cell.outputs[1].data["image/jpeg"])))
    assert jpeg.size == (400, 300)


def test_problems_reports_each_broken_rule(tmp_path):
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3"},
                                            "widgets": {}})
    cell = nbformat.v4.new_code_cell("x")
    cell.outputs = [nbformat.from_dict({"output_type": "stream", "name": "stderr", "text": "w"}),
                    _out({"application/vnd.jupyter.widget-view+json": {"model_id": "x"}}),
                    nbformat.from_dict({"output_type": "error", "ename": "E", "evalue": "v", "traceback": []}),
                    _out({"text/plain": "x" * 130_000})]
    nb.cells = [cell]
    path = tmp_path / "bad.ipynb"
    nbformat.write(nb, path)
    found = "\n".join(nbscript.problems(path))
    for text in ("not 'cinb'", "widget state", "stderr", "widget view", "error output", "130,"):
        assert text in found, (text, found)
    assert json.loads(path.read_text())["nbformat"] == 4
