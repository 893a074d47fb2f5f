"""``AIImageColoring``: colour a black-and-white photo (spec §19.13) — refused: no model ships offline.

CI (``ci-process=AIImageColoring``, no parameters) answers with the picture coloured by a neural
network (its example answers ``Content-Type: image/png``).

Colouring needs a model trained on millions of photos: no classical method guesses that a sky is
blue or a face is skin-coloured. None ships inside a package cinb can install offline (PyPI, Debian,
npm); checked 2026-12-02: ``rz-color-lite`` and ``rz-colorization`` (Zhang et al.'s models: the
packages download the weights at run time), ``colourful``, ``colorize-package``,
``py-photo-colorizer``, ``deoldify`` 0.0.1 (code only, 3-240 kB), ``vsddcolor`` (DDColor for
VapourSynth: the weights are fetched separately), and no ``.caffemodel``/ONNX colouriser in a
Debian or npm package. So cinb refuses the request with CIError -163 (CI: the service is not
available; cinb's use of the code: an optional component is missing), after checking the picture
as CI would (unreadable -113/-443, over CI's limits -167/-447), rather than return a tinted or
unchanged picture that would pass for a result. ``docs/ci-compatibility.md`` says the same.
"""

from __future__ import annotations

from ..errors import CONFIGURATION_MISSING, CIError
from ..imageinput import ImageInput
from .endpoints import Answer, Endpoint, register_endpoint

#: Why the request is refused (the message of the CIError).
REASON = ("AIImageColoring needs a colourisation model, and none ships in a package cinb can install offline "
          "(checked: rz-color-lite, rz-colorization, colourful, colorize-package, py-photo-colorizer, deoldify, "
          "vsddcolor: all download their weights or have none); cinb refuses rather than return a fake colouring")


def image_coloring(inp: ImageInput) -> Answer:
    """CI's ``AIImageColoring``: always a CIError -163 here, once the picture has been checked.

    Raises
    ------
    CIError
        -113/-443 for an unreadable picture and -167/-447 over CI's limits (what CI would answer
        first); otherwise -163: no colourisation model is available offline.

    Examples
    --------
    >>> from cinb import ci_process, data
    >>> ci_process(data.astronaut(), "AIImageColoring")
    Traceback (most recent call last):
    ...
    cinb.errors.CIError: AIImageColoring needs a colourisation model, ... (X-ErrNo -163)
    """
    inp.image(64)  # header, CI's limits and a (reduced) decode: an unreadable picture is its own error
    raise CIError(REASON, code=CONFIGURATION_MISSING, token="AIImageColoring")


ENDPOINT = register_endpoint(Endpoint(
    "AIImageColoring", image_coloring, kind="image", rule="AIImageColoring",
    description="colour a black-and-white photo: refused (-163), no colourisation model ships offline"))

__all__ = ["ENDPOINT", "REASON", "image_coloring"]
