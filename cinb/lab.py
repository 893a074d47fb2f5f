"""Open the notebooks in JupyterLab on this environment, with the ``cinb`` kernel.

``bash scripts/lab.sh`` (or ``cinb lab``, or ``python -m cinb.lab``) starts the JupyterLab installed
with the ``jupyter`` extra in the same environment as cinb, on 127.0.0.1, in the repository's
``notebooks/`` folder. Every notebook names the kernel ``cinb`` in its metadata; ``scripts/setup.sh``
registers that kernel (for this environment and for the user), so a JupyterLab started from another
environment runs the notebooks on cinb's Python too, instead of its own "Python 3 (ipykernel)".

Examples
--------
>>> from cinb import lab
>>> cmd = lab.lab_command(port=8899)
>>> cmd[1:3], "--port=8899" in cmd
(['-m', 'jupyterlab'], True)
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

__all__ = ["KERNEL_NAME", "KERNEL_DISPLAY_NAME", "notebooks_dir", "lab_command", "kernel_spec", "install_kernel",
           "main", "register_cli"]

#: The kernel name every notebook's metadata names.
KERNEL_NAME = "cinb"
#: What JupyterLab's launcher and kernel picker show for it.
KERNEL_DISPLAY_NAME = "Python 3 (cinb)"

_REPO = Path(__file__).resolve().parent.parent


def notebooks_dir() -> Path:
    """The repository's ``notebooks/`` folder (JupyterLab's root for ``cinb lab``).

    Raises
    ------
    FileNotFoundError
        For an install without the repository (the notebooks are not in the wheel).
    """
    where = _REPO / "notebooks"
    if not where.is_dir():
        raise FileNotFoundError(f"no notebooks at {where}: they ship with the repository; clone it and run "
                                "`bash scripts/setup.sh`, then `bash scripts/lab.sh`")
    return where


def lab_command(*, port: int | None = None, notebook_dir: str | os.PathLike | None = None,
                open_browser: bool = True, extra: list[str] | tuple[str, ...] = ()) -> list[str]:
    """The command line that starts JupyterLab on this Python, listening on 127.0.0.1 only.

    Parameters
    ----------
    port : int, optional
        Default: JupyterLab's (8888, or the next free one).
    notebook_dir : path, optional
        Default: :func:`notebooks_dir`.
    open_browser : bool
        False for a headless start (the URL with its token is printed either way).
    extra : list of str
        More ``jupyter lab`` options, appended as given.
    """
    cmd = [sys.executable, "-m", "jupyterlab", "--ServerApp.ip=127.0.0.1",
           f"--ServerApp.root_dir={Path(notebook_dir) if notebook_dir is not None else notebooks_dir()}",
           f"--MappingKernelManager.default_kernel_name={KERNEL_NAME}"]
    if port is not None:
        cmd.append(f"--port={int(port)}")
    if not open_browser:
        cmd.append("--no-browser")
    if hasattr(os, "geteuid") and os.geteuid() == 0:  # containers and CI run as root; Jupyter refuses without it
        cmd.append("--ServerApp.allow_root=True")
    return cmd + list(extra)


def kernel_spec() -> dict | None:
    """The registered ``cinb`` kernel spec (``argv``, ``display_name``, ...), or None when there is none.

    Searched where Jupyter looks (this environment's ``share/jupyter``, the user's, the system's).
    """
    try:
        from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel
    except ImportError:
        return None
    try:
        spec = KernelSpecManager().get_kernel_spec(KERNEL_NAME)
    except NoSuchKernel:
        return None
    return spec.to_dict()


def install_kernel(*, user: bool = False, prefix: str | None = None) -> str:
    """Register this Python as the ``cinb`` kernel; returns the kernel spec's folder.

    ``scripts/setup.sh`` calls it twice: for this environment (``prefix=sys.prefix``: JupyterLab from
    ``scripts/lab.sh``) and for the user (``user=True``: a JupyterLab from any other environment).
    """
    from ipykernel.kernelspec import install

    return install(kernel_name=KERNEL_NAME, display_name=KERNEL_DISPLAY_NAME, user=user, prefix=prefix)


def _check() -> list[str]:
    """Problems that would stop the notebooks from opening right, each with its fix."""
    problems = []
    if importlib.util.find_spec("jupyterlab") is None:
        problems.append("JupyterLab is not installed in this environment: run `bash scripts/setup.sh` "
                        "(or `pip install -e '.[jupyter]'`)")
    spec = kernel_spec()
    if spec is None:
        problems.append(f"no '{KERNEL_NAME}' kernel is registered: run `bash scripts/setup.sh` "
                        f"(or `{sys.executable} -m cinb.lab --install-kernel`)")
    elif spec.get("argv") and Path(spec["argv"][0]).resolve() != Path(sys.executable).resolve():
        problems.append(f"the '{KERNEL_NAME}' kernel runs {spec['argv'][0]}, not this environment's "
                        f"{sys.executable}: run `{sys.executable} -m cinb.lab --install-kernel` to point it here")
    return problems


def _run(args: argparse.Namespace) -> int:
    if args.install_kernel:
        for where in (install_kernel(prefix=sys.prefix), install_kernel(user=True)):
            print(f"cinb: kernel '{KERNEL_NAME}' ({KERNEL_DISPLAY_NAME}) registered in {where}")
        return 0
    problems = _check()
    for p in problems:
        print(f"cinb lab: {p}", file=sys.stderr)
    if any("JupyterLab is not installed" in p for p in problems):
        return 2
    extra = args.jupyter_args[1:] if args.jupyter_args[:1] == ["--"] else args.jupyter_args
    cmd = lab_command(port=args.port, notebook_dir=args.notebook_dir, open_browser=not args.no_browser,
                      extra=extra)
    if args.dry_run:
        print(" ".join(cmd))
        return 0
    if os.name == "posix":
        # become JupyterLab: Ctrl-C reaches it alone and it shuts its kernels down (a wrapper that
        # waits on a child would kill it on the first Ctrl-C and leave the kernels running)
        os.execv(cmd[0], cmd)
    return subprocess.call(cmd)


def _add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--port", type=int, help="port (default: 8888 or the next free one)")
    p.add_argument("--notebook-dir", help="folder to open (default: the repository's notebooks/)")
    p.add_argument("--no-browser", action="store_true", help="do not open a browser; print the URL")
    p.add_argument("--install-kernel", action="store_true",
                   help=f"register this Python as the '{KERNEL_NAME}' kernel (environment and user) and exit")
    p.add_argument("--dry-run", action="store_true", help="print the JupyterLab command instead of running it")
    p.add_argument("jupyter_args", nargs=argparse.REMAINDER, help="more `jupyter lab` options, after --")
    p.set_defaults(func=_run)


def register_cli(subparsers: Any) -> None:
    """Add ``cinb lab`` to the ``cinb`` command's subparsers."""
    p = subparsers.add_parser("lab", help="open the notebooks in JupyterLab (this environment, 'cinb' kernel)")
    _add_arguments(p)


def main(argv: list[str] | None = None) -> int:
    """``python -m cinb.lab [--port N] [--no-browser] [--install-kernel] [-- jupyter options]``."""
    parser = argparse.ArgumentParser(prog="python -m cinb.lab", description=__doc__.split("\n\n")[0])
    _add_arguments(parser)
    return _run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
