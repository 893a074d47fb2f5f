"""imageMogr2/AIGCMetadata: the TC260 AIGC label written into the output, read back by ImageAIGCMetadata.

CI's pages: "添加 AIGC 图片元数据标识" (cloud.tencent.com/document/product/460/122024, API 436/124900):
``imageMogr2/AIGCMetadata/Label/<Label>/ContentProducer/<...>/.../ReservedCode2/<...>``, values in
URL-safe Base64, Label required, the others optional (SDK page 460/123771); JPEG, PNG, AVIF.
"""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from PIL import Image, ImageCms

import cinb
from cinb import CIError, parse_rule, pic_operations, process
from cinb.ai.aigc import read_aigc
from cinb.ops.aigc import FIELDS, MAX_VALUE, TC260_NS, xmp_packet
from cinb.tokens import b64u_encode as b64

LABEL = {"Label": "1", "ContentProducer": "001191110108MA01KP2T5U00000", "ProduceID": "生成-2025-0001",
         "ReservedCode1": "c2lnbmF0dXJl", "ContentPropagator": "001191110108MA01KP2T5U00001",
         "PropagateID": "传播/0001?x=1&y=<2>", "ReservedCode2": "{\"k\": \"v\"}"}


def rule_for(fields: dict, order=None) -> str:
    names = order or list(fields)
    return "imageMogr2/AIGCMetadata/" + "/".join(f"{k}/{b64(fields[k])}" for k in names)


def aigc(data: bytes) -> dict:
    return cinb.ci_process(data, "ImageAIGCMetadata").json


def jpeg(*, size=(96, 64), **save) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (200, 60, 30)).save(buf, "JPEG", quality=90, **save)
    return buf.getvalue()


# --- the rule --------------------------------------------------------------------------------------


def test_rule_text_is_canonical_and_parses_back():
    rule = parse_rule(rule_for(LABEL, order=list(reversed(FIELDS))) + "/format/png")
    text = str(rule)
    assert text == rule_for(LABEL, order=list(FIELDS)) + "/format/png"  # the practice guide's order
    assert parse_rule(text) == rule


def test_label_alone_is_enough():
    r = process(jpeg(), rule_for({"Label": "1"}))
    assert aigc(r.data) == {"AIGC": {"Label": "1"}}
    assert r.info["aigc_written"] == {"Label": "1"}


def test_padded_base64_is_read_like_unpadded():
    padded = "imageMogr2/AIGCMetadata/Label/MQ==/ProduceID/" + b64("p-1") + "="
    assert aigc(process(jpeg(), padded).data) == {"AIGC": {"Label": "1", "ProduceID": "p-1"}}


# --- round trip per output format -------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["jpg", "png", "webp", "avif", "heif"])
def test_every_xmp_format_carries_the_label_back(fmt):
    r = process(jpeg(), rule_for(LABEL) + f"/thumbnail/!50p/format/{fmt}")
    assert (r.width, r.height) == (48, 32)
    assert aigc(r.data) == {"AIGC": LABEL}
    assert list(aigc(r.data)["AIGC"]) == list(FIELDS)


def test_the_label_follows_other_parameters_in_any_position():
    first = process(jpeg(), rule_for(LABEL) + "/rotate/90/quality/70")
    last = process(jpeg(), "imageMogr2/rotate/90/" + rule_for(LABEL)[len("imageMogr2/"):] + "/quality/70")
    assert first.data == last.data and (first.width, first.height) == (64, 96)
    assert aigc(first.data) == {"AIGC": LABEL}


def test_pipeline_with_a_later_format_stage():
    r = process(jpeg(), rule_for({"Label": "2"}) + "|imageMogr2/format/webp")
    assert r.format == "webp" and aigc(r.data) == {"AIGC": {"Label": "2"}}


def test_animated_webp_from_a_gif_carries_the_label():
    frames = [Image.new("RGB", (32, 32), c) for c in ("red", "blue", "green")]
    buf = io.BytesIO()
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:], duration=80, loop=0)
    r = process(buf.getvalue(), rule_for({"Label": "1"}) + "/format/webp")
    with Image.open(io.BytesIO(r.data)) as img:
        assert img.n_frames == 3
    assert aigc(r.data) == {"AIGC": {"Label": "1"}}


# --- other metadata ------------------------------------------------------------------------------


