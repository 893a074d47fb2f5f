"""EndpointAnalysis, the per-image function of an endpoint's collection analysis, on an endpoint that has
none: a CIError (-103) naming it, before the endpoint runs (was a TypeError on ``None`` after running it)."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from cinb.ai.endpoints import Answer, Endpoint, register_endpoint, unregister_endpoint
from cinb.collection.analyses.endpoints import EndpointAnalysis
from cinb.errors import BAD_PARAMETER, CIError
from cinb.imageinput import ImageInput


def _png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (6, 4), "white").save(buf, "PNG")
    return buf.getvalue()


@pytest.fixture
def width_endpoint():
    """An endpoint without an analysis that records whether it ran."""
    runs = []

    def width(inp):
        runs.append(inp)
        return Answer({"Width": inp.image(None).width})

    register_endpoint(Endpoint("NoAnalysisDemo", width))
    yield runs
    unregister_endpoint("NoAnalysisDemo")


def test_an_endpoint_without_an_analysis_is_a_bad_parameter_before_it_runs(width_endpoint):
    with pytest.raises(CIError) as err:
        EndpointAnalysis("NoAnalysisDemo")(ImageInput(_png()))
    assert err.value.code == BAD_PARAMETER and err.value.token == "NoAnalysisDemo"
    assert width_endpoint == []


def test_an_endpoint_analysis_gives_flat_columns_and_the_response():
    row = EndpointAnalysis("ImageInspect")(ImageInput(_png()))
    assert row["inspect_suspicious"] is False and isinstance(row["inspect_response"], dict)
