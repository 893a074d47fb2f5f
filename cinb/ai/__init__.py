"""CI's ``ci-process`` endpoints (spec §19), locally: one declaration per endpoint.

``cinb.ci_process(src, "Name", **params)`` runs any registered endpoint and answers with CI's
response shape; each endpoint is also a collection analysis (``cinb.analyze(df, "inspect")``), a
Pic-Operations rule where CI has one, and a command (``cinb ai Name INPUT k=v``). Endpoints declare
themselves in their own module with :func:`~cinb.ai.endpoints.register_endpoint`; see
``docs/architecture.md`` for where a new one goes. Heavy model libraries load only when an endpoint
that needs them runs.

Examples
--------
>>> import cinb.ai
>>> "ImageInspect" in [e.name for e in cinb.ai.endpoints()]
True
"""

from . import stages  # noqa: F401  (registers the rule forms of endpoints with parse_rule)
from .endpoints import (
                        Answer,
                        Endpoint,
                        Param,
                        bool_param,
                        choice_param,
                        endpoints,
                        get_endpoint,
                        int_param,
                        register_endpoint,
                        str_param,
                        unregister_endpoint,
)
from .process import ci_process, run_request
from .request import Request, parse_request
from .tagging import tag

__all__ = ["Answer", "Endpoint", "Param", "Request", "bool_param", "choice_param", "ci_process", "endpoints",
           "get_endpoint", "int_param", "parse_request", "register_endpoint", "run_request", "str_param",
           "tag", "unregister_endpoint"]
