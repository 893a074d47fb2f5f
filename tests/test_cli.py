"""The ``cinb`` command: process / info / exif / ave, CI's JSON on stdout, one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

import cinb
import engine_images as ei
from cinb.cli import main

M = "imageMogr2/"
REPO = Path(__file__).resolve().parents[1]


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cinb", *map(str, args)], capture_output=True,
                          text=True, cwd=REPO, timeout=120)


@pytest.fixture()
def photo(tmp_path) -> Path:
    path = tmp_path / "photo.jpg"
    path.write_bytes(ei.meta_jpeg(6))
    return path


# --- through a real subprocess (python -m cinb) ------------------------------------------------


def test_process_subprocess(photo, tmp_path):
    out = tmp_path / "out" / "small.png"
    proc = run("process", photo, M + "thumbnail/!50p/format/png", "-o", out)
    assert proc.returncode == 0, proc.stderr
    with Image.open(out) as im:
        assert (im.format, im.size) == ("PNG", (200, 150))
    assert out.read_bytes() == cinb.process(photo, M + "thumbnail/!50p/format/png").data


def test_info_subprocess(photo):
    proc = run("info", photo)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == cinb.image_info(photo)


def test_bad_input_one_line_subprocess(photo, tmp_path):
    proc = run("process", photo, M + "thumbnail/abc", "-o", tmp_path / "x.jpg")
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "abc" in lines[0], proc.stderr
    assert "Traceback" not in proc.stderr and not (tmp_path / "x.jpg").exists()


# --- in process (cinb.cli.main), for the remaining cases -------------------------------------


def _main(capsys, *args):
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_exif_and_ave(capsys, photo):
    code, out, _ = _main(capsys, "exif", photo)
    assert code == 0 and json.loads(out)["Make"] == {"val": "cinb-test"}
    code, out, _ = _main(capsys, "ave", photo)
    assert code == 0 and json.loads(out) == cinb.image_ave(photo)


def test_exif_no_data(capsys, tmp_path):
    path = tmp_path / "a.png"
    path.write_bytes(ei.quad_png())
    code, out, _ = _main(capsys, "exif", path)
    assert code == 0 and json.loads(out) == {"error": "no exif data"}


def test_process_info_stage_prints_json(capsys, photo):
    code, out, _ = _main(capsys, "process", photo, M + "thumbnail/!50p|imageInfo")
    assert code == 0
    info = json.loads(out)
    assert (info["width"], info["height"]) == ("200", "150")
    assert all(isinstance(v, str) for v in info.values())


def test_process_with_styles_file(capsys, photo, tmp_path):
    styles = tmp_path / "styles.json"
    styles.write_text(json.dumps({"thumb": M + "thumbnail/100x"}))
    out = tmp_path / "t.jpg"
    code, _, err = _main(capsys, "process", photo, "style/thumb", "-o", out, "--styles", styles)
    assert code == 0, err
    with Image.open(out) as im:
        assert im.size == (100, 75)


@pytest.mark.parametrize(
    "args,code_needle",
    [
        (("process", "{photo}", M + "rotate/999", "-o", "{tmp}/x.jpg"), "999"),
        (("process", "{photo}", M + "format/tpg", "-o", "{tmp}/x.jpg"), "tpg"),
        (("process", "{junk}", M + "thumbnail/!50p", "-o", "{tmp}/x.jpg"), "junk.jpg"),
        (("info", "{junk}"), "junk.jpg"),
        (("info", "{tmp}/missing.jpg"), "missing.jpg"),
        (("ave", "{tmp}/missing.png"), "missing.png"),
        (("process", "{photo}", "style/thumb", "-o", "{tmp}/x.jpg"), "thumb"),
    ],
)
def test_errors_one_line_nonzero(capsys, photo, tmp_path, args, code_needle):
    junk = tmp_path / "junk.jpg"
    junk.write_bytes(b"not really a jpeg")
    code, out, err = _main(capsys, *(a.format(photo=photo, tmp=tmp_path, junk=junk) for a in args))
    assert code != 0
    lines = err.strip().splitlines()
    assert len(lines) == 1 and code_needle in lines[0], err
    assert not (tmp_path / "x.jpg").exists()


def test_process_refuses_to_overwrite_input(capsys, photo):
    before = photo.read_bytes()
    code, _, err = _main(capsys, "process", photo, M + "thumbnail/!50p", "-o", photo)
    assert code != 0 and len(err.strip().splitlines()) == 1
    assert photo.read_bytes() == before


def test_process_folder(capsys, tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    (src / "a.jpg").write_bytes(ei.photo_jpeg())
    (src / "b.png").write_bytes(ei.quad_png())
    code, _, err = _main(capsys, "process", src, M + "thumbnail/!50p", "-o", tmp_path / "out")
    assert code == 0, err
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.jpg", "b.png"]
