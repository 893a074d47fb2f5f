"""``AIGameRec``: name the video game a screenshot comes from — refused: no model ships offline.

CI (``ci-process=AIGameRec``, no parameters besides ``detect-url``; its page 460/93153) answers
``RecognitionResult{GameLabels{Confidence (int), FirstCategory, SecondCategory, GameName}}``: the game
a picture shows, from a classifier Tencent trained on the games it knows, whose list it does not
publish.

Naming a game needs a model trained on screenshots of those games. None ships inside a package cinb
can install offline: cinb's image classifier (:mod:`cinb.ai.tagging`, ImageNet's 1000 classes) has no
game classes (its nearest, ``web site`` and ``slot``, say nothing of which game), and the game
classifiers published as model weights (hub-hosted screenshot classifiers of 20-odd PC games) are
downloads, not packages, and would name other games than CI's. So cinb refuses the request with
CIError -163 (CI: the service is not available; cinb's use of the code: an optional component is
missing), after checking the picture as CI would (unreadable -113/-443, over CI's limits -167/-447),
rather than answer a made-up game. ``docs/ci-compatibility.md`` says the same.
"""

from __future__ import annotations

from ..errors import CONFIGURATION_MISSING, CIError
from ..imageinput import ImageInput
from .endpoints import Answer, Endpoint, register_endpoint

#: Why the request is refused (the message of the CIError).
REASON = ("AIGameRec needs a classifier trained on the games CI knows, and none ships in a package cinb can install "
          "offline (cinb's ImageNet classifier has no game classes); cinb refuses rather than name a game it "
          "cannot recognise")


def game_rec(inp: ImageInput) -> Answer:
    """CI's ``AIGameRec``: always a CIError -163 here, once the picture has been checked.

    Raises
    ------
    CIError
        -113/-443 for an unreadable picture and -167/-447 over CI's limits (what CI would answer
        first); otherwise -163: no game classifier is available offline.

    Examples
    --------
    >>> from cinb import ci_process, data
    >>> ci_process(data.astronaut(), "AIGameRec")
    Traceback (most recent call last):
    ...
    cinb.errors.CIError: AIGameRec needs a classifier trained on the games CI knows, ... (X-ErrNo -163)
    """
    inp.image(64)  # header, CI's limits and a (reduced) decode: an unreadable picture is its own error
    raise CIError(REASON, code=CONFIGURATION_MISSING, token="AIGameRec")


ENDPOINT = register_endpoint(Endpoint(
    "AIGameRec", game_rec, root="RecognitionResult",
    description="name the game a screenshot shows: refused (-163), no game classifier ships offline"))

__all__ = ["ENDPOINT", "REASON", "game_rec"]
