"""Run a script with no network, a private /tmp, /var/tmp and HOME: the AI privacy tests share it."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

import pytest

import cinb

#: Appended to every script: lists what it left in the private /tmp and /var/tmp (the folders named in
#: ``$PRIVACY_KEEP`` are the real ones bound back in, not written by the script) and prints the report.
REPORT = """
import json as _json, os as _os
_written = []
_kept = set(filter(None, _os.environ.get("PRIVACY_KEEP", "").split(":")))
for _top in ("/tmp", "/var/tmp"):
    for _root, _dirs, _files in _os.walk(_top):
        _dirs[:] = [d for d in _dirs if _os.path.join(_root, d) not in _kept]
        _written += [_os.path.join(_root, d) + "/" for d in _dirs] + [_os.path.join(_root, f) for f in _files]
print(_json.dumps({"ran": ran, "written": sorted(_written)}, ensure_ascii=False))
"""


def skip_without_unshare() -> None:
    """Skip the calling test where ``unshare -n -m`` is missing or not permitted."""
    if shutil.which("unshare") is None:
        pytest.skip("unshare (util-linux) is not installed")
    probe = subprocess.run(["unshare", "-n", "-m", "true"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip(f"unshare -n -m is not permitted here (needs root or user namespaces): {probe.stderr!r}")


def run_offline(script: str, *, args: Iterable[str] = (), keep: Iterable[Path] = (), timeout: int = 300) -> dict:
    """Run ``script`` with ``python -c`` under ``unshare -n -m``; return ``{"ran": ..., "written": [...]}``.

    The script sets ``ran`` (anything JSON can hold); :data:`REPORT` adds ``written``, every folder and
    file left in the private /tmp and /var/tmp (``["/tmp/home/", "/tmp/work/"]`` when nothing was written:
    HOME and the working folder live there). Skips the test where ``unshare`` is not usable.

    Parameters
    ----------
    args : iterable of str
        The script's ``sys.argv[1:]``.
    keep : iterable of Path
        Further paths the script reads (data folders): if one lives under /tmp or /var/tmp it stays
        reachable, as the checkout and the venv do.

    Notes
    -----
    A checkout, venv or data folder that itself lives in /tmp (CI clones anywhere) is bound aside before
    the tmpfs hides /tmp, moved back on top of it, and named in ``$PRIVACY_KEEP`` so the listing leaves it out.
    """
    skip_without_unshare()
    kept = set()
    for path in (Path(sys.prefix).resolve(), Path(cinb.__file__).resolve(), *(Path(p).resolve() for p in keep)):
        for top in (Path("/tmp"), Path("/var/tmp")):
            if path.is_relative_to(top) and path != top:
                kept.add(str(top / path.relative_to(top).parts[0]))
    kept_list = sorted(kept)
    aside = "".join(f"mkdir -p /mnt/cinb-keep-{i} && mount --bind {shlex.quote(k)} /mnt/cinb-keep-{i} && "
                    for i, k in enumerate(kept_list))
    back = "".join(f"mkdir -p {shlex.quote(k)} && mount --move /mnt/cinb-keep-{i} {shlex.quote(k)} && "
                   for i, k in enumerate(kept_list))
    shell = (f'{aside}mount -t tmpfs none /tmp && mount -t tmpfs none /var/tmp && {back}mkdir /tmp/home /tmp/work '
             '&& cd /tmp/work && exec env HOME=/tmp/home "$0" -c "$@"')
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ORT_", "XDG_"))}
    env["PRIVACY_KEEP"] = ":".join(kept_list)
    env.update(PYTHONDONTWRITEBYTECODE="1", PYTHONPATH=str(Path(cinb.__file__).parent.parent))
    run = subprocess.run(["unshare", "-n", "-m", "--propagation", "private", "sh", "-c", shell, sys.executable,
                          script + REPORT, *map(str, args)], capture_output=True, text=True, env=env, timeout=timeout)
    assert run.returncode == 0, run.stderr[-2000:]
    return json.loads(run.stdout.strip().splitlines()[-1])


def watched(folders: Iterable[Path]) -> dict[str, int]:
    """``{path: mtime_ns}`` of every folder and file under ``folders`` (missing ones are empty): compared
    before and after a run, it shows anything the run wrote outside its private /tmp."""
    listing = {}
    for folder in folders:
        for root, dirs, files in os.walk(folder):
            for name in dirs + files:
                path = os.path.join(root, name)
                try:
                    listing[path] = os.stat(path).st_mtime_ns
                except OSError:
                    pass
    return listing
