"""The endpoint registry: one declaration per CI ``ci-process`` endpoint (spec §19).

An endpoint is declared once, in its own module, with :func:`register_endpoint`. Everything else is
derived from that declaration:

- ``cinb.ci_process(src, "Name", **params)`` and pasted queries (``"ci-process=Name&k=v"``);
- the rule form Pic-Operations uses (``QRcode/cover/1``), when ``rule`` is set;
- the collection analysis ``cinb.analyze(df, "<analysis>")`` with flat, typed columns, when
  ``analysis`` is set;
- the command ``cinb ai Name INPUT k=v ...``.

Parameters are declared with CI's spelling (``max-face-num``); Python callers may use the
underscore form (``max_face_num``). Values arrive as query text or as Python values and are
checked by the parameter's parser, so a bad value is a ``CIError`` (-103) naming the parameter.

Examples
--------
>>> from cinb.ai.endpoints import Answer, Endpoint, int_param, register_endpoint, get_endpoint, unregister_endpoint
>>> def echo(inp, *, times):
...     return Answer({"Times": times})
>>> ep = register_endpoint(Endpoint("EchoDemo", echo, params=(int_param("times", 1, lo=1, hi=3),)))
>>> get_endpoint("echodemo").name, ep.parse_params({"times": "2"})
('EchoDemo', {'times': 2})
>>> unregister_endpoint("EchoDemo")
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from PIL import Image

from ..canvas import Canvas
from ..errors import BAD_PARAMETER, CIError

#: Modules that declare endpoints, imported on first lookup (Pillow's plugin habit: ``import cinb``
#: stays fast and a new endpoint is one module plus one line here).
PLUGINS: tuple[str, ...] = ("cinb.ai.inspect", "cinb.ai.qrcode", "cinb.ai.ocr", "cinb.ai.tagging",
                            "cinb.ai.aigc",
                            "cinb.ai.quality", "cinb.ai.search",
                            "cinb.ai.faces", "cinb.ai.smartcrop",
                            "cinb.ai.faceeffect",
                            "cinb.ai.objects", "cinb.ai.vehicles", "cinb.ai.logos",
                            "cinb.ai.idcard",
                            "cinb.ai.matting", "cinb.ai.repair",
                            "cinb.ai.superres", "cinb.ai.enhance", "cinb.ai.coloring",
                            "cinb.ai.gamerec", "cinb.ai.targetrec")


@dataclass(frozen=True)
class Param:
    """One request parameter of an endpoint.

    Attributes
    ----------
    name : str
        CI's spelling (``cover``, ``max-face-num``).
    parse : callable
        ``parse(value) -> typed value``; receives query text or a Python value, raises CIError.
    default : object
        Used when the request does not give the parameter (``required`` ones have none).
    required : bool
        The request must give it.
    doc : str
        One line for help texts.
    """

    name: str
    parse: Callable[[Any], Any]
    default: Any = None
    required: bool = False
    doc: str = ""

    @property
    def python_name(self) -> str:
        """The keyword-argument spelling: ``max-face-num`` -> ``max_face_num``."""
        return self.name.replace("-", "_")


def _bad(name: str, value: Any, expected: str) -> CIError:
    return CIError(f"parameter {name}={value!r}: expected {expected}", code=BAD_PARAMETER, token=f"{name}={value}")


def int_param(name: str, default: int | None = None, *, lo: int | None = None, hi: int | None = None,
              required: bool = False, doc: str = "") -> Param:
    """An integer parameter within ``[lo, hi]``.

    Examples
    --------
    >>> from cinb.ai.endpoints import int_param
    >>> p = int_param("max-face-num", 1, lo=1, hi=120)
    >>> p.parse("5"), p.python_name
    (5, 'max_face_num')
    >>> p.parse("0")
    Traceback (most recent call last):
    ...
    cinb.errors.CIError: parameter max-face-num='0': expected an integer from 1 to 120 (X-ErrNo -103)
    """
    span = f"an integer from {lo} to {hi}" if lo is not None and hi is not None else "an integer"

    def parse(value: Any) -> int:
        if isinstance(value, bool):
            raise _bad(name, value, span)
        try:
            number = int(value) if isinstance(value, int) else int(str(value).strip(), 10)
        except (TypeError, ValueError):
            raise _bad(name, value, span) from None
        if (lo is not None and number < lo) or (hi is not None and number > hi):
            raise _bad(name, value, span)
        return number

    return Param(name, parse, default, required, doc)


def bool_param(name: str, default: bool = False, *, doc: str = "") -> Param:
    """A CI switch: ``0``/``1`` (also ``true``/``false`` and Python booleans).

    Examples
    --------
    >>> from cinb.ai.endpoints import bool_param
    >>> bool_param("cover").parse("1"), bool_param("cover").parse(False)
    (True, False)
    """

    def parse(value: Any) -> bool:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("1", "true"):
            return True
        if text in ("0", "false"):
            return False
        raise _bad(name, value, "0 or 1")

    return Param(name, parse, default, False, doc)


def choice_param(name: str, choices: tuple[str, ...], default: str | None = None, *, required: bool = False,
                 case_sensitive: bool = False, doc: str = "") -> Param:
    """One of a fixed set of words (CI's spelling is returned).

    Examples
    --------
    >>> from cinb.ai.endpoints import choice_param
    >>> choice_param("type", ("general", "accurate")).parse("Accurate")
    'accurate'
    """

    def parse(value: Any) -> str:
        text = str(value).strip()
        for choice in choices:
            if text == choice or (not case_sensitive and text.lower() == choice.lower()):
                return choice
        raise _bad(name, value, "one of " + ", ".join(choices))

    return Param(name, parse, default, required, doc)


def choice_list(value: Any, name: str, choices: tuple[str, ...], *, aliases: dict[str, str] | None = None,
                in_choice_order: bool = False) -> tuple[str, ...]:
    """A comma list of words from ``choices`` (CI's ``scenes=web,camera``, ``detect-type=car,face``); a list or
    tuple is taken as given. Case-blind, ``aliases`` mapped first, repeats dropped; in the order given, or in
    ``choices``' order. An unknown word or an empty list is -103.

    Examples
    --------
    >>> from cinb.ai.endpoints import choice_list
    >>> choice_list("Face, car,face", "detect-type", ("car", "face"))
    ('face', 'car')
    >>> choice_list("face,car", "detect-type", ("car", "face"), in_choice_order=True)
    ('car', 'face')
    """
    words = value if isinstance(value, (list, tuple)) else str(value).split(",")
    out: list[str] = []
    for word in words:
        key = str(word).strip().lower()
        key = (aliases or {}).get(key, key)
        if key not in choices:
            raise CIError(f"parameter {name}={value!r}: {word!r} is not one of {', '.join(choices)}",
                          code=BAD_PARAMETER, token=f"{name}={value}")
        if key not in out:
            out.append(key)
    if not out:
        raise CIError(f"parameter {name} is empty", code=BAD_PARAMETER, token=name)
    return tuple(c for c in choices if c in out) if in_choice_order else tuple(out)


def str_param(name: str, default: str | None = None, *, required: bool = False, doc: str = "") -> Param:
    """Free text (non-empty when given)."""

    def parse(value: Any) -> str:
        text = str(value)
        if not text:
            raise _bad(name, value, "a non-empty value")
        return text

    return Param(name, parse, default, required, doc)


def local_path(value: Any, name: str) -> str:
    """A parameter naming a local file or folder (cinb's extensions ``library``, ``logos``, ``MaskPic``).

    Only the path is checked, not what it names (missing is the caller's to report): text the OS
    cannot take as a path (empty, a NUL byte, over the name-length limits, behind a folder it may
    not enter) is a CIError -103 naming the parameter instead of the ``ValueError``/``OSError`` the
    first file-system call would raise.

    Examples
    --------
    >>> from cinb.ai.endpoints import local_path
    >>> local_path("/no/such/folder", "library")
    '/no/such/folder'
    >>> local_path("9" * 5000, "library")
    Traceback (most recent call last):
    ...
    cinb.errors.CIError: parameter library='99999999999...': expected a local path (File name too long) (X-ErrNo -103)
    """
    if not isinstance(value, (str, os.PathLike)):
        raise _bad(name, value, "a local path")
    text = os.fspath(value)
    if not isinstance(text, str) or not text or "\x00" in text:
        raise _bad(name, _short(text), "a local path")
    try:
        os.stat(text)
    except (FileNotFoundError, NotADirectoryError):
        pass
    except (OSError, ValueError) as exc:  # ENAMETOOLONG, ELOOP, EACCES, EIO...: nothing to read or write there
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise _bad(name, _short(text), f"a local path ({reason})") from None
    return text


def _short(text: Any) -> Any:
    return text[:11] + "..." if isinstance(text, str) and len(text) > 40 else text


@dataclass
class Answer:
    """What an endpoint function returns.

    Attributes
    ----------
    response : dict
        CI's response fields with CI's names and typed values (numbers, booleans, lists for
        repeated elements).
    image : PIL.Image.Image or Canvas, optional
        For image-returning endpoints: the processed image (encoded by the layer).
    format : str, optional
        Output format for ``image`` (default: PNG when it has alpha, else the source's format).
    info : dict
        cinb's diagnostics (model used, timings...), reported in ``Result.info``.
    """

    response: dict
    image: Image.Image | Canvas | None = None
    format: str | None = None
    info: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Endpoint:
    """One ``ci-process`` endpoint, declared once.

    Attributes
    ----------
    name : str
        CI's ``ci-process`` value (``QRcode``, ``OCR``, ``ImageInspect``); looked up case-insensitively.
    run : callable
        ``run(inp: cinb.imageinput.ImageInput, **params) -> Answer``; params by ``Param.python_name``.
    params : tuple of Param
        The parameters CI documents for it.
    kind : {"json", "image"}
        JSON answer, or an image (with the response fields in ``Result.response``).
    root : str
        XML root of CI's response (``Response`` or ``RecognitionResult``).
    xml_booleans : (str, str)
        How CI's XML spells true/false for this endpoint (``("TRUE", "FALSE")`` where its
        documentation's example does).
    aliases : tuple of str
        Other request names (``imageInspect``, the bare-key form).
    rule : str, optional
        Prefix of the rule form (``QRcode`` for ``QRcode/cover/1`` in Pic-Operations).
    analysis : str, optional
        Analysis name for collections (``qrcode``).
    columns : mapping
        ``{column: dtype}`` that ``flatten`` produces for the analysis.
    flatten : callable, optional
        ``flatten(response) -> {column: value}``, or ``flatten(response, info)`` (two parameters)
        when a column comes from the Answer's ``info`` rather than CI's response.
    models : tuple of str
        Names in ``cinb.ai.models`` the endpoint loads (listed in the model table).
    fork_safe : bool
        False when its models must not be used in forked workers (torch): analyses then spawn.
    shapes : callable, optional
        ``shapes(response) -> [(points, label), ...]``: what ``df.ci.show`` draws on a thumbnail
        for this endpoint's answer (polygons or boxes as ``[(x, y), ...]`` in upright image pixels).
    takes_image : bool
        False for endpoints that make an image from parameters alone (``qrcode-generate``):
        ``ci_process(None, name, ...)``, and ``run`` receives ``inp=None``.
    description : str
        One line of help.
    """

    name: str
    run: Callable[..., Answer]
    params: tuple[Param, ...] = ()
    kind: str = "json"
    root: str = "Response"
    xml_booleans: tuple[str, str] = ("true", "false")
    aliases: tuple[str, ...] = ()
    rule: str | None = None
    analysis: str | None = None
    columns: Mapping[str, Any] = field(default_factory=dict)
    flatten: Callable[[dict], dict] | None = None
    models: tuple[str, ...] = ()
    fork_safe: bool = True
    shapes: Callable[[dict], list] | None = None
    takes_image: bool = True
    description: str = ""

    def __post_init__(self):
        if self.kind not in ("json", "image"):
            raise CIError(f"endpoint kind must be 'json' or 'image', got {self.kind!r}", code=BAD_PARAMETER)
        names = [p.name for p in self.params]
        if len(set(names)) != len(names):
            raise CIError(f"endpoint {self.name} declares a parameter twice", code=BAD_PARAMETER)
        if self.analysis and self.flatten is None:
            raise CIError(f"endpoint {self.name}: an analysis needs flatten()", code=BAD_PARAMETER)

    def param(self, name: str) -> Param:
        """The parameter called ``name`` (CI or Python spelling); CIError -103 if unknown."""
        for p in self.params:
            if name in (p.name, p.python_name):
                return p
        known = ", ".join(p.name for p in self.params) or "none"
        raise CIError(f"{self.name} has no parameter {name!r} (it takes: {known})", code=BAD_PARAMETER,
                      token=name)

    def parse_params(self, given: Mapping[str, Any]) -> dict[str, Any]:
        """Check ``given`` (CI or Python names, text or values) -> ``{python_name: value}`` with defaults."""
        out: dict[str, Any] = {}
        for key, value in given.items():
            p = self.param(key)
            if p.python_name in out:
                raise CIError(f"{self.name}: parameter {p.name} given twice", code=BAD_PARAMETER, token=p.name)
            out[p.python_name] = p.parse(value)
        for p in self.params:
            if p.python_name not in out:
                if p.required:
                    raise CIError(f"{self.name} needs parameter {p.name}", code=BAD_PARAMETER, token=p.name)
                out[p.python_name] = p.default
        return out


_ENDPOINTS: dict[str, Endpoint] = {}
_NAMES: dict[str, str] = {}  # lower-case name or alias -> canonical name
_loaded = False


def register_endpoint(endpoint: Endpoint) -> Endpoint:
    """Add (or replace) an endpoint; endpoint modules call this on import.

    Returns
    -------
    Endpoint
        The same declaration (so a module can keep it as a constant).
    """
    _ENDPOINTS[endpoint.name] = endpoint
    for name in (endpoint.name, *endpoint.aliases):
        _NAMES[name.lower()] = endpoint.name
    return endpoint


def unregister_endpoint(name: str) -> None:
    """Remove an endpoint and everything derived from it: its aliases, its rule form
    (``cinb.ai.stages.register_rule_form``) and its collection analysis
    (``cinb.collection.analyses.endpoints.register_endpoint_analysis``).

    A rule family or an analysis registered under the same name by something else is left alone; a
    name that is not registered is nothing to do.

    Examples
    --------
    >>> from cinb.ai.endpoints import Answer, Endpoint, register_endpoint, unregister_endpoint
    >>> from cinb.ai.stages import register_rule_form
    >>> from cinb.rules.registry import families
    >>> register_rule_form(register_endpoint(Endpoint("GoneDemo", lambda inp: Answer({}), rule="GoneDemo")))
    >>> unregister_endpoint("GoneDemo")
    >>> "GoneDemo" in families()
    False
    """
    ep = _ENDPOINTS.pop(name, None)
    if ep is None:
        return
    for alias in (ep.name, *ep.aliases):
        if _NAMES.get(alias.lower()) == ep.name:
            _NAMES.pop(alias.lower(), None)
    _forget_derived(ep)


def _forget_derived(ep: Endpoint) -> None:
    """Remove ``ep``'s rule form and analysis where they are registered (only modules already imported are
    looked at: unregistering never loads the rules or the collection layer)."""
    import sys  # noqa: PLC0415 - only here

    rules = sys.modules.get("cinb.rules.registry")
    if ep.rule and rules is not None:
        rules.unregister_family(ep.rule, where=lambda parser: getattr(parser, "endpoint", None) == ep.name)
    analyses = sys.modules.get("cinb.collection.analyses.registry")
    if ep.analysis and analyses is not None:
        found = analyses._REGISTRY.get(ep.analysis)
        if found is not None and getattr(found.fn, "endpoint", None) == ep.name:
            analyses.unregister_analysis(ep.analysis)


def _load_plugins() -> None:
    global _loaded
    if not _loaded:
        _loaded = True
        for module in PLUGINS:
            importlib.import_module(module)


def get_endpoint(name: str) -> Endpoint:
    """Look an endpoint up by CI name or alias, case-insensitively.

    Raises
    ------
    CIError
        -103 for an unknown name, listing the known ones.

    Examples
    --------
    >>> from cinb.ai.endpoints import get_endpoint
    >>> get_endpoint("imageinspect").name
    'ImageInspect'
    >>> get_endpoint("NoSuchThing")
    Traceback (most recent call last):
    ...
    cinb.errors.CIError: unknown ci-process 'NoSuchThing'; cinb knows: ... (X-ErrNo -103)
    """
    _load_plugins()
    key = _NAMES.get(str(name).strip().lower())
    if key is None:
        known = ", ".join(sorted(_ENDPOINTS)) or "none"
        raise CIError(f"unknown ci-process {name!r}; cinb knows: {known}", code=BAD_PARAMETER, token=str(name))
    return _ENDPOINTS[key]


def endpoints() -> list[Endpoint]:
    """Every registered endpoint, by name.

    Examples
    --------
    >>> from cinb.ai.endpoints import endpoints
    >>> "ImageInspect" in [e.name for e in endpoints()]
    True
    """
    _load_plugins()
    return [_ENDPOINTS[k] for k in sorted(_ENDPOINTS)]


__all__ = ["Answer", "Endpoint", "Param", "bool_param", "choice_param", "endpoints", "get_endpoint", "int_param",
           "local_path", "register_endpoint", "str_param", "unregister_endpoint"]
