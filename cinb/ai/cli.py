"""``cinb ai NAME INPUT [k=v ...]``: run a ci-process endpoint from the command line."""

from __future__ import annotations

import base64
import json
import sys
from pathlib import Path

from ..errors import BAD_PARAMETER, CIError
from ..fileio import write_atomic
from .endpoints import endpoints
from .process import ci_process
from .request import parse_request


def _params(items: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise CIError(f"parameters are key=value, got {item!r}", code=BAD_PARAMETER, token=item)
        out[key] = value
    return out


def _cmd_ai(args) -> int:
    if args.name == "list":
        for ep in endpoints():
            usage = " ".join(f"{p.name}={p.default}" if not p.required else f"{p.name}=?" for p in ep.params)
            print(f"{ep.name:<16} {ep.kind:<5} {usage:<30} {ep.description}")
        return 0
    params = _params(args.params)
    src = args.input
    if src is not None and "=" in src and not Path(src).exists():  # no image: `cinb ai qrcode-generate k=v`
        params = {**_params([src]), **params}
        src = None
    if src is None and parse_request(args.name, params).endpoint.takes_image:
        raise CIError("cinb ai needs an INPUT image", code=BAD_PARAMETER)
    result = ci_process(src, args.name, **params)
    picture = result.response.get("ResultImage") if result.format == "json" else None
    if result.format != "json" or (args.output and picture):  # -o also decodes a base64 ResultImage
        if not args.output:
            raise CIError(f"{args.name} answers with an image: pass -o OUTPUT", code=BAD_PARAMETER)
        out = Path(args.output)
        if src is not None and out.exists() and out.resolve() == Path(src).resolve():
            raise CIError(f"refusing to overwrite the input {args.input}", code=BAD_PARAMETER, token=args.input)
        if picture:
            write_atomic(out, base64.b64decode(picture))
            print(f"{args.input or args.name} -> {out} (ResultImage)", file=sys.stderr)
        else:
            result.save(out)
            print(f"{args.input} -> {out} ({result.width}x{result.height} {result.format})", file=sys.stderr)
    if args.xml:
        print(result.xml)
    else:
        print(json.dumps(result.response, ensure_ascii=False, indent=2))
    return 0


def register_cli(sub) -> None:
    """Add the ``ai`` subcommand to the ``cinb`` parser."""
    p = sub.add_parser("ai", help="run a CI ci-process endpoint (ImageInspect, QRcode, ...) on one image",
                       description="Run ?ci-process=NAME&k=v on an image; prints CI's response (JSON, or --xml). "
                                   "'cinb ai list' lists the endpoints.")
    p.add_argument("name", help="endpoint (e.g. ImageInspect) or a query 'ci-process=NAME&k=v'; 'list' lists them")
    p.add_argument("input", nargs="?", help="the image")
    p.add_argument("params", nargs="*", help="parameters as k=v, CI's spelling (cover=1, max-face-num=5)")
    p.add_argument("--xml", action="store_true", help="print CI's XML body instead of JSON")
    p.add_argument("-o", "--output", help="where to write an image answer (or a JSON answer's ResultImage)")
    p.set_defaults(func=_cmd_ai)
