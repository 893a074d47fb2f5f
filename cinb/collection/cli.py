"""``cinb scan``, ``cinb apply``, ``cinb analyze``: the collection functions on the command line.

Examples
--------
>>> from cinb.collection.cli import register_cli
>>> import argparse
>>> sub = argparse.ArgumentParser().add_subparsers()
>>> register_cli(sub)
>>> sorted(sub.choices)
['analyze', 'apply', 'scan']
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

import pandas as pd

from cinb.collection.analyze import analyze
from cinb.collection.apply import apply
from cinb.collection.scan import scan
from cinb.errors import BAD_PARAMETER, CIError
from cinb.fileio import atomic_path
from cinb.parallel import POOLS
from cinb.styles import Styles


def register_cli(subparsers: Any) -> None:
    """Add the ``scan``, ``apply`` and ``analyze`` subcommands to an argparse subparsers object."""
    p = subparsers.add_parser("scan", help="one table row per image (headers only)",
                              description="Scan a folder, glob or table of images into a table.")
    p.add_argument("source", help="folder, glob pattern, image, or a table (.parquet/.csv) with a path column")
    p.add_argument("-o", "--output", help="table to write (.parquet, .csv or .jsonl); default: CSV on stdout")
    p.add_argument("--no-recursive", action="store_true", help="do not walk sub-folders")
    p.add_argument("--md5", action="store_true", help="also hash every file (slower)")
    p.add_argument("--workers", type=int, help="worker processes")
    p.add_argument("--pool", choices=POOLS, help="where header reads run (default: inline below 20,000 files)")
    p.set_defaults(func=_cmd_scan)

    p = subparsers.add_parser("apply", help="process every image with a rule, in parallel, resumably",
                              description="Apply a CI rule (or style) to every image; re-running resumes.")
    p.add_argument("source", help="folder, glob pattern, image, or a table with a path column")
    p.add_argument("rule", help="CI rule, e.g. imageMogr2/thumbnail/1024x/format/webp, or style/<name>")
    p.add_argument("-o", "--output", required=True, help="output folder")
    p.add_argument("--name", default="{stem}.{ext}", help="output name template (default {stem}.{ext})")
    p.add_argument("--styles", help="styles JSON file for style/<name> rules")
    p.add_argument("--overwrite", action="store_true", help="redo rows and replace outputs cinb wrote before")
    p.add_argument("--workers", type=int, help="worker processes")
    p.add_argument("--pool", choices=POOLS, help="where rows run (default: fork on Linux, inline for one worker)")
    p.add_argument("--table", help="also write the result table (.parquet, .csv or .jsonl)")
    p.set_defaults(func=_cmd_apply)

    p = subparsers.add_parser("analyze", help="add analysis columns (hashes, blur, duplicates...)",
                              description="Run analyses over every image and write the table.")
    p.add_argument("source", help="folder, glob pattern, image, or a table with a path column")
    p.add_argument("names", nargs="+", help="analysis names, e.g. phash sharpness near_duplicates (or 'issues')")
    p.add_argument("-o", "--output", help="table to write (.parquet, .csv or .jsonl); default: CSV on stdout")
    p.add_argument("--option", action="append", default=[], metavar="ANALYSIS.KEY=VALUE",
                   help="analysis option, e.g. near_duplicates.radius=8 (repeatable)")
    p.add_argument("--workers", type=int, help="worker processes")
    p.add_argument("--pool", choices=POOLS,
                   help="where images run (default: fork on Linux, spawn for analyses that are not fork-safe)")
    p.set_defaults(func=_cmd_analyze)


def read_table(path: str) -> pd.DataFrame:
    """Read a table written by these commands (parquet, csv or jsonl).

    Examples
    --------
    >>> import tempfile
    >>> import pandas as pd
    >>> from cinb.collection.cli import read_table
    >>> p = tempfile.mktemp(suffix=".csv"); pd.DataFrame({"path": ["a.jpg"]}).to_csv(p, index=False)
    >>> read_table(p)["path"].tolist()
    ['a.jpg']
    """
    suffix = os.path.splitext(path)[1].lower()
    if suffix == ".parquet":
        return pd.read_parquet(path)
    if suffix == ".csv":
        return pd.read_csv(path)
    if suffix in (".jsonl", ".json"):
        return pd.read_json(path, lines=suffix == ".jsonl")
    raise CIError(f"unknown table type {suffix!r} for {path} (use .parquet, .csv or .jsonl)",
                  code=BAD_PARAMETER, token=path)


def write_table(df: pd.DataFrame, path: str | None) -> None:
    """Write ``df`` (parquet, csv or jsonl by suffix; CSV on stdout for None or ``-``), atomically.

    Dict and list cells (the ``exif`` column) are stored as JSON text.

    Examples
    --------
    >>> import json
    >>> import tempfile
    >>> import pandas as pd
    >>> from cinb.collection.cli import write_table
    >>> p = tempfile.mktemp(suffix=".parquet")
    >>> write_table(pd.DataFrame({"path": ["a"], "exif": [{"Make": {"val": "X"}}]}), p)
    >>> json.loads(pd.read_parquet(p)["exif"][0])
    {'Make': {'val': 'X'}}
    """
    out = df.copy()
    for col in out.columns:
        if out[col].dtype == object and out[col].map(lambda v: isinstance(v, (dict, list))).any():
            out[col] = out[col].map(lambda v: json.dumps(v, ensure_ascii=False) if isinstance(v, (dict, list)) else v)
    if path in (None, "-"):
        out.to_csv(sys.stdout, index=False)
        return
    suffix = os.path.splitext(path)[1].lower()
    if suffix not in (".parquet", ".csv", ".jsonl"):
        raise CIError(f"unknown table type {suffix!r} for {path} (use .parquet, .csv or .jsonl)",
                      code=BAD_PARAMETER, token=path)
    with atomic_path(path) as tmp:
        if suffix == ".parquet":
            out.to_parquet(tmp, index=False)
        elif suffix == ".csv":
            out.to_csv(tmp, index=False)
        else:
            out.to_json(tmp, orient="records", lines=True, date_format="iso")


def _source(text: str) -> Any:
    if os.path.isfile(text) and os.path.splitext(text)[1].lower() in (".parquet", ".csv", ".jsonl"):
        return read_table(text)
    return text


def _errors_summary(df: pd.DataFrame) -> int:
    bad = df[df["error"].notna()] if "error" in df.columns else df.iloc[0:0]
    for path, error in zip(bad["path"], bad["error"], strict=True):
        print(f"cinb: {path}: {error}", file=sys.stderr)
    return len(bad)


def _cmd_scan(args) -> int:
    df = scan(_source(args.source), recursive=not args.no_recursive, md5=args.md5, workers=args.workers,
              pool=args.pool)
    write_table(df, args.output)
    bad = int(df["error"].notna().sum())
    if args.output not in (None, "-"):
        print(f"{len(df)} files, {bad} with errors -> {args.output}", file=sys.stderr)
    return 0


def _cmd_apply(args) -> int:
    styles = Styles(args.styles) if args.styles else None
    df = apply(_source(args.source), args.rule, args.output, name=args.name, workers=args.workers,
               pool=args.pool, overwrite=args.overwrite, styles=styles)
    if args.table:
        write_table(df, args.table)
    counts = df["status"].value_counts().to_dict()
    failed = _errors_summary(df)
    print(f"{counts.get('done', 0)} written, {counts.get('skipped', 0)} already done, {failed} failed -> "
          f"{args.output}", file=sys.stderr)
    return 1 if failed else 0


def _cmd_analyze(args) -> int:
    df = analyze(_source(args.source), *args.names, workers=args.workers, pool=args.pool,
                 options=parse_options(args.option))
    write_table(df, args.output)
    if args.output not in (None, "-"):
        print(f"{len(df)} images, {int(df['error'].notna().sum()) if 'error' in df else 0} with errors -> "
              f"{args.output}", file=sys.stderr)
    return 0


def parse_options(items: list[str]) -> dict[str, dict]:
    """``["near_duplicates.radius=8"]`` -> ``{"near_duplicates": {"radius": 8}}`` (JSON values).

    Examples
    --------
    >>> from cinb.collection.cli import parse_options
    >>> parse_options(["near_duplicates.radius=8", "brightness.dark_below=40.5"])
    {'near_duplicates': {'radius': 8}, 'brightness': {'dark_below': 40.5}}
    """
    out: dict[str, dict] = {}
    for item in items:
        key, sep, value = item.partition("=")
        name, dot, option = key.partition(".")
        if not sep or not dot or not name or not option:
            raise CIError(f"bad --option {item!r}: expected ANALYSIS.KEY=VALUE", code=BAD_PARAMETER, token=item)
        try:
            parsed = json.loads(value)
        except ValueError:
            parsed = value
        out.setdefault(name, {})[option] = parsed
    return out
