"""The stage-family registry and ``parse_rule``.

Families register themselves from their own modules (:func:`register_family`); the registry imports
those modules on first use, as Pillow's ``Image.preinit``/``Image.init`` import its format plugins:
the core families first, the feature packages only when a rule names a family the core does not
know (and for :func:`families`). So ``import cinb`` stays light, and ``parse_rule`` still knows every
family without anyone importing the feature packages by hand.
"""

from __future__ import annotations

import dataclasses
import enum
import importlib
import threading
from collections import OrderedDict
from collections.abc import Callable
from fractions import Fraction
from urllib.parse import unquote

from ..caches import register_cache
from ..limits import LIMITS
from .grammar import bad
from .model import Rule, Stage

FamilyParser = Callable[[list[str]], Stage]
QueryParser = Callable[[str], Stage | None]

_FAMILIES: dict[str, FamilyParser] = {}
_QUERY_PARSERS: dict[str, QueryParser] = {}  # lower-case announcing key -> parser

#: Modules that register families on import: the core ones (imageMogr2/imageView2, style/, the info
#: stages), then the feature packages. A new family module adds its name here.
CORE_PLUGINS = ("cinb.rules.mogr2", "cinb.rules.style", "cinb.info")
PLUGINS = ("cinb.watermark.stages", "cinb.blind.stages", "cinb.compression.slim", "cinb.ai.stages",
           "cinb.ai.smartcrop")
_CORE, _ALL = 1, 2
_loaded = 0


def _load_plugins(level: int) -> None:
    """Import the plugin modules up to ``level`` (once; Python's import lock makes it thread-safe)."""
    global _loaded
    if _loaded >= level:
        return
    for name in CORE_PLUGINS + (PLUGINS if level >= _ALL else ()):
        importlib.import_module(name)
    _loaded = max(_loaded, level)


def register_family(prefix: str, parser: FamilyParser) -> None:
    """Teach ``parse_rule`` a stage family.

    Parameters
    ----------
    prefix : str
        ``"imageMogr2"`` (one segment) or ``"watermark/1"`` (two segments).
    parser : callable
        Receives the stage's segments after the prefix and returns a Stage.

    Examples
    --------
    >>> from cinb.rules.registry import families
    >>> sorted(p for p in families() if p.startswith("image"))[:2]
    ['imageAve', 'imageInfo']
    """
    _FAMILIES[prefix] = parser
    clear_parsed()


def unregister_family(prefix: str, *, where: Callable[[FamilyParser], bool] | None = None) -> bool:
    """Forget a stage family (the undo of :func:`register_family`).

    Parameters
    ----------
    prefix : str
        The prefix it was registered under.
    where : callable, optional
        ``where(parser) -> bool``: remove the family only when its parser passes, so a caller
        removes what it registered and leaves alone a family someone else registered since
        (``cinb.ai.endpoints.unregister_endpoint`` checks the parser's ``endpoint`` attribute).

    Returns
    -------
    bool
        Whether a family was removed (False: the prefix is not registered, or ``where`` said no).

    Examples
    --------
    >>> from cinb.rules.registry import families, parse_rule, register_family, unregister_family
    >>> register_family("flipDemo", lambda segments: parse_rule("imageMogr2/flip/vertical").stages[0])
    >>> str(parse_rule("flipDemo"))
    'imageMogr2/flip/vertical'
    >>> unregister_family("flipDemo"), "flipDemo" in families(), unregister_family("flipDemo")
    (True, False, False)
    """
    parser = _FAMILIES.get(prefix)
    if parser is None or (where is not None and not where(parser)):
        return False
    del _FAMILIES[prefix]
    clear_parsed()  # a cached rule of the family would still apply it
    return True


