"""The ci-process contract: one endpoint declaration -> ci_process, rule form, analysis, CLI (issue 9).

ImageInspect (spec §19.12) is the real endpoint that runs through every derived path here.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

import cinb
from cinb import CIError
from cinb.ai import Answer, Endpoint, bool_param, choice_param, int_param, parse_request, register_endpoint
from cinb.ai.endpoints import unregister_endpoint
from cinb.ai.inspect import find_ts_stream, inspect_bytes, picture_end, sniff
from cinb.ai.stages import register_rule_form


def _encoded(fmt: str, size=(16, 12), color=(200, 30, 30), mode="RGB") -> bytes:
    buf = io.BytesIO()
    Image.new(mode, size, color).save(buf, fmt)
    return buf.getvalue()


def _ts(packets: int) -> bytes:
    """A structurally valid MPEG-TS stream: PAT packets (PID 0, payload only) with a running counter."""
    out = bytearray()
    for i in range(packets):
        out += bytes([0x47, 0x40 if i == 0 else 0x00, 0x00, 0x10 | (i & 0x0F)]) + bytes(184)
    return bytes(out)


# --- requests --------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["ImageInspect", "imageinspect", "ci-process=ImageInspect", "?ci-process=ImageInspect",
                                  "?imageInspect", "http://b-1250000000.cos.ap-shanghai.myqcloud.com/a.png"
                                  "?ci-process=ImageInspect&q-sign-algorithm=sha1&q-signature=abc"])
def test_a_request_is_a_name_a_query_or_a_whole_url(text):
    assert parse_request(text).endpoint.name == "ImageInspect"


@pytest.mark.parametrize("text, message", [
    ("NoSuchEndpoint", "unknown ci-process 'NoSuchEndpoint'"),
    ("ci-process=ImageInspect&ci-process=QRcodeX", "one ci-process"),
    ("imageMogr2/thumbnail/100x", "is a processing rule, not a ci-process request"),
    ("ci-process=ImageInspect&cover=1", "has no parameter 'cover'"),
    ("ci-process=ImageInspect&detect-url=http%3A%2F%2Fexample.com%2Fa.jpg", "never touches the network"),
    ("", "needs an endpoint name"),
])
def test_bad_requests_are_cierror_103_naming_the_problem(text, message):
    with pytest.raises(CIError) as err:
        parse_request(text)
    assert err.value.code == -103 and message in str(err.value)


@pytest.fixture
def demo_endpoint():
    """A small real endpoint with every kind of parameter: mean colour of the upright image."""

    def run(inp, *, max_face_num, cover, mode):
        rgb = inp.rgb(64)
        mean = [int(round(v)) for v in rgb.reshape(-1, 3).mean(axis=0)]
        answer = {"Mean": mean, "Count": max_face_num, "Cover": cover, "Mode": mode,
                  "Items": [{"Point": ["0,0", f"{inp.image(None).width},0"]}]}
        if cover:
            return Answer(answer, image=Image.new("RGB", inp.image(None).size, tuple(mean)), format="png")
        return Answer(answer)

    ep = register_endpoint(Endpoint(
        "MeanDemo", run, rule="MeanDemo", analysis="mean_demo",
        params=(int_param("max-face-num", 1, lo=1, hi=120), bool_param("cover"),
                choice_param("mode", ("fast", "accurate"), "fast")),
        columns={"mean_r": int}, flatten=lambda r: {"mean_r": r["Mean"][0]}))
    register_rule_form(ep)
    yield ep
    unregister_endpoint("MeanDemo")


def test_parameters_take_ci_and_python_spellings_typed(demo_endpoint):
    png = _encoded("PNG")
    by_query = cinb.ci_process(png, "ci-process=MeanDemo&max-face-num=5&mode=Accurate")
    by_kwargs = cinb.ci_process(png, "MeanDemo", max_face_num=5, mode="accurate")
    by_hyphen = cinb.ci_process(png, "MeanDemo", **{"max-face-num": "5", "mode": "accurate"})
    assert by_query.json == by_kwargs.json == by_hyphen.json
    assert by_query.json["Count"] == 5 and by_query.json["Cover"] is False and by_query.json["Mean"] == [200, 30, 30]


@pytest.mark.parametrize("params, message", [
    ({"max_face_num": 0}, "max-face-num"), ({"max_face_num": "5x"}, "max-face-num"), ({"cover": 2}, "0 or 1"),
    ({"mode": "slow"}, "one of fast, accurate"), ({"max_face_num": True}, "max-face-num")])
def test_bad_parameter_values_are_cierror_103(demo_endpoint, params, message):
    with pytest.raises(CIError) as err:
        cinb.ci_process(_encoded("PNG"), "MeanDemo", **params)
    assert err.value.code == -103 and message in str(err.value)


def test_a_parameter_given_twice_is_refused(demo_endpoint):
    with pytest.raises(CIError, match="given twice"):
        cinb.ci_process(_encoded("PNG"), "ci-process=MeanDemo&max-face-num=2", max_face_num=3)


def test_json_answer_has_ci_shapes_in_json_xml_and_response(demo_endpoint):
    r = cinb.ci_process(_encoded("PNG"), "MeanDemo")
    assert r.format == "json" and r.response == r.json and (r.width, r.height) == (16, 12)
    assert r.xml == ("<Response><Mean>200</Mean><Mean>30</Mean><Mean>30</Mean><Count>1</Count><Cover>false</Cover>"
                     "<Mode>fast</Mode><Items><Point>0,0</Point><Point>16,0</Point></Items></Response>")


def test_image_answer_is_encoded_with_response_alongside(demo_endpoint):
    # A JSON endpoint's image (QRcode's cover=1) is what its rule form stores; ci_process answers JSON.
    assert cinb.ci_process(_encoded("JPEG"), "MeanDemo", cover=1).format == "json"
    register_endpoint(Endpoint("MeanImageDemo", demo_endpoint.run, params=demo_endpoint.params, kind="image"))
    try:
        r = cinb.ci_process(_encoded("JPEG", size=(30, 20)), "MeanImageDemo", cover=1)
        assert r.format == "png" and r.image.size == (30, 20) and r.response["Cover"] is True
        assert r.image.getpixel((5, 5)) == tuple(r.response["Mean"]) and r.info["Cover"] is True
        with pytest.raises(CIError, match="returned no image"):
            cinb.ci_process(_encoded("JPEG"), "MeanImageDemo", cover=0)
    finally:
        unregister_endpoint("MeanImageDemo")


def test_endpoints_see_the_image_upright(demo_endpoint):
    img = Image.new("RGB", (40, 10), "white")
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 on display: 10 x 40 upright
    buf = io.BytesIO()
    img.save(buf, "JPEG", exif=exif.tobytes())
    r = cinb.ci_process(buf.getvalue(), "MeanDemo")
    assert r.json["Items"][0]["Point"][1] == "10,0"


def test_rule_form_runs_in_pipelines_and_pic_operations_reports_its_fields(demo_endpoint, tmp_path):
    rule = cinb.parse_rule("imageMogr2/thumbnail/8x|MeanDemo/max-face-num/3")
    assert str(rule) == "imageMogr2/thumbnail/8x|MeanDemo/max-face-num/3"
    out = cinb.process(_encoded("PNG", size=(16, 12)), rule)
    assert out.format == "png" and out.response["Count"] == 3 and out.response["Mean"] == [200, 30, 30]
    res = cinb.pic_operations(_encoded("PNG"), {"rules": [{"fileid": "m.png", "rule": "MeanDemo/cover/1"}]},
                              bucket_dir=tmp_path, key="a.png")
    obj = res["ProcessResults"]["Object"][0]
    assert obj["Count"] == "1" and obj["Mean"] == [200, 30, 30] and (tmp_path / "m.png").exists()
    with pytest.raises(CIError, match="unknown MeanDemo parameter 'size'"):
        cinb.parse_rule("MeanDemo/size/3")


def test_every_endpoint_with_an_analysis_is_an_analysis(demo_endpoint, tmp_path):
    from cinb.collection.analyses.endpoints import register_endpoint_analysis

    register_endpoint_analysis(demo_endpoint)
    Image.new("RGB", (10, 10), (9, 9, 9)).save(tmp_path / "a.png")
    (tmp_path / "b.png").write_bytes(b"not an image")
    df = cinb.analyze(str(tmp_path), "mean_demo", workers=1, progress=False,
                      options={"mean_demo": {"max_face_num": 4}})
    row = df.set_index("name").loc["a.png"]
    assert row["mean_r"] == 9 and row["mean_demo_response"]["Count"] == 4
    bad = df.set_index("name").loc["b.png"]
    assert "X-ErrNo -113" in bad["error"] and bad["mean_r"] is pd_na()


def pd_na():
    import pandas as pd

    return pd.NA


# --- ImageInspect ----------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["PNG", "BMP", "JPEG", "GIF", "WEBP"])
def test_inspect_finds_a_stream_after_any_picture(fmt):
    pic = _encoded(fmt)
    answer = cinb.ci_process(pic + _ts(6), "ImageInspect").json
    assert answer["suspicious"] is True and answer["suspiciousType"] == "MPEG-TS"
    assert answer["suspiciousBeginByte"] == len(pic) and answer["suspiciousEndByte"] == len(pic) + 6 * 188 - 1
    assert answer["suspiciousSize"] == 6 * 188 and answer["picSize"] == len(pic) + 6 * 188


@pytest.mark.parametrize("fmt, pic_type", [("PNG", "PNG"), ("BMP", "BMP"), ("JPEG", "JPG"), ("GIF", "GIF")])
def test_inspect_clean_pictures_are_not_suspicious(fmt, pic_type):
    answer = cinb.ci_process(_encoded(fmt), "ImageInspect").json
    assert answer == {"picSize": len(_encoded(fmt)), "picType": pic_type, "suspicious": False}


def test_inspect_pixel_data_never_looks_like_a_stream():
    grey = _encoded("BMP", size=(300, 300), color=(0x47, 0x47, 0x47))  # every pixel byte is the sync byte
    assert cinb.ci_process(grey, "ImageInspect").json["suspicious"] is False
    noise = np.random.default_rng(0).integers(0, 256, (200, 200, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(noise).save(buf, "PNG")
    assert cinb.ci_process(buf.getvalue(), "ImageInspect").json["suspicious"] is False
    junk = bytes(np.random.default_rng(1).integers(0, 256, 900, dtype=np.uint8))
    assert cinb.ci_process(buf.getvalue() + junk, "ImageInspect").json["suspicious"] is False  # a short trailer


def test_inspect_a_stream_disguised_by_its_name(tmp_path):
    fake = tmp_path / "cover.png"
    fake.write_bytes(_ts(20))
    answer = cinb.ci_process(fake, "ImageInspect").json
    assert answer["picType"] == "PNG" and answer["suspicious"] is True and answer["suspiciousBeginByte"] == 0


@pytest.mark.parametrize("data, code", [(b"plain text, no picture, no stream", -113), (b"", -40168)])
def test_inspect_refuses_what_is_neither(data, code):
    with pytest.raises(CIError) as err:
        cinb.ci_process(data, "ImageInspect")
    assert err.value.code == code


def test_inspect_keeps_cis_limits():
    huge = io.BytesIO()
    Image.new("1", (30001, 8)).save(huge, "PNG")
    with pytest.raises(CIError) as err:
        cinb.ci_process(huge.getvalue(), "ImageInspect")
    assert err.value.code == -447


def test_inspect_helpers_on_containers():
    png = _encoded("PNG")
    assert sniff(png) == "png" and picture_end(png + b"xyz", "png") == len(png)
    jpg = _encoded("JPEG")
    assert picture_end(jpg + b"\xff\xd9junk", "jpeg") == len(jpg)
    assert find_ts_stream(_ts(2)) is None  # two packets are not enough evidence
    assert inspect_bytes(_ts(3))["suspiciousBeginByte"] == 0


def test_inspect_as_an_analysis_gives_flat_typed_columns(tmp_path):
    (tmp_path / "ok.png").write_bytes(_encoded("PNG"))
    (tmp_path / "bad.png").write_bytes(_encoded("PNG") + _ts(8))
    df = cinb.analyze(str(tmp_path), "inspect", workers=1, progress=False).set_index("name")
    assert bool(df.loc["bad.png", "inspect_suspicious"]) and df.loc["bad.png", "inspect_type"] == "MPEG-TS"
    assert not bool(df.loc["ok.png", "inspect_suspicious"]) and df["inspect_begin"].dtype == "Int64"
    assert df.loc["bad.png", "inspect_response"]["suspiciousSize"] == 8 * 188


def test_cli_ai_prints_json_or_xml_and_lists_endpoints(tmp_path):
    path = tmp_path / "a.png"
    path.write_bytes(_encoded("PNG") + _ts(4))
    run = [sys.executable, "-m", "cinb", "ai"]
    out = subprocess.run(run + ["ImageInspect", str(path)], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout)["suspicious"] is True
    out = subprocess.run(run + ["ci-process=ImageInspect", str(path), "--xml"], capture_output=True, text=True,
                         check=True)
    assert out.stdout.startswith("<Response><picSize>")
    assert "ImageInspect" in subprocess.run(run + ["list"], capture_output=True, text=True, check=True).stdout
    bad = subprocess.run(run + ["ImageInspect", str(path), "cover=1"], capture_output=True, text=True)
    assert bad.returncode == 2 and "has no parameter 'cover'" in bad.stderr


def test_show_draws_endpoint_shapes_over_thumbnails(tmp_path):
    from cinb.collection.analyses.endpoints import register_endpoint_analysis
    from cinb.collection.analyses.registry import unregister_analysis

    def run(inp):
        w, h = inp.image(None).size
        return Answer({"Box": [[0, 0], [w // 2, 0], [w // 2, h // 2], [0, h // 2]], "Label": "top-left"})

    ep = register_endpoint(Endpoint("BoxDemo", run, analysis="box_demo", columns={"box_label": str},
                                    flatten=lambda r: {"box_label": r["Label"]},
                                    shapes=lambda r: [([tuple(p) for p in r["Box"]], r["Label"])]))
    register_endpoint_analysis(ep)
    try:
        Image.new("RGB", (300, 100), "teal").save(tmp_path / "wide.png")
        df = cinb.analyze(str(tmp_path), "box_demo", workers=1, progress=False)
        markup = df.ci.show(progress=False).html
        assert '<svg class="cinb-shapes" viewBox="0 0 300 100"' in markup
        assert 'points="0.0,0.0 150.0,0.0 150.0,50.0 0.0,50.0"' in markup and "<title>top-left</title>" in markup
        assert "<svg" not in df.ci.show(progress=False, draw=False).html
    finally:
        unregister_analysis("box_demo")
        unregister_endpoint("BoxDemo")


PAYLOAD_SAMPLES = {
    "ZIP": b"PK\x03\x04" + bytes(60), "RAR": b"Rar!\x1a\x07\x00" + bytes(40), "7Z": b"7z\xbc\xaf\x27\x1c" + bytes(40),
    "ELF": b"\x7fELF\x02\x01\x01" + bytes(60), "PDF": b"%PDF-1.7\n1 0 obj\n", "HTML": b"<HTML><body>hi</body>",
    "SCRIPT": b"<script>alert(1)</script>", "PE": b"MZ" + bytes(0x3A) + b"\x40\x00\x00\x00" + b"PE\x00\x00" + bytes(20),
}


@pytest.mark.parametrize("kind", sorted(PAYLOAD_SAMPLES))
@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "GIF", "WEBP", "BMP", "AVIF"])
def test_inspect_names_payloads_appended_to_pictures(fmt, kind):
    pic = _encoded(fmt)
    answer = cinb.ci_process(pic + PAYLOAD_SAMPLES[kind], "ImageInspect").json
    assert answer["suspicious"] is True and answer["suspiciousType"] == kind
    assert answer["suspiciousBeginByte"] == len(pic)


def test_inspect_finds_a_stream_after_a_heif():
    heif = _encoded("HEIF")
    answer = cinb.ci_process(heif + _ts(4), "ImageInspect").json
    assert answer["picType"] == "HEIF" and answer["suspiciousBeginByte"] == len(heif)


def test_inspect_tolerates_what_ordinary_files_carry():
    jpg = _encoded("JPEG")
    assert cinb.ci_process(jpg + bytes(5000), "ImageInspect").json["suspicious"] is False  # zero padding
    assert cinb.ci_process(jpg + b"\r\n" + bytes(10), "ImageInspect").json["suspicious"] is False
    assert cinb.ci_process(jpg + b"SEFH" + bytes(200) + b"SEFT", "ImageInspect").json["suspicious"] is False
    first, second = Image.new("RGB", (64, 48), "red"), Image.new("RGB", (64, 48), "blue")
    buf = io.BytesIO()
    first.save(buf, "MPO", save_all=True, append_images=[second])  # a camera's multi-picture JPEG
    assert b"MPF\x00" in buf.getvalue()[:1000]
    assert cinb.ci_process(buf.getvalue(), "ImageInspect").json["suspicious"] is False
    # the same second picture without an MPF index is a hidden image
    answer = cinb.ci_process(jpg + _encoded("JPEG", color=(0, 0, 255)), "ImageInspect").json
    assert answer["suspiciousType"] == "JPEG"


def test_inspect_reports_long_unknown_tails():
    answer = cinb.ci_process(_encoded("PNG") + b"x" * 5000, "ImageInspect").json
    assert answer["suspicious"] is True and answer["suspiciousType"] == "unknown"


def test_inspect_reads_bytes_only_and_is_fast(tmp_path):
    import time

    files = []
    for i in range(40):
        p = tmp_path / f"{i}.jpg"
        Image.new("RGB", (1200, 900), (i, 2 * i, 3 * i)).save(p, quality=90)
        files.append(p)
    t0 = time.perf_counter()
    for p in files:
        assert cinb.ci_process(p, "ImageInspect").json["suspicious"] is False
    assert 40 / (time.perf_counter() - t0) > 100  # >= 500 files/s measured in benchmarks/bench_ai.py


def test_a_forked_child_never_reuses_nor_frees_its_parents_model():
    import os

    from cinb.ai import models

    made = []
    models.register_model(models.Model("fork-demo", "demo", "numpy", "numpy", "BSD-3-Clause",
                                       lambda threads: made.append(object()) or made[-1]))
    parent_model = models.get("fork-demo")
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: a new model, the parent's set aside (freeing it could block forever)
        ok = models.get("fork-demo") is not parent_model and any(o is parent_model for _, o in models._INHERITED)
        models.unload()
        os.write(write, b"1" if ok and any(o is parent_model for _, o in models._INHERITED) else b"0")
        os._exit(0)
    os.waitpid(pid, 0)
    assert os.read(read, 1) == b"1" and models.get("fork-demo") is parent_model
    models.unload()


def test_xml_spells_booleans_as_each_endpoints_documentation_does():
    png = _encoded("PNG", size=(300, 200))
    assert "<suspicious>false</suspicious>" in cinb.ci_process(png, "ImageInspect").xml
    assert "<LongImage>FALSE</LongImage>" in cinb.ci_process(png, "AssessQuality").xml  # CI's example
