"""cinb.lab: the JupyterLab command line, the 'cinb' kernel, and what it says when something is missing."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pytest

from cinb import lab


def test_command_listens_on_localhost_in_the_notebooks_folder():
    cmd = lab.lab_command(port=8899, open_browser=False, extra=["--ServerApp.token=abc"])
    assert cmd[:3] == [sys.executable, "-m", "jupyterlab"]
    assert "--ServerApp.ip=127.0.0.1" in cmd and "--port=8899" in cmd and "--no-browser" in cmd
    assert f"--ServerApp.root_dir={lab.notebooks_dir()}" in cmd
    assert cmd[-1] == "--ServerApp.token=abc"
    assert (lab.notebooks_dir() / "00-tour.ipynb").is_file()


def test_dry_run_prints_the_command(capsys):
    assert lab.main(["--dry-run", "--no-browser", "--port", "9000", "--", "--ServerApp.token=x"]) == 0
    out = capsys.readouterr().out
    assert "-m jupyterlab" in out and "--port=9000" in out and out.strip().endswith("--ServerApp.token=x")


def test_register_cli_adds_the_lab_command(capsys):
    parser = argparse.ArgumentParser(prog="cinb")
    lab.register_cli(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["lab", "--dry-run", "--port", "8901"])
    assert args.func(args) == 0
    assert "--port=8901" in capsys.readouterr().out


def test_install_kernel_writes_a_spec_for_this_python(tmp_path):
    where = Path(lab.install_kernel(prefix=str(tmp_path)))
    spec = json.loads((where / "kernel.json").read_text())
    assert where.name == "cinb" and spec["display_name"] == "Python 3 (cinb)"
    assert spec["argv"][0] == sys.executable


def test_missing_kernel_and_lab_name_the_fix(monkeypatch, capsys):
    monkeypatch.setattr(lab, "kernel_spec", lambda: None)
    monkeypatch.setattr(lab.importlib.util, "find_spec", lambda name: None)
    assert lab.main(["--dry-run"]) == 2
    err = capsys.readouterr().err
    assert "JupyterLab is not installed" in err and "scripts/setup.sh" in err
    assert "no 'cinb' kernel" in err and "--install-kernel" in err


def test_kernel_of_another_python_is_reported(monkeypatch, capsys):
    monkeypatch.setattr(lab, "kernel_spec", lambda: {"argv": ["/elsewhere/bin/python", "-m", "ipykernel_launcher"]})
    assert lab.main(["--dry-run"]) == 0  # JupyterLab can still start; the kernel warning names the fix
    err = capsys.readouterr().err
    assert "/elsewhere/bin/python" in err and "--install-kernel" in err


@pytest.mark.parametrize("argv", [["--port", "x"], ["--bogus"]])
def test_bad_arguments_exit_2(argv):
    with pytest.raises(SystemExit) as exc:
        lab.main(argv)
    assert exc.value.code == 2