def register_query_parser(key: str, parser: QueryParser) -> None:
    """Teach ``parse_rule`` a rule CI writes as a query, announced by the item ``key=...``.

    CI's Pic-Operations pages write endpoint rules that way (``"rule": "ci-process=GoodsMatting"``,
    ``"ci-process=ImageTargetRec&detect-type=face&cover=1"``). A rule made only of ``key=value``
    items, one of them ``key`` (case-blind), is handed whole to ``parser``, which returns the
    stage (or None: not its rule). The feature package that owns the stages registers the parser
    on import (``cinb.ai.stages`` for ``ci-process``), so this layer imports nothing above it.

    Parameters
    ----------
    key : str
        The query key that announces the rule (``"ci-process"``).
    parser : callable
        ``parser(query_text) -> Stage | None``; a bad rule raises CIError -103.

    Examples
    --------
    >>> from cinb.rules.registry import parse_rule
    >>> str(parse_rule("ci-process=QRcode&cover=1"))
    'QRcode/cover/1'
    """
    _QUERY_PARSERS[key.strip().lower()] = parser
    clear_parsed()


#: Rules parsed from text, most recently used last: a batch applies one rule to every photo, and
#: parsing ``imageMogr2/thumbnail/512x512/quality/85!`` costs about 0.1 ms, as much as the rest of
#: a small thumbnail's Python. Only rules made wholly of immutable values are kept (frozen
#: dataclasses, tuples, numbers, strings), so every caller may share one; anything else (a stage
#: holding an image, a list) is parsed afresh each time. Emptied whenever a parser is registered.
_PARSED: OrderedDict[str, Rule] = OrderedDict()
_PARSED_MAX = 256
_parsed_lock = threading.Lock()


@register_cache
def clear_parsed() -> None:
    """Forget the cached parsed rules (registering a family or an imageMogr2 parameter calls this)."""
    with _parsed_lock:
        _PARSED.clear()


_ATOMS = (type(None), bool, int, float, complex, str, bytes, Fraction, enum.Enum, range)


