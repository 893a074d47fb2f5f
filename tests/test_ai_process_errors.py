"""run_request reports what failed: the input image (-113, naming it) or something else (not -113)."""

from __future__ import annotations

import pytest
from PIL import Image

import cinb
from cinb.ai.endpoints import Answer, Endpoint, register_endpoint, unregister_endpoint
from cinb.errors import CIError


def _reads_a_missing_model(inp):
    inp.header()  # the input is fine
    with open("/no/such/dir/model.onnx", "rb"):  # a model file that is not installed
        pass
    return Answer({})


@pytest.fixture
def photo(tmp_path):
    path = tmp_path / "photo.png"
    Image.new("RGB", (8, 6), (1, 2, 3)).save(path)
    return path


def test_an_oserror_inside_an_endpoint_is_not_reported_as_the_input_missing(photo):
    register_endpoint(Endpoint("MissingModelDemo", _reads_a_missing_model))
    try:
        with pytest.raises(FileNotFoundError, match="model.onnx"):
            cinb.ci_process(photo, "MissingModelDemo")
    finally:
        unregister_endpoint("MissingModelDemo")


@pytest.mark.parametrize("name", ["ImageInspect", "AssessQuality", "DetectFace"])
def test_a_missing_input_path_is_113_naming_it(tmp_path, name):
    missing = tmp_path / "gone.jpg"
    with pytest.raises(CIError) as err:
        cinb.ci_process(missing, name)
    assert err.value.code == -113 and "gone.jpg" in str(err.value)


def test_a_folder_as_input_is_113(tmp_path):
    with pytest.raises(CIError) as err:
        cinb.ci_process(tmp_path, "AssessQuality")
    assert err.value.code == -113
