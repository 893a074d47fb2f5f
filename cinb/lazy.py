"""Public names that load their module on first use (PEP 562), for ``cinb`` and ``cinb.ai``.

A package lists ``name -> defining module`` and calls :func:`lazy_names` at its end; ``import cinb``
then stays light, and ``cinb.process`` imports :mod:`cinb.engine` the first time it is looked up.

Examples
--------
>>> import sys, types
>>> from cinb.lazy import lazy_names
>>> pkg = types.ModuleType("demo_pkg")
>>> sys.modules["demo_pkg"] = pkg
>>> lazy_names("demo_pkg", {"dedent": "textwrap"})
>>> "dedent" in vars(pkg), pkg.dedent("  x"), "dedent" in vars(pkg)
(False, 'x', True)
>>> del sys.modules["demo_pkg"]
"""

from __future__ import annotations

import importlib
import sys
import types
from collections.abc import Mapping


class LazyPackage(types.ModuleType):
    """A package whose lazy name is also a submodule (``cinb.pic_operations``, ``cinb.ai.endpoints``).

    Importing the submodule sets the package attribute to the module; keep the function there
    instead, as an eager ``from .pic_operations import pic_operations`` would.
    """

    def __setattr__(self, name: str, value) -> None:
        table = vars(self).get("_LAZY", {})
        if name in table and isinstance(value, types.ModuleType) and value.__name__ == f"{self.__name__}.{name}":
            value = getattr(value, name)
        super().__setattr__(name, value)


def lazy_names(module_name: str, table: Mapping[str, str], *, submodules: bool = False) -> None:
    """Make the module's names in ``table`` load their defining module on first access.

    Parameters
    ----------
    module_name : str
        The package (``__name__`` of the caller); it must be in :data:`sys.modules`.
    table : mapping of str to str
        Public name -> the module that defines it under the same name.
    submodules : bool
        Also answer ``package.sub`` for a submodule not imported yet (``cinb.watermark``).
    """
    module = sys.modules[module_name]

    def __getattr__(name: str):
        target = table.get(name)
        if target is not None:
            value = getattr(importlib.import_module(target), name)
            vars(module)[name] = value  # later lookups skip this function
            return value
        if submodules and not name.startswith("_"):
            try:
                return importlib.import_module(f"{module_name}.{name}")
            except ModuleNotFoundError as exc:
                if exc.name != f"{module_name}.{name}":
                    raise
        raise AttributeError(f"module {module_name!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        return sorted(set(vars(module)) | set(table))

    vars(module).update(_LAZY=table, __getattr__=__getattr__, __dir__=__dir__)
    module.__class__ = LazyPackage
