"""Parse a ``ci-process`` request: a name, a pasted query, or a whole URL (spec §19, "Common").

Requests are not processing rules: ``?ci-process=QRcode&cover=1`` is a query of ``key=value``
items, where the rule grammar (``imageMogr2/...``) is a path of segments. Both may be pasted from a
CI URL, so each has its own parser and a clear error when given the other.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from ..errors import BAD_PARAMETER, CIError
from .endpoints import Endpoint, get_endpoint

#: Query items of a signed COS URL: part of the request's authentication, not of the processing.
SIGNATURE_KEYS = frozenset({"q-sign-algorithm", "q-ak", "q-sign-time", "q-key-time", "q-header-list",
                            "q-url-param-list", "q-signature", "x-cos-security-token", "sign"})


@dataclass(frozen=True)
class Request:
    """A parsed ``ci-process`` request: the endpoint and its typed parameters.

    ``str(request)`` is the canonical query (``ci-process=QRcode&cover=1``), parameters in the
    endpoint's declared order, only those that differ from the default.

    Examples
    --------
    >>> from cinb.ai.request import parse_request
    >>> r = parse_request("?ci-process=imageinspect")
    >>> r.endpoint.name, str(r)
    ('ImageInspect', 'ci-process=ImageInspect')
    """

    endpoint: Endpoint
    params: Mapping[str, Any]

    def __str__(self) -> str:
        items = [f"ci-process={self.endpoint.name}"]
        for p in self.endpoint.params:
            value = self.params.get(p.python_name)
            if value is not None and value != p.default:
                items.append(f"{p.name}={_query_text(value)}")
        return "&".join(items)


def _query_text(value: Any) -> str:
    """A parameter value as CI's query writes it: switches 0/1, comma lists joined (``detect-type=car,face``).

    Examples
    --------
    >>> from cinb.ai.request import _query_text
    >>> _query_text(True), _query_text(("vehicle", "pet")), _query_text(7)
    ('1', 'vehicle,pet', '7')
    """
    if isinstance(value, bool):
        return "1" if value else "0"
    if type(value) in (tuple, list):  # a plain list; a NamedTuple (matting's Padding) writes itself
        return ",".join(_query_text(v) for v in value)
    return str(value)


def _query_items(text: str) -> list[tuple[str, str | None]]:
    if "://" in text:  # a whole URL: only its query matters
        text = urlsplit(text).query
    text = text.strip().lstrip("?")
    items: list[tuple[str, str | None]] = []
    for item in text.split("&"):
        if not item:
            continue
        key, sep, value = item.partition("=")
        items.append((unquote(key).strip(), unquote(value) if sep else None))
    return items


def parse_request(name: str, params: Mapping[str, Any] | None = None) -> Request:
    """A ``ci-process`` name or pasted query (plus keyword parameters) -> :class:`Request`.

    Parameters
    ----------
    name : str
        ``"QRcode"``; ``"ci-process=QRcode&cover=1"`` (with or without ``?``, or a whole URL); the
        bare-key form some endpoints have (``"imageInspect"``).
    params : mapping, optional
        More parameters, CI spelling or Python spelling (``max_face_num``), text or values. A
        parameter given both in the query and here is an error.

    Raises
    ------
    CIError
        -103: no or several ``ci-process`` names, an unknown endpoint, an unknown, repeated or
        malformed parameter, a processing rule where a request was expected, or ``detect-url``
        (cinb never fetches: pass the image itself).

    Examples
    --------
    >>> from cinb.ai.request import parse_request
    >>> r = parse_request("ci-process=ImageInspect")
    >>> r.endpoint.name, dict(r.params)
    ('ImageInspect', {})
    >>> parse_request("imageMogr2/thumbnail/100x")
    Traceback (most recent call last):
    ...
    cinb.errors.CIError: 'imageMogr2/thumbnail/100x' is a processing rule, not a ci-process request: ... (X-ErrNo -103)
    """
    if not isinstance(name, str) or not name.strip():
        raise CIError("a ci-process request needs an endpoint name, e.g. 'QRcode'", code=BAD_PARAMETER)
    items = _query_items(name)
    names: list[str | None] = [v for k, v in items if k.lower() == "ci-process"]  # None: "ci-process" bare
    rest = [(k, v) for k, v in items if k.lower() != "ci-process" and k.lower() not in SIGNATURE_KEYS]
    if not names:  # a bare name ("QRcode") or a bare-key endpoint ("?imageInspect")
        bare = [k for k, v in rest if v is None]
        if len(bare) != 1:
            raise CIError(f"cannot find one ci-process name in {name!r}", code=BAD_PARAMETER, token=name)
        if "/" in bare[0]:
            raise CIError(f"{bare[0]!r} is a processing rule, not a ci-process request: use cinb.process",
                          code=BAD_PARAMETER, token=bare[0])
        names = [*bare]
        rest = [(k, v) for k, v in rest if v is not None]
    if len(names) != 1 or not names[0]:
        raise CIError(f"a request names one ci-process, got {names!r}", code=BAD_PARAMETER, token=name)
    endpoint = get_endpoint(names[0])
    given: dict[str, Any] = {}
    for key, value in rest:
        if value is None:
            raise CIError(f"query item {key!r} has no value", code=BAD_PARAMETER, token=key)
        _add(given, endpoint, key, value)
    for key, value in (params or {}).items():
        _add(given, endpoint, key, value)
    return Request(endpoint, endpoint.parse_params(given))


def _add(given: dict, endpoint: Endpoint, key: str, value: Any) -> None:
    if key in ("detect-url", "detect_url"):
        raise CIError("detect-url asks CI to fetch an image; cinb never touches the network: pass the image "
                      "(path, bytes or PIL image) as src", code=BAD_PARAMETER, token="detect-url")
    canonical = endpoint.param(key).name
    if canonical in {endpoint.param(k).name for k in given}:
        raise CIError(f"{endpoint.name}: parameter {canonical} given twice", code=BAD_PARAMETER, token=canonical)
    given[key] = value


__all__ = ["Request", "SIGNATURE_KEYS", "parse_request"]
