"""The registry of analyses: per-image functions and group (whole-collection) functions.

Every analysis is registered once, by name, with the columns it adds and their dtypes (Dask needs
them before anything runs). ``cinb.analyze`` resolves requested names (and aliases), adds what they
require, runs all per-image analyses in one parallel pass that decodes each image once, then the
group analyses on the combined table.

A later feature (e.g. an AI model) plugs in the same way and gets parallelism, progress, Dask and
per-row errors for free::

    from cinb.collection.analyses import register_analysis

    def faces(ctx, *, min_size=20):
        img = ctx.image(640)          # decoded once per image, shared with the other analyses
        return {"faces": count_faces(img, min_size)}

    register_analysis("faces", faces, columns={"faces": "Int64"}, defaults={"min_size": 20})

A model that is slow to load should be loaded lazily in a module-level cache, once per worker
(never in the parent before the pool starts; ``cinb.parallel.register_worker_init`` can drop a copy
a forked worker inherited). Models that run faster on several images at once give a ``batch_fn``,
called with up to ``analyze(..., batch_size=16)`` images; libraries that do not survive fork
(torch) declare ``fork_safe=False`` and ``analyze`` then starts its workers with spawn::

    def faces_batch(contexts, *, min_size=20):
        images = [ctx.rgb(640) for ctx in contexts]
        return [{"faces": n} for n in model().count(images, min_size)]

    register_analysis("faces", None, batch_fn=faces_batch, columns={"faces": "Int64"},
                      defaults={"min_size": 20}, fork_safe=False)
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from cinb.errors import BAD_PARAMETER, CIError


@dataclass(frozen=True)
class Analysis:
    """One registered analysis.

    Attributes
    ----------
    name : str
        Registry name, used in ``analyze(df, name)``.
    fn : callable
        ``kind="image"``: ``fn(ctx: ImageContext, **options) -> dict`` of column values for one image.
        ``kind="group"``: ``fn(df: pandas.DataFrame, **options) -> pandas.DataFrame`` of new columns
        indexed like ``df`` (it sees every row, after the per-image pass).
    columns : dict
        ``{column: dtype}`` the analysis adds.
    kind : str
        ``"image"`` or ``"group"``.
    requires : tuple of str
        Analyses whose columns this one reads (run first unless their columns already exist).
    defaults : dict
        Default options (thresholds...), overridable with ``analyze(..., options={name: {...}})``.
    description : str
        One line for ``list_analyses()``.
    batch_fn : callable, optional
        ``kind="image"`` only: ``batch_fn(contexts: list[ImageContext], **options) -> list`` with one
        column dict (or an exception instance, that row's error) per image; ``analyze`` calls it once
        per batch of rows. If it raises, each image of the batch goes alone through ``fn`` (by
        default ``batch_fn([ctx])``), so only the images that fail alone get an error.
    fork_safe : bool
        False for an analysis using a library that does not survive ``fork()`` (torch, an ONNX Runtime
        session): ``analyze`` then runs it in a spawn pool (or inline) and refuses ``pool="fork"``.
    check_options : callable, optional
        ``check_options(options)`` raises CIError for a malformed option value; ``analyze`` calls it
        once before any image, so a bad value refuses the call instead of failing every row.
    """

    name: str
    fn: Callable[..., Any]
    columns: Mapping[str, Any]
    kind: str = "image"
    requires: tuple[str, ...] = ()
    defaults: Mapping[str, Any] = field(default_factory=dict)
    description: str = ""
    batch_fn: Callable[..., Any] | None = None
    fork_safe: bool = True
    check_options: Callable[[Mapping[str, Any]], None] | None = None

    def run(self, ctx: Any, **options: Any) -> dict:
        """This analysis on one image."""
        return self.fn(ctx, **options)


class _BatchOfOne:
    """The per-image ``fn`` of an analysis registered with only a ``batch_fn`` (picklable for spawn
    workers as long as ``batch_fn`` is)."""

    def __init__(self, batch_fn: Callable[..., Any]):
        self.batch_fn = batch_fn

    def __call__(self, ctx: Any, **options: Any) -> dict:
        (out,) = self.batch_fn([ctx], **options)
        if isinstance(out, BaseException):
            raise out
        return out


_REGISTRY: dict[str, Analysis] = {}
_ALIASES: dict[str, str] = {}
_PRESETS: dict[str, tuple[str, ...]] = {}

#: Modules whose analyses register on import, loaded on the first lookup of a name not registered yet
#: (and by ``list_analyses``), Pillow's plugin habit: they need the AI layer (OpenCV, every endpoint
#: module), which ``cinb.apply`` and ``cinb.scan`` never use. Importing them in the process that forks
#: a thumbnail pool made each worker's RSS 98 MB instead of 69 MB (benchmarks/RESULTS.md, thumbnails).
PLUGINS: tuple[str, ...] = ("cinb.collection.analyses.quality", "cinb.collection.analyses.embedding",
                            "cinb.collection.analyses.endpoints")
_plugins_loaded = False


def _load_plugins() -> None:
    """Import :data:`PLUGINS` once. An analysis registered before under the same name keeps its place:
    the caller registered it after importing ``cinb.collection``, when the plugins used to load."""
    global _plugins_loaded
    if _plugins_loaded:
        return
    _plugins_loaded = True
    before = dict(_REGISTRY)
    for module in PLUGINS:
        importlib.import_module(module)
    _REGISTRY.update(before)


def register_analysis(name: str, fn: Callable[..., Any] | None, *, columns: Mapping[str, Any], kind: str = "image",
                      requires: tuple[str, ...] | list[str] = (), defaults: Mapping[str, Any] | None = None,
                      description: str = "", aliases: tuple[str, ...] | list[str] = (),
                      batch_fn: Callable[..., Any] | None = None, fork_safe: bool = True,
                      check_options: Callable[[Mapping[str, Any]], None] | None = None) -> Analysis:
    """Add (or replace) an analysis in the registry.

    Parameters
    ----------
    name : str
        Registry name.
    fn : callable or None
        See :class:`Analysis`. None for an image analysis given only as ``batch_fn``: ``fn`` then runs
        a batch of one.
    columns : mapping
        ``{column: dtype}`` the analysis adds (``int``/``bool`` mean nullable Int64/boolean).
    kind : {"image", "group"}
        Per-image or whole-collection.
    requires : sequence of str
        Other analyses this one needs.
    defaults : mapping, optional
        Default options.
    description : str
        One line of help.
    aliases : sequence of str
        Other names that select this analysis.
    batch_fn : callable, optional
        A function over a list of images (model throughput), see :class:`Analysis`.
    fork_safe : bool
        False if the analysis must not run in a forked worker (see :class:`Analysis`).
    check_options : callable, optional
        Validates the options once per call (see :class:`Analysis`).

    Returns
    -------
    Analysis

    Examples
    --------
    >>> from cinb.collection.analyses.registry import get_analysis, register_analysis, unregister_analysis
    >>> def width_parity(ctx):
    ...     return {"even_width": ctx.header().width % 2 == 0}
    >>> a = register_analysis("width_parity", width_parity, columns={"even_width": bool})
    >>> get_analysis("width_parity").columns
    {'even_width': <class 'bool'>}
    >>> unregister_analysis("width_parity")
    """
    if kind not in ("image", "group"):
        raise CIError(f"analysis kind must be 'image' or 'group', got {kind!r}", code=BAD_PARAMETER, token=kind)
    if kind == "group" and (fn is None or batch_fn is not None):
        raise CIError(f"group analysis {name!r} takes fn (a function of the whole table), not batch_fn",
                      code=BAD_PARAMETER, token=name)
    for given, what in ((fn, "fn"), (batch_fn, "batch_fn")):
        if given is not None and not callable(given):
            raise CIError(f"analysis {name!r}: {what} must be callable, not {type(given).__name__}",
                          code=BAD_PARAMETER, token=name)
    if fn is None:
        if batch_fn is None:
            raise CIError(f"analysis {name!r} needs fn or batch_fn", code=BAD_PARAMETER, token=name)
        fn = _BatchOfOne(batch_fn)
    analysis = Analysis(name=name, fn=fn, columns=dict(columns), kind=kind, requires=tuple(requires),
                        defaults=dict(defaults or {}), description=description, batch_fn=batch_fn,
                        fork_safe=bool(fork_safe), check_options=check_options)
    _REGISTRY[name] = analysis
    for alias in aliases:
        _ALIASES[alias] = name
    return analysis


def unregister_analysis(name: str) -> None:
    """Remove an analysis (and its aliases) from the registry."""
    _REGISTRY.pop(name, None)
    for alias in [a for a, n in _ALIASES.items() if n == name]:
        del _ALIASES[alias]


def register_preset(name: str, names: tuple[str, ...] | list[str]) -> None:
    """A name that expands to several analyses (e.g. ``issues``)."""
    _PRESETS[name] = tuple(names)


def get_analysis(name: str) -> Analysis:
    """Look an analysis up by name or alias.

    Examples
    --------
    >>> from cinb.collection.analyses.registry import get_analysis
    >>> get_analysis("nope")
    Traceback (most recent call last):
    ...
    cinb.errors.CIError: unknown analysis 'nope'; known: ... (X-ErrNo -103)
    """
    key = _ALIASES.get(name, name)
    if key not in _REGISTRY and not _plugins_loaded:
        _load_plugins()
        key = _ALIASES.get(name, name)
    if key not in _REGISTRY:
        known = ", ".join(sorted(set(_REGISTRY) | set(_ALIASES) | set(_PRESETS))) or "..."
        raise CIError(f"unknown analysis {name!r}; known: {known}", code=BAD_PARAMETER, token=name)
    return _REGISTRY[key]


def list_analyses() -> dict[str, str]:
    """``{name: description}`` of every registered analysis.

    Examples
    --------
    >>> from cinb.collection.analyses.registry import list_analyses
    >>> import cinb.collection.analyses
    >>> "phash" in list_analyses()
    True
    """
    _load_plugins()
    return {name: a.description for name, a in sorted(_REGISTRY.items())}


def resolve(names: tuple[str, ...] | list[str], existing_columns=()) -> tuple[list[Analysis], list[Analysis]]:
    """Requested names -> (per-image analyses, group analyses) in dependency order.

    A requirement whose columns are already in the table is not recomputed; an analysis that was
    asked for by name always runs.

    Examples
    --------
    >>> from cinb.collection.analyses.registry import resolve
    >>> import cinb.collection.analyses
    >>> image, group = resolve(["near_duplicates"])
    >>> [a.name for a in image], [a.name for a in group]
    (['phash'], ['near_duplicates'])
    """
    existing = set(existing_columns)
    requested: list[str] = []
    for name in names:
        requested.extend(_PRESETS.get(name, (name,)))
    order: list[Analysis] = []
    seen: set[str] = set()
    asked = {get_analysis(n).name for n in requested}

    def visit(name: str, stack: tuple[str, ...]) -> None:
        analysis = get_analysis(name)
        if analysis.name in seen:
            return
        if analysis.name in stack:
            raise CIError(f"analysis {analysis.name!r} requires itself", code=BAD_PARAMETER, token=name)
        if analysis.name not in asked and analysis.columns and set(analysis.columns) <= existing:
            seen.add(analysis.name)  # already computed earlier: reuse its columns
            return
        for req in analysis.requires:
            visit(req, stack + (analysis.name,))
        seen.add(analysis.name)
        order.append(analysis)

    for name in requested:
        visit(name, ())
    return [a for a in order if a.kind == "image"], [a for a in order if a.kind == "group"]
