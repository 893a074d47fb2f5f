"""Tokens shared by every rule family: numbers, b64u values, gravity names, colours."""

from __future__ import annotations

import base64
import binascii
import re

from ..errors import BAD_PARAMETER, CIError, OutOfRangeError
from ..tokens import b64u_encode, color_token, fmt_float  # noqa: F401  (the writers, re-exported)

#: The nine gravity cells, keyed by their lower-case name.
GRAVITIES = {
    g.lower(): g
    for g in ("NorthWest", "North", "NorthEast", "West", "Center", "East", "SouthWest", "South", "SouthEast")
}

_INT = re.compile(r"^\d{1,9}$")
_SIGNED_INT = re.compile(r"^-?\d{1,9}$")
_FLOAT = re.compile(r"^\d{1,9}(\.\d{1,9})?$")
_COLOR = re.compile(r"^#([0-9a-fA-F]{6})$")


def bad(message: str, token: str | None = None, code: int = BAD_PARAMETER) -> CIError:
    """Build the CIError for a malformed rule token."""
    return CIError(message, code=code, token=token)


def out_of_range(message: str, token: str | None = None) -> OutOfRangeError:
    """Build the CIError (-103) for a well-formed value outside CI's range (``ignore-error`` returns the original)."""
    return OutOfRangeError(message, code=BAD_PARAMETER, token=token)


def parse_int(value: str, key: str, *, lo: int | None = None, hi: int | None = None, signed: bool = False) -> int:
    """Parse a whole-number parameter and check its range.

    Examples
    --------
    >>> from cinb.rules.grammar import parse_int
    >>> parse_int("90", "rotate", lo=0, hi=360)
    90
    """
    if not (_SIGNED_INT if signed else _INT).match(value or ""):
        raise bad(f"{key} expects a whole number, got {value!r}", value)
    n = int(value)
    if (lo is not None and n < lo) or (hi is not None and n > hi):
        raise out_of_range(f"{key} must be between {lo} and {hi}, got {value!r}", value)
    return n


def parse_float(value: str, key: str, *, lo: float | None = None, hi: float | None = None) -> float:
    """Parse a non-negative decimal parameter and check its range."""
    if not _FLOAT.match(value or ""):
        raise bad(f"{key} expects a number, got {value!r}", value)
    x = float(value)
    if (lo is not None and x < lo) or (hi is not None and x > hi):
        raise out_of_range(f"{key} must be between {lo} and {hi}, got {value!r}", value)
    return x


def b64u_decode(value: str, key: str) -> bytes:
    """Decode CI's URL-safe base64, padded or not (standard ``+/`` accepted too).

    Examples
    --------
    >>> from cinb.rules.grammar import b64u_decode
    >>> b64u_decode("I0ZGRkZGRg", "color")
    b'#FFFFFF'
    """
    if not value or not re.fullmatch(r"[A-Za-z0-9_\-+/]+=*", value):
        raise bad(f"{key} expects URL-safe base64, got {value!r}", value)
    body = value.rstrip("=").replace("+", "-").replace("/", "_")
    if len(body) % 4 == 1:
        raise bad(f"{key} is not valid base64: {value!r}", value)
    try:
        return base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except (binascii.Error, ValueError) as exc:
        raise bad(f"{key} is not valid base64: {value!r}", value) from exc


def b64u_text(value: str, key: str) -> str:
    """Decode a b64u parameter holding UTF-8 text."""
    raw = b64u_decode(value, key)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise bad(f"{key} is not UTF-8 text once decoded: {value!r}", value) from exc


def parse_color(value: str, key: str = "color") -> tuple[int, int, int]:
    """Decode a b64u ``#RRGGBB`` colour.

    Examples
    --------
    >>> from cinb.rules.grammar import parse_color
    >>> parse_color("IzNEM0QzRA")
    (61, 61, 61)
    """
    text = b64u_text(value, key)
    m = _COLOR.match(text.strip())
    if not m:
        raise bad(f"{key} {value!r} must encode '#RRGGBB', got {text!r}", value)
    h = m.group(1)
    return (int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16))


def parse_gravity(value: str, key: str = "gravity") -> str:
    """Normalise a gravity name (case-insensitive) to CI's CamelCase."""
    g = GRAVITIES.get((value or "").lower())
    if g is None:
        raise bad(f"{key} must be one of {', '.join(GRAVITIES.values())}, got {value!r}", value)
    return g


def pairs(segments: list[str], flags: frozenset[str], family: str) -> list[tuple[str, str | None]]:
    """Split ``key/value/key/value/flag`` segments into (key, value) pairs; flags get None.

    Examples
    --------
    >>> from cinb.rules.grammar import pairs
    >>> pairs(["thumbnail", "50x", "strip"], frozenset({"strip"}), "imageMogr2")
    [('thumbnail', '50x'), ('strip', None)]
    """
    out: list[tuple[str, str | None]] = []
    i = 0
    while i < len(segments):
        key = segments[i]
        if key == "":
            raise bad(f"empty parameter in {family} (double '/'?)", "/".join(segments))
        if key in flags:
            out.append((key, None))
            i += 1
            continue
        if i + 1 >= len(segments) or segments[i + 1] == "":
            raise bad(f"{family} parameter {key!r} has no value", key)
        out.append((key, segments[i + 1]))
        i += 2
    return out


def keyed_values(segments: list[str], family: str, parsers: dict, *, needs: str = "parameters") -> dict:
    """Parse ``key/value`` segments where every key may appear once, each through its own parser.

    Used by the families whose parameters are unordered settings (watermarks); imageMogr2, whose
    parameters are ordered operations, walks ``pairs`` itself.

    Examples
    --------
    >>> from cinb.rules.grammar import keyed_values, parse_int
    >>> keyed_values(["type", "3", "level", "2"], "watermark/3",
    ...              {"type": lambda v: parse_int(v, "type"), "level": lambda v: parse_int(v, "level")})
    {'type': 3, 'level': 2}
    """
    if not segments or segments == [""]:
        raise bad(f"{family} needs {needs}", family)
    values: dict = {}
    for key, value in pairs(segments, frozenset(), family):
        if key not in parsers:
            raise bad(f"unknown {family} parameter {key!r}", key)
        if key in values:
            raise bad(f"{family} parameter {key!r} is given twice", key)
        values[key] = parsers[key](value)
    return values
