"""cinb's modules form layers; a module imports only from its own layer or lower ones.

The order, low to high (docs/architecture.md, "Layers"):

0. base: errors, limits, formats, settings, tokens, fileio, caches, data, lazy (no cinb imports but these)
1. model: canvas, result
2. ops, codecs (ops build canvases; codecs encode them; ``EncodeOptions`` lives in codecs)
3. rules, decode, header, imageinput (the grammar builds ops and carries encode options)
4. engine, info, styles, pic_operations
5. parallel (the process pool: a utility for features and collections)
6. features: watermark, blind, compression, ai
7. applications: collection, cli, widgets, display, lab

The package root (``cinb/__init__.py``) stands above all: nothing inside cinb imports it. Imports
inside functions count as much as those at module top: a function-level import of a higher layer is
the same upward dependency, only hidden.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "cinb"

#: Layers, low to high: module prefixes (the longest matching prefix decides).
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("base", ("cinb.errors", "cinb.limits", "cinb.formats", "cinb.settings", "cinb.tokens", "cinb.fileio",
              "cinb.caches", "cinb.data", "cinb.lazy")),
    ("model", ("cinb.canvas", "cinb.result")),
    ("ops, codecs", ("cinb.ops", "cinb.codecs")),
    ("rules, decode", ("cinb.rules", "cinb.decode", "cinb.header", "cinb.imageinput")),
    ("engine", ("cinb.engine", "cinb.info", "cinb.styles", "cinb.pic_operations")),
    ("parallel", ("cinb.parallel",)),
    ("features", ("cinb.watermark", "cinb.blind", "cinb.compression", "cinb.ai")),
    ("applications", ("cinb.collection", "cinb.cli", "cinb.widgets", "cinb.display", "cinb.lab", "cinb.__main__")),
]
ROOT = len(LAYERS)  # the package root, ``import cinb``

#: What ``import cinb`` must not load: heavy optional dependencies, and pandas/pyarrow (collections).
HEAVY = ("onnxruntime", "torch", "transformers", "rapidocr", "rapidocr_onnxruntime", "ipywidgets", "dask",
         "distributed", "matplotlib", "pyvips", "pandas", "pyarrow")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def is_module(name: str) -> bool:
    rel = Path(*name.split("."))
    return (PACKAGE.parent / rel).with_suffix(".py").is_file() or (PACKAGE.parent / rel / "__init__.py").is_file()


def layer_of(name: str) -> int:
    if name == "cinb":
        return ROOT
    best, found = -1, None
    for i, (_, prefixes) in enumerate(LAYERS):
        for p in prefixes:
            if (name == p or name.startswith(p + ".")) and len(p) > best:
                best, found = len(p), i
    if found is None:
        raise LookupError(name)
    return found


def cinb_imports(path: Path, name: str | None = None):
    """(line, imported module) for every ``cinb`` import in a file, at any depth."""
    name = name or module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "cinb" or alias.name.startswith("cinb."):
                    yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if not (target == "cinb" or target.startswith("cinb.")):
                continue
            for alias in node.names:  # ``from cinb import blind`` imports the module cinb.blind
                sub = f"{target}.{alias.name}"
                yield node.lineno, sub if is_module(sub) else target


def all_modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def test_every_module_has_a_layer():
    missing = [module_name(p) for p in all_modules() if module_name(p) != "cinb" and not _has_layer(module_name(p))]
    assert not missing, f"modules without a layer (add them to LAYERS and docs/architecture.md): {missing}"


def _has_layer(name: str) -> bool:
    try:
        layer_of(name)
    except LookupError:
        return False
    return True


def test_no_module_imports_a_higher_layer():
    upward = []
    for path in all_modules():
        name = module_name(path)
        if name == "cinb":
            continue  # the root re-exports everything (lazily)
        if not _has_layer(name):
            continue  # reported by test_every_module_has_a_layer
        own = layer_of(name)
        for line, target in cinb_imports(path):
            try:
                theirs = layer_of(target)
            except LookupError:
                continue
            if theirs > own:
                upper = "the package root" if theirs == ROOT else f"layer {LAYERS[theirs][0]!r}"
                upward.append(f"{path.relative_to(PACKAGE.parent)}:{line}: {name} ({LAYERS[own][0]}) "
                              f"imports {target} ({upper})")
    assert not upward, "upward imports:\n" + "\n".join(upward)


def test_the_checker_sees_function_level_and_relative_imports(tmp_path):
    # the test above would pass vacuously if the parser missed these forms
    src = tmp_path / "mod.py"
    src.write_text("from __future__ import annotations\n"
                   "import os\n"
                   "from ..canvas import Canvas\n"
                   "from . import jpeg\n"
                   "def f():\n"
                   "    import cinb.engine\n"
                   "    if True:\n"
                   "        from cinb import blind, CIError\n"
                   "class C:\n"
                   "    def g(self):\n"
                   "        from .. import cli\n", encoding="utf-8")
    found = sorted(cinb_imports(src, "cinb.codecs.mod"))
    assert found == [(3, "cinb.canvas"), (4, "cinb.codecs.jpeg"), (6, "cinb.engine"), (8, "cinb"),
                     (8, "cinb.blind"), (11, "cinb.cli")], found
    assert layer_of("cinb.rules.mogr2") > layer_of("cinb.ops.scaling") > layer_of("cinb.canvas")
    assert layer_of("cinb.collection.cli") > layer_of("cinb.compression.slim") > layer_of("cinb.engine")
    assert layer_of("cinb") == ROOT
    with pytest.raises(LookupError):
        layer_of("cinb.nowhere")


def test_import_cinb_loads_no_heavy_dependency():
    code = f"import sys, cinb; print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"import cinb loaded: {out.stdout.strip()}"


def test_public_names_resolve_lazily():
    code = ("import cinb\n"
            "names = ['process', 'Result', 'parse_rule', 'Rule', 'image_info', 'exif', 'image_ave', 'Styles',\n"
            "         'CIError', 'pic_operations', 'scan', 'apply', 'analyze', '__version__']\n"
            "missing = [n for n in names if getattr(cinb, n, None) is None]\n"
            "assert not missing, missing\n"
            "assert set(names) - {'__version__'} <= set(dir(cinb))\n"
            "import pandas as pd\n"
            "assert hasattr(pd.DataFrame({'path': []}), 'ci')  # cinb.scan & co. imported the collection layer\n"
            "print('ok')\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "ok", out.stderr


def test_unknown_attribute_is_an_attribute_error():
    import cinb

    with pytest.raises(AttributeError, match="no_such_name"):
        cinb.no_such_name  # noqa: B018


def test_a_public_function_named_like_its_module_stays_a_function():
    # importing the submodule first (as the CLI does) must not turn cinb.pic_operations into a module
    code = ("import cinb.pic_operations, cinb.cli, cinb\n"
            "assert callable(cinb.pic_operations) and cinb.pic_operations.__module__ == 'cinb.pic_operations'\n"
            "import cinb.watermark\n"
            "assert cinb.watermark.__name__ == 'cinb.watermark'\n"
            "print('ok')\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "ok", out.stderr


def test_subpackages_are_attributes_of_the_root_on_first_use():
    code = "import cinb; print(cinb.compression.__name__, cinb.watermark.__name__)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.split() == ["cinb.compression", "cinb.watermark"], out.stderr


def _top_level_imports(path: Path) -> set[str]:
    """The cinb modules a file imports when it is imported (module top, not under TYPE_CHECKING)."""
    name = module_name(path)
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    body: list[ast.stmt] = []
    pending = list(tree.body)
    while pending:
        node = pending.pop()
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            continue
        if isinstance(node, (ast.If, ast.Try)):
            pending += node.body + node.orelse + [s for h in getattr(node, "handlers", []) for s in h.body]
        else:
            body.append(node)
    lines = {node.lineno for node in body if isinstance(node, (ast.Import, ast.ImportFrom))}
    return {target for line, target in cinb_imports(path, name) if line in lines}


def test_no_import_cycle_among_modules():
    # same-layer imports are allowed; a cycle among them would make import order matter
    graph = {module_name(p): _top_level_imports(p) for p in all_modules()}
    state: dict[str, int] = {}  # 1 on the current path, 2 done
    path: list[str] = []

    def visit(v: str) -> list[str] | None:
        state[v] = 1
        path.append(v)
        for w in sorted(graph.get(v, ())):
            if w not in graph:
                continue
            if state.get(w) == 1:
                return path[path.index(w):] + [w]
            if w not in state:
                found = visit(w)
                if found:
                    return found
        path.pop()
        state[v] = 2
        return None

    for v in sorted(graph):
        if v not in state:
            cycle = visit(v)
            assert cycle is None, "import cycle: " + " -> ".join(cycle)
