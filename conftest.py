"""Repository-wide pytest hooks.

Docstring examples under ``cinb/`` run (``--doctest-modules``, see pyproject.toml) as they would pasted
into a fresh notebook. pytest runs each example with a copy of its module's globals, so an example
could use a name its module imports without importing it itself; here every example starts from an
empty namespace instead: examples import what they use (house style rule 2).
"""

from __future__ import annotations

import importlib.util

import pytest

#: Modules pytest must not import for their examples: the widget modules import ipywidgets at their top
#: (the ``jupyter`` extra), so without it they cannot be imported at all. Everything else in cinb/
#: imports with the base dependencies and is collected.
collect_ignore_glob: list[str] = []
if importlib.util.find_spec("ipywidgets") is None:
    collect_ignore_glob.append("cinb/widgets/[!_]*.py")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if isinstance(item, pytest.DoctestItem) and item.dtest is not None:
            name = item.dtest.globs.get("__name__")
            item.dtest.globs.clear()
            item.dtest.globs["__name__"] = name
