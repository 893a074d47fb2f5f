"""``Result``: what every cinb call that makes or describes an image returns, and CI's XML body.

A result carries two dictionaries that must not be confused:

- ``response``: CI's own fields, spelled as CI spells them (``WatermarkStatus``, ``X-Slimflag``,
  ``CodeStatus``, an AI endpoint's whole answer...). These are what a CI client would read from the
  response body or headers, and what Pic-Operations copies into ``ProcessResults``.
- ``info``: cinb's snake_case diagnostics (``quality`` used, ``frames``, ``ignored_error``...), which
  CI does not return.
"""

from __future__ import annotations

import io
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image

from .fileio import write_atomic
from .formats import file_extension


@dataclass
class Result:
    """The outcome of ``cinb.process`` or ``cinb.ci_process``.

    Attributes
    ----------
    data : bytes
        The encoded image, or for a JSON answer (info stages, JSON AI endpoints) UTF-8 JSON.
    format : str
        ``jpeg``, ``png``, ``webp``, ``gif``, ``bmp``, ``avif``, ``heif``; ``json`` for JSON answers.
    width, height : int
        Size of the resulting image (for a JSON answer: of the image that was described).
    info : dict
        cinb's diagnostics: ``quality`` used, ``frames``, ``ignored_error``, ...
    response : dict
        CI's fields, with CI's names: e.g. ``WatermarkStatus`` and ``Text`` (blind watermark
        extraction), ``X-Slimflag`` (imageSlim), or an AI endpoint's whole response.
    root : str
        The XML root element of CI's response body (``Response`` or ``RecognitionResult``).
    booleans : (str, str)
        How CI's XML body spells true and false for this answer (most endpoints ``true``/``false``;
        AssessQuality's documented example ``TRUE``/``FALSE``).

    Examples
    --------
    >>> from cinb.result import Result
    >>> r = Result(b"{}", "json", 1, 1, response={"CodeStatus": 0})
    >>> r.xml
    '<Response><CodeStatus>0</CodeStatus></Response>'
    """

    data: bytes
    format: str
    width: int
    height: int
    info: dict = field(default_factory=dict)
    response: dict = field(default_factory=dict)
    root: str = "Response"
    booleans: tuple[str, str] = ("true", "false")
    _image: Image.Image | None = field(default=None, repr=False)

    @property
    def image(self) -> Image.Image:
        """The result decoded as a PIL image (JSON answers have none: see ``json``)."""
        if self.format == "json":
            raise ValueError("a JSON answer has no image: read .json (or .response)")
        if self._image is None:
            self._image = Image.open(io.BytesIO(self.data))
            self._image.load()
        return self._image

    @property
    def json(self) -> dict | None:
        """The JSON answer (info stages, JSON AI endpoints), else None."""
        return json.loads(self.data) if self.format == "json" else None

    @property
    def xml(self) -> str:
        """CI's XML body for this answer: ``response`` under ``root`` (see :func:`to_xml`)."""
        return to_xml(self.response, root=self.root, booleans=self.booleans)

    @property
    def extension(self) -> str:
        """The file extension written for the format (``jpg`` for JPEG, ``heic`` for HEIF)."""
        return file_extension(self.format)

    def save(self, path: str | os.PathLike) -> Path:
        """Write ``data`` atomically: a temp file in the same folder, then ``os.replace``.

        Examples
        --------
        >>> from cinb.result import Result
        >>> import tempfile, pathlib
        >>> from cinb.result import Result
        >>> r = Result(b"{}", "json", 1, 1)
        >>> p = r.save(pathlib.Path(tempfile.mkdtemp()) / "answer.json")
        >>> p.read_bytes()
        b'{}'
        """
        return write_atomic(path, self.data)

    def _repr_png_(self):  # inline display in Jupyter
        if self.format == "json":
            return None
        img = self.image.copy()
        img.thumbnail((512, 512))
        buf = io.BytesIO()
        img.save(buf, "PNG")
        return buf.getvalue()


def to_xml(obj: dict, root: str = "Response", *, booleans: tuple[str, str] = ("true", "false")) -> str:
    """Render a response dict as CI's XML body.

    Lists become repeated elements, nested dicts nested elements, booleans ``booleans[0]`` /
    ``booleans[1]`` (``true``/``false`` unless an endpoint's documentation spells them otherwise); a
    ``None`` value is left out.

    Examples
    --------
    >>> from cinb.result import to_xml
    >>> to_xml({"ProcessResults": {"Object": [{"Key": "a.png"}, {"Key": "b.png"}]}}, root="UploadResult")
    '<UploadResult><ProcessResults><Object><Key>a.png</Key></Object><Object><Key>b.png</Key></Object></ProcessResults></UploadResult>'
    >>> to_xml({"suspicious": True, "Missing": None})
    '<Response><suspicious>true</suspicious></Response>'
    """

    def node(tag: str, value) -> str:
        if value is None:
            return ""
        if isinstance(value, list):
            return "".join(node(tag, v) for v in value)
        if isinstance(value, dict):
            return f"<{tag}>" + "".join(node(k, v) for k, v in value.items()) + f"</{tag}>"
        if isinstance(value, bool):
            return f"<{tag}>{booleans[0] if value else booleans[1]}</{tag}>"
        return f"<{tag}>{_escape(str(value))}</{tag}>"

    return f"<{root}>" + "".join(node(k, v) for k, v in obj.items()) + f"</{root}>"


def _escape(text: str) -> str:
    """XML character data: what ``xml.sax.saxutils.escape`` does, without importing it (it loads
    urllib.request, http.client and ssl: 8 MB RSS in every process that encodes a picture).

    Examples
    --------
    >>> from cinb.result import _escape
    >>> _escape("a<b & c>d")
    'a&lt;b &amp; c&gt;d'
    """
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


__all__ = ["Result", "to_xml"]
