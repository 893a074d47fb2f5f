"""The rule form of endpoints (``QRcode/cover/1`` in Pic-Operations), derived from their declarations.

CI accepts some ``ci-process`` endpoints as upload-time rules; Pic-Operations then stores the image
(processed, for image endpoints or ``cover=1``) and reports the endpoint's response fields in
``ProcessResults/Object``. Locally such a rule is a pipeline stage like any other: it runs the
endpoint on the image so far (upright) and adds the answer to ``Result.response``. CI's pages write
such a rule as a query (``ci-process=QRcode&cover=1``): :func:`query_stage` reads that text into the
same stage, for ``parse_rule`` too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..canvas import Canvas
from ..errors import BAD_PARAMETER, CIError
from ..imageinput import ImageInput
from ..ops.rotation import AutoOrient
from ..rules.grammar import keyed_values
from ..rules.model import Stage
from ..rules.registry import register_family, register_query_parser
from .endpoints import Endpoint, endpoints, get_endpoint
from .process import as_canvas
from .request import _query_items, _query_text, parse_request


@dataclass(frozen=True)
class EndpointStage(Stage):
    """A ``<Rule>/<param>/<value>...`` stage that runs an endpoint.

    Examples
    --------
    >>> from cinb.rules import parse_rule
    >>> from cinb.ai.endpoints import Answer, Endpoint, bool_param, register_endpoint, unregister_endpoint
    >>> from cinb.ai.stages import register_rule_form
    >>> ep = register_endpoint(Endpoint("SizeDemo", lambda inp, *, half: Answer({"W": inp.image(None).width}),
    ...                                 params=(bool_param("half"),), rule="SizeDemo"))
    >>> register_rule_form(ep)
    >>> str(parse_rule("SizeDemo/half/1"))
    'SizeDemo/half/1'
    >>> unregister_endpoint("SizeDemo")
    """

    endpoint: str
    params: tuple[tuple[str, Any], ...] = ()

    def __str__(self) -> str:
        ep = get_endpoint(self.endpoint)
        values = dict(self.params)
        out = [ep.rule or ep.name]
        for p in ep.params:
            value = values.get(p.python_name)
            if value is not None and value != p.default:
                out += [p.name, _query_text(value)]
        return "/".join(out)

    def apply(self, canvas: Canvas, ctx=None) -> Canvas:
        ep = get_endpoint(self.endpoint)
        upright = AutoOrient().apply(canvas)
        answer = ep.run(ImageInput(upright.frames[0]), **dict(self.params))
        fields = answer.response
        if answer.image is not None:  # the rule stores the image itself: no base64 copy in ProcessResults
            fields = {k: v for k, v in fields.items() if k != "ResultImage"}
        response = {**canvas.response, **fields}
        info = canvas.info
        if ep.root != "Response":
            # CI's Pic-Operations reports such an answer in its own element beside ProcessResults, not
            # in the Object (Go SDK ImageProcessResult.ImgTargetRecResult): cinb.pic_operations reads
            # it here, while Result.response keeps the fields flat as every rule's are.
            info = {**info, "endpoint_roots": {**info.get("endpoint_roots", {}), ep.root: fields}}
        if ep.kind == "image" or answer.image is not None:
            if answer.image is None:
                return upright.replace(response=response, info=info)
            out = as_canvas(answer.image)
            # an endpoint that names its output format (the matting endpoints' PNG) is stored in it
            return upright.replace(frames=out.frames, durations=[], response=response, nominal_size=None,
                                   source_format=answer.format or upright.source_format, info=info)
        return canvas.replace(response=response, info=info)


def _parser(ep: Endpoint):
    def parse(segments: list[str]) -> Stage:
        given = {}
        if segments and segments != [""]:
            given = keyed_values(segments, ep.rule or ep.name, {p.name: (lambda v: v) for p in ep.params})
        params = ep.parse_params(given)
        return EndpointStage(ep.name, tuple(params.items()))

    parse.endpoint = ep.name  # type: ignore[attr-defined]  # unregister_endpoint removes only its own
    return parse


def register_rule_form(ep: Endpoint) -> None:
    """Teach ``parse_rule`` the rule form of ``ep`` (its ``rule`` prefix)."""
    if ep.rule:
        register_family(ep.rule, _parser(ep))


def query_stage(text: str) -> EndpointStage | None:
    """CI's Pic-Operations text for an endpoint rule, as a stage; None when ``text`` names no ``ci-process``.

    CI's pages write these rules as a query: ``"rule": "ci-process=GoodsMatting"`` (GoodsMatting,
    436/79733), ``"ci-process=ImageTargetRec&detect-type=car,face,plate,body&cover=1"`` (460/118934).
    The stage is the one the slash form (``GoodsMatting``, ``ImageTargetRec/detect-type/...``) parses
    to, so both spellings run the same; signature items are ignored as in :func:`parse_request`.
    Registered with ``cinb.rules.registry.register_query_parser``, so ``parse_rule``, ``cinb.process``
    and Pic-Operations take CI's text as a whole rule (a pipeline stage takes the slash form).

    Raises
    ------
    CIError
        -103 for an endpoint CI runs only as a request (no rule form: ``DetectFace``), an unknown
        endpoint, or a bad parameter.

    Examples
    --------
    >>> from cinb.ai.stages import query_stage
    >>> from cinb.rules import parse_rule
    >>> stage = query_stage("ci-process=ImageTargetRec&detect-type=face&cover=1")
    >>> str(stage), stage == parse_rule("ImageTargetRec/detect-type/face/cover/1").stages[0]
    ('ImageTargetRec/detect-type/face/cover/1', True)
    >>> query_stage("imageMogr2/thumbnail/100x") is None
    True
    """
    if not any(key.lower() == "ci-process" for key, _ in _query_items(text)):
        return None
    request = parse_request(text)
    ep = request.endpoint
    if not ep.rule:
        raise CIError(f"{ep.name} has no rule form (CI runs it as a GET request): use cinb.ci_process",
                      code=BAD_PARAMETER, token=ep.name)
    return EndpointStage(ep.name, tuple(request.params.items()))


for _ep in endpoints():
    register_rule_form(_ep)
register_query_parser("ci-process", query_stage)

__all__ = ["EndpointStage", "query_stage", "register_rule_form"]
