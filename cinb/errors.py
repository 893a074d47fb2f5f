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
EMPTY_INPUT = -40168  # CI's error table: the source data is empty (0 bytes)

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
        return (_rebuild, (self.message, self.code, self.token, type(self)))


class OutOfRangeError(CIError):
    """A well-formed parameter whose value is outside CI's range (``bright/150``, ``rotate/400``).

    CI's pages list "parameter over its limit" among the failures ``/ignore-error/1`` turns into
    "return the original"; a malformed rule (unknown operation, a word where a number belongs) stays
    an error. The code is -103 like any bad parameter.

    Examples
    --------
    >>> from cinb.errors import CIError, OutOfRangeError
    >>> err = OutOfRangeError("rotate must be between 0 and 360, got '400'", token="400")
    >>> isinstance(err, CIError), err.code
    (True, -103)
    """


def as_cierror(exc: BaseException, label: str | None = None) -> CIError:
    """``exc`` as a CIError: itself if it is one, otherwise with the CI code its kind means.

    Batch cells (``scan``, ``analyze``) always carry a CI code: a missing or unreadable file is
    -113, anything else a decoder raised is -443 (the type name is kept in the message, so a bug
    still shows as one).

    Examples
    --------
    >>> from cinb.errors import as_cierror
    >>> str(as_cierror(FileNotFoundError(2, "No such file", "gone.jpg")))
    'no such file: gone.jpg (X-ErrNo -113)'
    >>> str(as_cierror(TypeError("bad operand"), "a.tif"))
    'a.tif: TypeError: bad operand (X-ErrNo -443)'
    """
    if isinstance(exc, CIError):
        return exc
    if isinstance(exc, FileNotFoundError):
        return CIError(f"no such file: {exc.filename or label}", code=UNSUPPORTED_TYPE, token=label)
    if isinstance(exc, IsADirectoryError):
        return CIError(f"is a directory, not an image: {exc.filename or label}", code=UNSUPPORTED_TYPE, token=label)
    if isinstance(exc, OSError) and exc.errno is not None:
        return CIError(f"cannot read {exc.filename or label}: {exc.strerror or exc}", code=UNSUPPORTED_TYPE,
                       token=label)
    text = str(exc) or type(exc).__name__
    return CIError(f"{label or 'input'}: {type(exc).__name__}: {text}", code=CORRUPT_IMAGE, token=label)


def _rebuild(message: str, code: int, token: str | None, cls: type = CIError) -> CIError:
    return cls(message, code=code, token=token)
