"""``ci_process``: run one ``ci-process`` endpoint on one image, with CI's response shape."""

from __future__ import annotations

import json
from typing import Any

from PIL import Image

from ..canvas import Canvas
from ..codecs.registry import encode
from ..errors import BAD_PARAMETER, CIError
from ..formats import get_format
from ..imageinput import ImageInput
from ..result import Result
from ..rules import EncodeOptions
from .endpoints import Answer, Endpoint
from .request import Request, parse_request


def ci_process(src: Any, name: str, /, **params: Any) -> Result:
    """Run CI's ``?ci-process=<name>&...`` on one image, locally.

    Parameters
    ----------
    src : path, bytes, PIL.Image.Image or cinb.imageinput.ImageInput
        The image (as for ``cinb.process``).
    name : str
        CI's ``ci-process`` name (``"QRcode"``, ``"ImageInspect"``...), case-insensitive, or a
        pasted query (``"ci-process=QRcode&cover=1"``, a whole URL works too).
    **params
        The endpoint's parameters with CI's spelling or the Python one (``max_face_num=5`` or
        ``**{"max-face-num": 5}``), as text or as values.

    Returns
    -------
    cinb.Result
        JSON endpoints: ``format == "json"``, ``.json`` is CI's response as a dict (CI's element
        names, repeated elements as lists, typed numbers and booleans), ``.xml`` CI's XML body, and
        ``.response`` the same dict. Image endpoints: the image, with the response fields in
        ``.response`` (and, as the AI layer's contract has it, in ``.info`` too).

    Raises
    ------
    CIError
        -103 for an unknown endpoint or a bad parameter; the decode errors of ``cinb.process``
        (-113, -443, -447, ...) for an unreadable image.

    Examples
    --------
    >>> import io
    >>> from PIL import Image
    >>> from cinb import ci_process
    >>> buf = io.BytesIO(); Image.new("RGB", (8, 8)).save(buf, "PNG")
    >>> r = ci_process(buf.getvalue(), "ImageInspect")
    >>> r.format, r.json["picType"], r.json["suspicious"]
    ('json', 'PNG', False)
    >>> r.xml.startswith("<Response><picSize>")
    True
    """
    return run_request(src, parse_request(name, params))


def run_request(src: Any, request: Request) -> Result:
    """Run a parsed :class:`~cinb.ai.request.Request` on ``src`` (see :func:`ci_process`)."""
    endpoint = request.endpoint
    if not endpoint.takes_image:
        if src is not None:
            raise CIError(f"{endpoint.name} takes no input image: pass None", code=BAD_PARAMETER,
                          token=endpoint.name)
        return answer_to_result(endpoint, endpoint.run(None, **request.params), None)
    inp = src if isinstance(src, ImageInput) else ImageInput(src)
    # No OSError is mapped here: ImageInput answers a missing, folder or unreadable input path with
    # CIError -113 itself, and any other OSError (a model file not installed) is not the input's fault.
    answer = endpoint.run(inp, **request.params)
    return answer_to_result(endpoint, answer, inp)


def answer_to_result(endpoint: Endpoint, answer: Answer, inp: ImageInput | None) -> Result:
    """Package an endpoint's :class:`Answer` as a :class:`~cinb.result.Result`."""
    response = dict(answer.response)
    if endpoint.kind == "json":
        width, height = _described_size(inp)
        data = json.dumps(response, ensure_ascii=False).encode("utf-8")
        return Result(data, "json", width, height, dict(answer.info), response, endpoint.root, endpoint.xml_booleans)
    if answer.image is None:
        raise CIError(f"{endpoint.name} returned no image", token=endpoint.name)
    canvas = as_canvas(answer.image, inp)
    fmt = answer.format or ("png" if canvas.has_alpha else canvas.source_format)
    data, codec, quality = encode(canvas, EncodeOptions(format=fmt))
    # Image endpoints answer with the image; their fields are in .response, and also in .info, where
    # the AI layer's published contract (issue 10) promised them to callers of image endpoints.
    info = {**response, **answer.info, "quality": quality}
    return Result(data, codec.name, canvas.width, canvas.height, info, response, endpoint.root, endpoint.xml_booleans)


def as_canvas(image: Image.Image | Canvas, inp: ImageInput | None = None) -> Canvas:
    """An endpoint's output image as a Canvas (metadata of the input kept where it still applies)."""
    if isinstance(image, Canvas):
        return image
    if image.mode not in ("RGB", "RGBA", "L", "LA"):
        image = image.convert("RGBA" if "A" in image.getbands() else "RGB")
    source_format = "png"
    icc = None
    if inp is not None:
        try:
            # a picture built in memory has no format of its own ("unknown"): PNG keeps it whole
            source_format = inp.header().format if get_format(inp.header().format).writable else "png"
            icc = inp.canvas().icc
        except CIError:
            pass
    return Canvas(frames=[image], source_format=source_format, icc=icc)


def _described_size(inp: ImageInput | None) -> tuple[int, int]:
    if inp is None:  # an endpoint without an input image (qrcode-generate)
        return 0, 0
    try:
        header = inp.header()
    except CIError:  # e.g. ImageInspect on a file that only pretends to be an image
        return 0, 0
    return header.width, header.height


__all__ = ["answer_to_result", "as_canvas", "ci_process", "run_request"]