def test_exif_icc_orientation_and_other_xmp_are_kept():
    exif = Image.Exif()
    exif[0x0112] = 6
    exif[0x010F] = "Maker"
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    other = xmp_packet({"Label": "3"}).replace(
        b"</rdf:RDF>", b'<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/">'
                       b"<dc:source>camera roll</dc:source></rdf:Description></rdf:RDF>")
    src = jpeg(exif=exif.tobytes(), icc_profile=icc, xmp=other)
    for fmt in ("jpg", "png", "webp", "avif"):
        r = process(src, rule_for(LABEL) + f"/format/{fmt}")
        assert aigc(r.data) == {"AIGC": LABEL}, fmt  # the source's Label 3 is replaced
        with Image.open(io.BytesIO(r.data)) as img:
            assert img.getexif().get(0x0112) == 6, fmt  # orientation still pending, as without the label
            assert img.info.get("icc_profile") == icc, fmt
            xmp = img.info.get("xmp") or img.info.get("XML:com.adobe.xmp")
            xmp = xmp.encode() if isinstance(xmp, str) else xmp
            assert b"camera roll" in xmp and xmp.count(b"AIGC>") == 2, fmt  # one element: open + close tag


def test_auto_orient_then_label():
    exif = Image.Exif()
    exif[0x0112] = 6
    r = process(jpeg(exif=exif.tobytes()), "imageMogr2/auto-orient/" + rule_for({"Label": "1"})[11:])
    assert (r.width, r.height) == (64, 96)
    assert aigc(r.data) == {"AIGC": {"Label": "1"}}


def test_strip_removes_everything_but_the_label():
    other = xmp_packet({"Label": "3"}).replace(b"</rdf:RDF>", b'<rdf:Description xmlns:dc="d"><dc:x>keep?</dc:x>'
                                                              b"</rdf:Description></rdf:RDF>")
    exif = Image.Exif()
    exif[0x010F] = "Maker"
    r = process(jpeg(exif=exif.tobytes(), xmp=other), rule_for({"Label": "1"}) + "/strip")
    with Image.open(io.BytesIO(r.data)) as img:
        assert not img.getexif()
        assert b"keep?" not in img.info["xmp"]
    assert aigc(r.data) == {"AIGC": {"Label": "1"}}


def test_a_source_xmp_that_is_no_xml_is_replaced_by_the_label():
    r = process(jpeg(xmp=b"<x:xmpmeta AIGC <<< not xml"), rule_for({"Label": "1"}))
    assert aigc(r.data) == {"AIGC": {"Label": "1"}}


def test_a_label_in_attribute_form_is_replaced_not_doubled():
    packet = (f'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
              f'<rdf:Description rdf:about="" xmlns:aigc="{TC260_NS}" aigc:AIGC=\'{{"Label":"3"}}\'/>'
              f"</rdf:RDF></x:xmpmeta>").encode()
    r = process(jpeg(xmp=packet), rule_for({"Label": "1"}) + "/format/png")
    assert aigc(r.data) == {"AIGC": {"Label": "1"}}
    with Image.open(io.BytesIO(r.data)) as img:
        assert "aigc:AIGC" not in img.info["XML:com.adobe.xmp"]


def test_written_json_is_the_practice_guides_compact_object():
    r = process(jpeg(), rule_for({"ProduceID": "p", "Label": "1"}))
    with Image.open(io.BytesIO(r.data)) as img:
        xmp = img.info["xmp"]
    assert b'<TC260:AIGC>{"Label":"1","ProduceID":"p"}</TC260:AIGC>' in xmp
    assert json.loads(xmp.split(b"<TC260:AIGC>")[1].split(b"<")[0]) == {"Label": "1", "ProduceID": "p"}


# --- errors --------------------------------------------------------------------------------------


@pytest.mark.parametrize("rule, code, token", [
    (rule_for({"ContentProducer": "x"}), -103, "AIGCMetadata"),                 # no Label
    ("imageMogr2/AIGCMetadata", -103, "AIGCMetadata"),                          # nothing after it
    ("imageMogr2/AIGCMetadata/format/png", -103, "format"),                     # no field
    ("imageMogr2/AIGCMetadata/label/MQ", -103, "label"),                        # CI's spelling only
    ("imageMogr2/AIGCMetadata/Label/", -103, "Label"),                          # empty value
    ("imageMogr2/AIGCMetadata/Label/MQ/ProduceID", -103, "ProduceID"),          # value missing
    ("imageMogr2/AIGCMetadata/Label/%%%", -103, "%%%"),                         # not Base64
    ("imageMogr2/AIGCMetadata/Label/_w", -103, "_w"),                           # not UTF-8 once decoded
    ("imageMogr2/AIGCMetadata/Label/MQ/Label/Mg", -103, "Label"),               # repeated
    ("imageMogr2/AIGCMetadata/Label/IA", -103, "Label"),                        # blank text
    ("imageMogr2/AIGCMetadata/Label/MQ/Producer/MQ", -103, "Producer"),         # unknown field
    (rule_for({"Label": "1"}) + "/" + rule_for({"Label": "2"})[11:], -103, "AIGCMetadata"),  # twice
    (rule_for({"Label": "1", "ProduceID": "x" * (MAX_VALUE + 1)}), -103, "ProduceID"),
])
def test_malformed_rules_are_bad_parameter(rule, code, token):
    with pytest.raises(CIError) as err:
        parse_rule(rule)
    assert err.value.code == code and err.value.token == token


