"""Repository-wide pytest hooks.

Docstring examples under ``cinb/`` run (``--doctest-modules``, see pyproject.toml) as they would pasted
into a fresh notebook. pytest runs each example with a copy of its module's globals, so an example
could use a name its module imports without importing it itself; here every example starts from an
empty namespace instead: examples import what they use (house style rule 2).
"""

from __future__ import annotations

import doctest
import importlib.util

import pytest

#: Modules pytest must not import for their examples: the widget modules import ipywidgets at their top
#: (the ``jupyter`` extra), so without it they cannot be imported at all. Everything else in cinb/
#: imports with the base dependencies and is collected.
collect_ignore_glob: list[str] = []
if importlib.util.find_spec("ipywidgets") is None:
    collect_ignore_glob.append("cinb/widgets/[!_]*.py")

#: Packages of the optional extras (jupyter, dask, ai, bench): an example that needs a missing one is
#: skipped, as ``pytest.importorskip`` would skip a test.
OPTIONAL = {"ipywidgets", "matplotlib", "dask", "distributed", "rapidocr", "zxingcpp", "onnxruntime",
            "pyvips", "pywt"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if isinstance(item, pytest.DoctestItem) and item.dtest is not None:
            name = item.dtest.globs.get("__name__")
            item.dtest.globs.clear()
            item.dtest.globs["__name__"] = name


def _missing_extra(exc: BaseException) -> str | None:
    from cinb.errors import CONFIGURATION_MISSING, CIError

    if isinstance(exc, ModuleNotFoundError):
        top = (exc.name or "").split(".")[0]
        return top if top in OPTIONAL and importlib.util.find_spec(top) is None else None
    if isinstance(exc, CIError) and exc.code == CONFIGURATION_MISSING:  # cinb.ai.models.require
        return exc.message
    return None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item):
    try:
        return (yield)
    except doctest.UnexpectedException as failure:
        missing = _missing_extra(failure.exc_info[1]) if isinstance(item, pytest.DoctestItem) else None
        if missing is None:
            raise
        pytest.skip(f"needs an optional extra: {missing}")
