"""Run a script with no network, a private /tmp, /var/tmp and HOME: the AI privacy tests share it."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import cinb


def run_offline(script: str, *, timeout: int = 300) -> dict:
    """Run ``script`` with ``python -c`` under ``unshare -n -m``; return the JSON of its last output line.

    A checkout or venv that itself lives in /tmp (CI clones anywhere) stays reachable: it is bound aside
    before the tmpfs hides /tmp, moved back on top of it, and named in ``$PRIVACY_KEEP`` so the script can
    leave it out of its listing.
    """
    keep = set()
    for path in (Path(sys.prefix).resolve(), Path(cinb.__file__).resolve()):
        for top in (Path("/tmp"), Path("/var/tmp")):
            if path.is_relative_to(top) and path != top:
                keep.add(str(top / path.relative_to(top).parts[0]))
    keep = sorted(keep)
    aside = "".join(f"mkdir -p /mnt/cinb-keep-{i} && mount --bind {shlex.quote(k)} /mnt/cinb-keep-{i} && "
                    for i, k in enumerate(keep))
    back = "".join(f"mkdir -p {shlex.quote(k)} && mount --move /mnt/cinb-keep-{i} {shlex.quote(k)} && "
                   for i, k in enumerate(keep))
    shell = (f'{aside}mount -t tmpfs none /tmp && mount -t tmpfs none /var/tmp && {back}mkdir /tmp/home /tmp/work '
             '&& cd /tmp/work && exec env HOME=/tmp/home "$0" -c "$1"')
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ORT_", "XDG_"))}
    env["PRIVACY_KEEP"] = ":".join(keep)
    env.update(PYTHONDONTWRITEBYTECODE="1", PYTHONPATH=str(Path(cinb.__file__).parent.parent))
    run = subprocess.run(["unshare", "-n", "-m", "--propagation", "private", "sh", "-c", shell, sys.executable,
                          script], capture_output=True, text=True, env=env, timeout=timeout)
    assert run.returncode == 0, run.stderr[-2000:]
    return json.loads(run.stdout.strip().splitlines()[-1])
