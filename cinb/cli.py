"""The ``cinb`` command: process, info, exif, ave, pic-operations, and the commands of the modules
listed in :data:`COMMAND_MODULES` (collections, ci-process endpoints)."""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from pathlib import Path

from . import info
from .engine import process
from .errors import CIError
from .formats import read_extensions
from .pic_operations import pic_operations, to_xml
from .styles import Styles

#: Modules whose ``register_cli(subparsers)`` adds subcommands. The CLI is the top layer: it imports
#: them (when the parser is built, so ``import cinb.cli`` stays light); no module writes into the CLI.
COMMAND_MODULES = ("cinb.collection.cli", "cinb.ai.cli", "cinb.lab")


def _print_json(obj) -> None:
    print(json.dumps(obj, ensure_ascii=False, indent=2))


def _cmd_process(args) -> int:
    styles = Styles(args.styles) if args.styles else None
    src = Path(args.input)
    if src.is_dir():
        out_dir = Path(args.output)
        files = sorted(p for p in src.iterdir() if p.is_file() and p.suffix.lower() in read_extensions())
        failed = 0
        for p in files:
            try:
                r = process(p, args.rule, styles=styles)
                target = out_dir / f"{p.stem}.{r.extension}"
                if target.resolve() == p.resolve():
                    raise CIError(f"refusing to overwrite the input {p}", token=str(p))
                r.save(target)
                print(f"{p} -> {target} ({r.width}x{r.height} {r.format}, {len(r.data)} bytes)")
            except CIError as exc:
                failed += 1
                print(f"cinb: {p}: {exc}", file=sys.stderr)
        return 1 if failed else 0
    r = process(args.input, args.rule, styles=styles)
    if r.format == "json" and args.output in (None, "-"):
        _print_json(r.json)
        return 0
    if args.output is None:
        raise CIError("process needs -o OUTPUT for an image result")
    out = Path(args.output)
    if out.is_dir():
        out = out / f"{src.stem}.{r.extension}"
    if out.exists() and src.exists() and out.resolve() == src.resolve() and not args.overwrite:
        raise CIError(f"refusing to overwrite the input {src} (pass --overwrite)", token=str(src))
    r.save(out)
    print(f"{args.input} -> {out} ({r.width}x{r.height} {r.format}, {len(r.data)} bytes)")
    return 0


def _cmd_pic_operations(args) -> int:
    ops = args.operations
    if ops.startswith("@"):
        ops = Path(ops[1:]).read_text(encoding="utf-8")
    styles = Styles(args.styles) if args.styles else None
    result = pic_operations(args.input, ops, bucket_dir=args.bucket, key=args.key, styles=styles,
                            allow_overwrite=args.overwrite)
    if args.xml:
        print(to_xml(result))
    else:
        _print_json(result)
    return 0


def _cmd_json(fn):
    def run(args) -> int:
        _print_json(fn(args.input))
        return 0

    return run


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cinb", description="Tencent Cloud Infinite image processing, locally.")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("process", help="apply a CI rule to an image or a folder")
    p.add_argument("input", help="image file or folder")
    p.add_argument("rule", help="CI processing rule, e.g. imageMogr2/thumbnail/!50p")
    p.add_argument("-o", "--output", help="output file or folder")
    p.add_argument("--styles", help="styles JSON file for style/<name> rules")
    p.add_argument("--overwrite", action="store_true", help="allow writing over the input")
    p.set_defaults(func=_cmd_process)
    for name, fn, text in (("info", info.image_info, "CI imageInfo JSON"), ("exif", info.exif, "CI exif JSON"),
                           ("ave", info.image_ave, "CI imageAve JSON")):
        q = sub.add_parser(name, help=text)
        q.add_argument("input")
        q.set_defaults(func=_cmd_json(fn))
    q = sub.add_parser("pic-operations", help="run a Pic-Operations JSON (upload-time rules) into a folder")
    q.add_argument("input", help="the uploaded image")
    q.add_argument("operations", help="Pic-Operations JSON, or @file.json")
    q.add_argument("-o", "--bucket", required=True, help="folder standing for the bucket")
    q.add_argument("--key", help="the source object's key (default: its path in the bucket folder, else its "
                                 "file name); the input is stored there, as CI stores an upload")
    q.add_argument("--styles", help="styles JSON file for rules written style/<name>")
    q.add_argument("--overwrite", action="store_true",
                   help="allow replacing another file at the key, or the original by a rule's result")
    q.add_argument("--xml", action="store_true", help="print CI's XML UploadResult instead of JSON")
    q.set_defaults(func=_cmd_pic_operations)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register_cli(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point; bad input prints one line on stderr and exits 2."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except CIError as exc:
        print(f"cinb: {exc}", file=sys.stderr)
        return 2
    except (OSError, ValueError) as exc:
        print(f"cinb: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("cinb: interrupted", file=sys.stderr)
        return 130