@pytest.mark.parametrize("fmt", ["gif", "bmp"])
def test_formats_outside_cis_list_refuse_rather_than_drop_the_label(fmt):
    with pytest.raises(CIError) as err:
        process(jpeg(), rule_for({"Label": "1"}) + f"/format/{fmt}")
    assert err.value.code == -113 and err.value.token == fmt


def test_the_refusal_gives_cis_list_as_the_reason():
    """A GIF output carries XMP (a source's label survives format/gif): it is refused because CI does not list it."""
    from cinb.ops.aigc import unsupported_output

    err = unsupported_output("gif")
    assert err.code == -113 and err.token == "gif"
    assert "JPEG, PNG and AVIF" in err.message and "CI" in err.message and "cannot carry" not in err.message


def test_a_gif_source_kept_as_gif_is_refused_and_converted_is_written():
    buf = io.BytesIO()
    Image.new("RGB", (16, 16), "red").save(buf, "GIF")
    with pytest.raises(CIError) as err:
        process(buf.getvalue(), rule_for({"Label": "1"}))
    assert err.value.code == -113
    assert aigc(process(buf.getvalue(), rule_for({"Label": "1"}) + "/format/png").data) == {"AIGC": {"Label": "1"}}


def test_conversions_without_the_rule_still_keep_a_source_label():
    src = jpeg(xmp=xmp_packet({"Label": "1"}))
    for fmt in ("png", "webp", "heif", "gif"):  # GIF: XMP Part 3's application extension (tests/test_gif_xmp.py)
        assert read_aigc(process(src, f"imageMogr2/format/{fmt}").data, fmt)[0] == {"AIGC": {"Label": "1"}}


# --- where CI uses it: Pic-Operations, and collections --------------------------------------------


def test_pic_operations_rule(tmp_path):
    (tmp_path / "in.jpg").write_bytes(jpeg())
    ops = {"is_pic_info": 1, "rules": [{"fileid": "labelled.jpg", "rule": rule_for(LABEL)}]}
    pic_operations(tmp_path / "in.jpg", ops, bucket_dir=tmp_path, key="in.jpg")
    assert aigc((tmp_path / "labelled.jpg").read_bytes()) == {"AIGC": LABEL}


def test_apply_over_a_collection_then_the_aigc_analysis(tmp_path):
    pd = pytest.importorskip("pandas")
    src = tmp_path / "src"
    src.mkdir()
    for i in range(3):
        (src / f"p{i}.jpg").write_bytes(jpeg(size=(40 + i, 30)))
    rule = rule_for({"Label": "1", "ContentProducer": "001191"}) + "/format/png"
    out = cinb.apply(cinb.scan(src, progress=False), rule, tmp_path / "out", pool="inline", progress=False)
    assert isinstance(out, pd.DataFrame) and out["error"].isna().all()
    labelled = cinb.analyze(cinb.scan(tmp_path / "out", progress=False), "aigc", pool="inline", progress=False)
    assert labelled["aigc"].all() and set(labelled["aigc_producer"]) == {"001191"}


def test_the_label_does_not_change_the_pixels_or_the_shrink_on_load():
    rng = np.random.default_rng(1)
    src = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (600, 800, 3), dtype=np.uint8)).save(src, "JPEG", quality=90)
    plain = process(src.getvalue(), "imageMogr2/thumbnail/!10p/format/png")
    labelled = process(src.getvalue(), rule_for({"Label": "1"}) + "/thumbnail/!10p/format/png")
    assert np.array_equal(np.asarray(plain.image), np.asarray(labelled.image))


def test_size_limit_keep_original_does_not_lose_the_label():
    small = jpeg(size=(32, 32))
    r = process(small, rule_for({"Label": "1"}) + "/size-limit/900k!")
    assert aigc(r.data) == {"AIGC": {"Label": "1"}}
