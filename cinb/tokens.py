"""Canonical text of rule tokens: the writing half of the grammar, shared by ops and rules.

Ops print their own tokens (``str(op)`` round-trips through ``parse_rule``), so they need these
writers; the readers stay in :mod:`cinb.rules.grammar`, which builds ops and so sits above them.
"""

from __future__ import annotations

import base64


def fmt_float(x: float) -> str:
    """Shortest text for a float that parses back to the same value (``2.0`` -> ``2``).

    Examples
    --------
    >>> from cinb.tokens import fmt_float
    >>> fmt_float(2.0), fmt_float(0.5)
    ('2', '0.5')
    """
    return str(int(x)) if float(x).is_integer() else repr(float(x))


def b64u_encode(data: bytes | str) -> str:
    """Encode as unpadded URL-safe base64, CI's canonical form.

    Examples
    --------
    >>> from cinb.tokens import b64u_encode
    >>> b64u_encode("#FFFFFF")
    'I0ZGRkZGRg'
    """
    if isinstance(data, str):
        data = data.encode("utf-8")
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def color_token(rgb: tuple[int, int, int]) -> str:
    """The canonical b64u token of a colour.

    Examples
    --------
    >>> from cinb.tokens import color_token
    >>> color_token((255, 255, 255))
    'I0ZGRkZGRg'
    """
    return b64u_encode("#{:02X}{:02X}{:02X}".format(*rgb))
