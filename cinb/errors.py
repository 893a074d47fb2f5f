"""The one exception cinb raises for bad input, with CI's error numbers."""

from __future__ import annotations

#: CI X-ErrNo values cinb uses (spec §18).
BAD_PARAMETER = -103
UNKNOWN_STYLE = -105
UNSUPPORTED_TYPE = -113
CONFIGURATION_MISSING = -163  # CI: a service is not configured; cinb: an optional package is missing
FILE_TOO_LARGE = -167
OUTPUT_TOO_LARGE = -442
CORRUPT_IMAGE = -443
RESOLUTION_TOO_LARGE = -447

#: Errors that ``/ignore-error/1`` turns into "return the original".
LIMIT_CODES = frozenset({FILE_TOO_LARGE, OUTPUT_TOO_LARGE, RESOLUTION_TOO_LARGE})


class CIError(ValueError):
    """A request CI would refuse, with its ``X-ErrNo`` code.

    Parameters
    ----------
    message : str
        What is wrong, naming the offending token or file.
    code : int
        CI's ``X-ErrNo`` (for example -103 for a bad parameter).
    token : str, optional
        The rule token or input that caused the error.

    Examples
    --------
    >>> from cinb.errors import CIError
    >>> err = CIError("bad thumbnail value 'x'", code=-103, token="x")
    >>> err.code, str(err)
    (-103, "bad thumbnail value 'x' (X-ErrNo -103)")
    """

    def __init__(self, message: str, *, code: int = BAD_PARAMETER, token: str | None = None):
        self.message = message
        self.code = code
        self.token = token
        super().__init__(message)

    def __str__(self) -> str:
        return f"{self.message} (X-ErrNo {self.code})"

    def __reduce__(self):  # keep code/token across process pools
        return (_rebuild, (self.message, self.code, self.token))


def _rebuild(message: str, code: int, token: str | None) -> CIError:
    return CIError(message, code=code, token=token)
