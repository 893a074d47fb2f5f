"""cinb.data: sample images by name, the manifest, and a clear error when the folder is missing."""

from __future__ import annotations

import doctest
import subprocess
import sys

import pytest
from PIL import Image

import cinb.data as data


def test_docstring_examples():
    result = doctest.testmod(data, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 5 and result.failed == 0


def test_every_listed_image_exists_with_its_manifest_size():
    listed = data.names()
    assert len(listed) >= 30 and listed == sorted(listed)
    for name in ("astronaut.jpg", "coffee.jpg", "chelsea.jpg", "rocket.jpg", "grace-hopper.jpg", "camera.png"):
        facts = data.manifest()[name]
        with Image.open(data.path(name)) as im:
            assert im.size == (facts["width"], facts["height"]), name


def test_named_functions_match_path():
    assert data.astronaut() == data.path("astronaut.jpg")
    assert data.grace_hopper() == data.path("grace-hopper")
    assert data.camera().suffix == ".png"
    assert [p.name for p in data.photos()] == ["astronaut.jpg", "coffee.jpg", "chelsea.jpg", "rocket.jpg",
                                                "grace-hopper.jpg"]
    assert all(p.is_file() for p in data.photos())


@pytest.mark.parametrize("bad", ["lena", "", "astronaut.png", "../README.md"])
def test_unknown_names_raise_keyerror_listing_known(bad):
    with pytest.raises(KeyError, match="known: animated.gif"):
        data.path(bad)


def test_missing_folder_names_the_fix(tmp_path):
    code = "import cinb.data as d\ntry:\n    d.sample_dir()\nexcept FileNotFoundError as e:\n    print(e)\n"
    env = {"CINB_SAMPLE_DIR": str(tmp_path / "nowhere"), "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    assert "nowhere" in out and "CINB_SAMPLE_DIR" in out and "pip install -e" in out


def test_environment_variable_points_elsewhere(tmp_path):
    (tmp_path / "MANIFEST.json").write_text('{"files": {"x.png": {"width": 1, "height": 1}}}')
    Image.new("RGB", (1, 1)).save(tmp_path / "x.png")
    code = "import cinb.data as d; print(d.path('x'), d.names())"
    env = {"CINB_SAMPLE_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    assert out.strip() == f"{tmp_path / 'x.png'} ['x.png']"