def _immutable(value) -> bool:
    """Whether ``value`` is built only of immutable parts (so a cached Rule can be shared).

    Examples
    --------
    >>> from cinb.rules.registry import _immutable, parse_rule
    >>> _immutable(parse_rule("imageMogr2/thumbnail/300x/quality/80")), _immutable(([1],))
    (True, False)
    """
    if isinstance(value, _ATOMS):
        return True
    if isinstance(value, (tuple, frozenset)):
        return all(_immutable(v) for v in value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        params = getattr(type(value), "__dataclass_params__", None)
        if params is None or not params.frozen:
            return False
        return all(_immutable(getattr(value, f.name)) for f in dataclasses.fields(value))
    return False


def families() -> list[str]:
    """The registered family prefixes (every plugin module imported first)."""
    _load_plugins(_ALL)
    return sorted(_FAMILIES)


def _is_parameter(item: str) -> bool:
    """Whether a query item is ``key=value`` (a signature, a token) rather than a processing rule.

    Examples
    --------
    >>> from cinb.rules.registry import _is_parameter
    >>> _is_parameter("q-ak=AKID"), _is_parameter("imageMogr2/color/I0ZGRkZGRg=="), _is_parameter("exif")
    (True, False, False)
    """
    eq = item.find("=")
    return eq >= 0 and "/" not in item[:eq]


def _rule_text(rule: str) -> str:
    text = rule.strip()
    if text.startswith("?"):
        text = text[1:]
    if "&" in text:
        # A signed URL's query: the rule is the item that is no ``key=value``. A rule may hold '='
        # itself (padded Base64, ``color/I0ZGRkZGRg==``), but always after a '/'; a parameter's
        # '=' comes before any '/' (``q-signature=ab/c``).
        items = [i for i in text.split("&") if i and not _is_parameter(i)]
        if len(items) != 1:
            raise bad(f"cannot find one processing rule in query {rule!r}", rule)
        text = items[0]
    return unquote(text)


def _query_stage(rule: str) -> Stage | None:
    """The stage of a rule written as a query (:func:`register_query_parser`), or None."""
    text = rule.strip()
    if text.startswith("?"):
        text = text[1:]
    items = [i for i in text.split("&") if i]
    # A processing rule is never all ``key=value`` items: the query path costs nothing to the others.
    if not items or not all(_is_parameter(i) for i in items):
        return None
    _load_plugins(_ALL)
    for item in items:
        parser = _QUERY_PARSERS.get(unquote(item.partition("=")[0]).strip().lower())
        if parser is not None:
            return parser(text)
    return None


def _lookup(segments: list[str]) -> tuple[FamilyParser, list[str]] | None:
    """The parser of a stage's family and the segments it receives (two-segment prefixes first)."""
    if len(segments) >= 2 and f"{segments[0]}/{segments[1]}" in _FAMILIES:
        return _FAMILIES[f"{segments[0]}/{segments[1]}"], segments[2:]
    if segments[0] in _FAMILIES:
        return _FAMILIES[segments[0]], segments[1:]
    return None


def parse_stage(text: str) -> Stage:
    """Parse one stage (no ``|``)."""
    segments = text.split("/")
    _load_plugins(_CORE)
    found = _lookup(segments)
    if found is None:
        _load_plugins(_ALL)
        found = _lookup(segments)
    if found is not None:
        parser, args = found
        return parser(args)
    if segments[0] in {p.split("/")[0] for p in _FAMILIES}:
        arg = segments[1] if len(segments) > 1 else ""
        raise bad(f"unsupported {segments[0]} variant {arg!r}", f"{segments[0]}/{arg}")
    key = segments[0].partition("=")[0].strip().lower()
    if "=" in segments[0] and key in _QUERY_PARSERS:
        raise bad(f"{segments[0]!r}: a {key}=... query is a whole rule, not a pipeline stage "
                  "(a pipeline takes its slash form, e.g. QRcode/cover/1)", segments[0])
    raise bad(f"unknown processing family {segments[0]!r}", segments[0])


def parse_rule(rule: str | Rule) -> Rule:
    """Parse a CI processing rule into typed stages.

    Parameters
    ----------
    rule : str or Rule
        A processing string as CI takes it (``imageMogr2/...|watermark/2/...``), URL-encoded or
        not, optionally with a leading ``?`` or inside a signed URL's query.

    Returns
    -------
    Rule
        ``str(result)`` is the canonical form, which parses back to an equal Rule.

    Raises
    ------
    CIError
        Code -103 for a malformed rule, naming the offending token.

    Examples
    --------
    >>> from cinb.rules.registry import parse_rule
    >>> r = parse_rule("imageMogr2/thumbnail/300x/rotate/90|imageInfo")
    >>> len(r), str(r)
    (2, 'imageMogr2/thumbnail/300x/rotate/90|imageInfo')
    """
    if isinstance(rule, Rule):
        return rule
    if not isinstance(rule, str):
        raise bad(f"a rule must be a string, got {type(rule).__name__}", None)
    with _parsed_lock:
        cached = _PARSED.get(rule)
        if cached is not None:
            _PARSED.move_to_end(rule)
            return cached
    parsed = _parse(rule)
    if _immutable(parsed):
        with _parsed_lock:
            _PARSED[rule] = parsed
            while len(_PARSED) > _PARSED_MAX:
                _PARSED.popitem(last=False)
    return parsed


def _parse(rule: str) -> Rule:
    stage = _query_stage(rule)
    if stage is not None:
        return Rule((stage,))
    text = _rule_text(rule)
    if not text:
        return Rule(())
    parts = text.split("|")
    if len(parts) > LIMITS.max_stages:
        raise bad(f"a pipeline has at most {LIMITS.max_stages} stages, got {len(parts)}", text)
    stages = []
    for i, part in enumerate(parts):
        if not part:
            raise bad("empty pipeline stage (stray '|')", text)
        stage = parse_stage(part)
        if stage.terminal and i != len(parts) - 1:
            raise bad(f"{part.split('/')[0]} must be the last pipeline stage", part)
        stages.append(stage)
    return Rule(tuple(stages))
