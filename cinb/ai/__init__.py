"""CI's ``ci-process`` endpoints (spec §19), locally: one declaration per endpoint.

``cinb.ci_process(src, "Name", **params)`` runs any registered endpoint and answers with CI's
response shape; each endpoint is also a collection analysis (``cinb.analyze(df, "inspect")``), a
Pic-Operations rule where CI has one, and a command (``cinb ai Name INPUT k=v``). Endpoints declare
themselves in their own module with :func:`~cinb.ai.endpoints.register_endpoint`; see
``docs/architecture.md`` for where a new one goes. Heavy model libraries load only when an endpoint
that needs them runs.

The public names load their modules on first use (PEP 562, as the ``cinb`` root does): importing one
endpoint module (``cinb.ai.endpoints``, ``cinb.ai.quality``) does not load the others, pandas or
OpenCV. The rule forms (``QRcode/cover/1``) reach ``parse_rule`` through ``rules.registry.PLUGINS``.

Examples
--------
>>> import cinb.ai
>>> "ImageInspect" in [e.name for e in cinb.ai.endpoints()]
True
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..lazy import lazy_names as _lazy_names

#: Public name -> the module that defines it, imported on first access.
_LAZY: dict[str, str] = dict.fromkeys(
    ("Answer", "Endpoint", "Param", "bool_param", "choice_param", "endpoints", "get_endpoint", "int_param",
     "register_endpoint", "str_param", "unregister_endpoint"), "cinb.ai.endpoints")
_LAZY.update(ci_process="cinb.ai.process", run_request="cinb.ai.process", Request="cinb.ai.request",
             parse_request="cinb.ai.request", tag="cinb.ai.tagging")

if TYPE_CHECKING:  # what the lazy table resolves to, for type checkers and IDEs
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


_lazy_names(__name__, _LAZY)

__all__ = ["Answer", "Endpoint", "Param", "Request", "bool_param", "choice_param", "ci_process", "endpoints",
           "get_endpoint", "int_param", "parse_request", "register_endpoint", "run_request", "str_param",
           "tag", "unregister_endpoint"]
