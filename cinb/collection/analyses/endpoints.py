"""Every ``ci-process`` endpoint that declares an ``analysis`` becomes one here (one decode per image).

The endpoint's ``flatten`` gives flat, typed columns a person filters on; the whole response is kept
in one more column, ``<analysis>_response``.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable

from cinb.ai.endpoints import Endpoint, endpoints, get_endpoint
from cinb.collection.analyses.registry import register_analysis
from cinb.errors import BAD_PARAMETER, CIError


class EndpointAnalysis:
    """The per-image function of an endpoint's analysis (a picklable callable: pools may spawn).

    Examples
    --------
    >>> import io
    >>> from PIL import Image
    >>> from cinb.imageinput import ImageInput
    >>> from cinb.collection.analyses.endpoints import EndpointAnalysis
    >>> buf = io.BytesIO(); Image.new("RGB", (8, 8)).save(buf, "PNG")
    >>> EndpointAnalysis("ImageInspect")(ImageInput(buf.getvalue()))["inspect_suspicious"]
    False
    """

    def __init__(self, endpoint: str):
        self.endpoint = endpoint

    def __call__(self, ctx, **options) -> dict:
        ep = get_endpoint(self.endpoint)
        # flatten(response) or flatten(response, info), as Endpoint documents (its annotation names the first)
        flatten: Callable[..., dict] | None = ep.flatten
        if flatten is None:
            raise CIError(f"endpoint {self.endpoint} has no collection analysis", code=BAD_PARAMETER,
                          token=self.endpoint)
        params = ep.parse_params({k: v for k, v in options.items() if v is not None})
        answer = ep.run(ctx, **params)
        flat = flatten(answer.response, answer.info) if _arity(flatten) == 2 else flatten(answer.response)
        return {**flat, f"{ep.analysis}_response": answer.response}

    def check_options(self, options) -> None:
        """CI's parameter parsing on the given options: CIError -103 before any image is read."""
        get_endpoint(self.endpoint).parse_params({k: v for k, v in options.items() if v is not None})

    def __repr__(self) -> str:
        return f"EndpointAnalysis({self.endpoint!r})"


def _arity(fn) -> int:
    """How many positional parameters ``fn`` takes (flatten(response) or flatten(response, info))."""
    params = inspect.signature(fn).parameters.values()
    return sum(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in params)


def register_endpoint_analysis(ep: Endpoint) -> None:
    """Register ``ep``'s analysis (its ``analysis`` name, ``columns`` and parameters as options)."""
    if not ep.analysis:
        return
    fn = EndpointAnalysis(ep.name)
    register_analysis(ep.analysis, fn, check_options=fn.check_options,
                      columns={**ep.columns, f"{ep.analysis}_response": object},
                      defaults={p.python_name: p.default for p in ep.params},
                      description=f"ci-process={ep.name}: {ep.description}", fork_safe=ep.fork_safe)


for _ep in endpoints():
    register_endpoint_analysis(_ep)
