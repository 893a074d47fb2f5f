"""Pic-Operations (upload-time persistence) run locally: keys, limits, UploadResult shape."""

from __future__ import annotations

import io
import json

import pytest
from PIL import Image

import cinb
from cinb.pic_operations import pic_operations, resolve_key, to_xml


@pytest.fixture(scope="module")
def upload() -> bytes:
    img = Image.new("RGB", (600, 400), (200, 40, 40))
    exif = Image.Exif()
    exif[0x0112] = 6
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=80, exif=exif.tobytes())
    return buf.getvalue()


def test_rules_write_derived_objects_and_answer_like_ci(upload, tmp_path):
    ops = json.dumps({"is_pic_info": 1, "rules": [
        {"fileid": "thumbs/small.webp", "rule": "imageMogr2/thumbnail/150x/format/webp"},
        {"fileid": "/root.png", "rule": "imageMogr2/auto-orient/format/png"},
    ]})
    res = pic_operations(upload, ops, bucket_dir=tmp_path, key="photos/upload.jpg")
    small, root = res["ProcessResults"]["Object"]
    assert small["Key"] == "photos/thumbs/small.webp" and root["Key"] == "root.png"
    assert (small["Width"], small["Height"], small["Format"]) == ("150", "100", "webp")
    assert (root["Width"], root["Height"]) == ("400", "600")  # auto-orient applied orientation 6
    assert (tmp_path / "photos/thumbs/small.webp").stat().st_size == int(small["Size"])
    with Image.open(tmp_path / "root.png") as im:
        assert im.size == (400, 600)
    info = res["OriginalInfo"]["ImageInfo"]
    assert info["Quality"] == "80" and info["Orientation"] == "6" and info["Format"] == "JPEG"
    assert res["OriginalInfo"]["Key"] == "photos/upload.jpg"
    xml = to_xml(res)
    assert xml.startswith("<UploadResult><OriginalInfo>") and "<Key>root.png</Key>" in xml


def test_original_info_only_when_asked(upload, tmp_path):
    res = pic_operations(upload, {"rules": [{"fileid": "a.jpg", "rule": "imageMogr2/thumbnail/10x"}]},
                         bucket_dir=tmp_path)
    assert "OriginalInfo" not in res


def test_overwriting_the_original_needs_consent(upload, tmp_path):
    ops = {"rules": [{"fileid": "upload.jpg", "rule": "imageMogr2/thumbnail/10x"}]}
    with pytest.raises(cinb.CIError, match="overwrite the original"):
        pic_operations(upload, ops, bucket_dir=tmp_path, key="upload.jpg")
    res = pic_operations(upload, ops, bucket_dir=tmp_path, key="upload.jpg", allow_overwrite=True)
    assert res["ProcessResults"]["Object"][0]["Width"] == "10"


@pytest.mark.parametrize("ops, message", [
    ("{not json", "not valid JSON"),
    ({"rules": []}, "1 to 5 rules"),
    ({"rules": [{"fileid": f"{i}.jpg", "rule": "imageInfo"} for i in range(6)]}, "1 to 5 rules"),
    ({"rules": [{"fileid": "dir/", "rule": "imageMogr2/strip"}]}, "not end in '/'"),
    ({"rules": [{"fileid": "a.jpg"}]}, "string 'fileid' and 'rule'"),
    ({"rules": [{"fileid": "../../etc/x", "rule": "imageMogr2/strip"}]}, "leaves the bucket"),
    ({"is_pic_info": 7, "rules": [{"fileid": "a.jpg", "rule": "imageMogr2/strip"}]}, "is_pic_info"),
    ({"rules": [{"fileid": "a.jpg", "rule": "imageMogr2/rotate/720"}]}, "rotate"),
])
def test_bad_operations_are_cierrors(upload, tmp_path, ops, message):
    with pytest.raises(cinb.CIError, match=message) as info:
        pic_operations(upload, ops, bucket_dir=tmp_path, key="a/b.jpg")
    assert info.value.code == -103
    assert not any(tmp_path.rglob("*.jpg"))


def test_resolve_key():
    assert resolve_key("a/b/c.jpg", "d.png") == "a/b/d.png"
    assert resolve_key("c.jpg", "/x/d.png") == "x/d.png"


def test_cli_pic_operations(upload, tmp_path):
    from cinb.cli import main

    src = tmp_path / "up.jpg"
    src.write_bytes(upload)
    ops = tmp_path / "ops.json"
    ops.write_text(json.dumps({"rules": [{"fileid": "t.png", "rule": "imageMogr2/thumbnail/60x/format/png"}]}))
    assert main(["pic-operations", str(src), f"@{ops}", "-o", str(tmp_path / "bucket")]) == 0
    with Image.open(tmp_path / "bucket" / "t.png") as im:
        assert im.size == (60, 40)
    assert main(["pic-operations", str(src), '{"rules": []}', "-o", str(tmp_path / "bucket")]) == 2


def test_cli_pic_operations_reads_styles(upload, tmp_path):
    # CI: "若按指定样式处理，则以 style/ 开头，后加样式名" (a rule may name a bucket style)
    from cinb.cli import main

    src = tmp_path / "up.jpg"
    src.write_bytes(upload)
    styles = tmp_path / "styles.json"
    styles.write_text(json.dumps({"small": "imageMogr2/thumbnail/30x/format/png"}))
    ops = json.dumps({"rules": [{"fileid": "s.png", "rule": "style/small"},
                                {"fileid": "t.png", "rule": "imageMogr2/style/small"}]})
    bucket = tmp_path / "bucket"
    assert main(["pic-operations", str(src), ops, "-o", str(bucket), "--styles", str(styles)]) == 0
    for name in ("s.png", "t.png"):
        with Image.open(bucket / name) as im:
            assert im.size == (30, 20) and im.format == "PNG"


def test_cli_pic_operations_unknown_or_missing_style_is_105(upload, tmp_path, capsys):
    from cinb.cli import main

    src = tmp_path / "up.jpg"
    src.write_bytes(upload)
    styles = tmp_path / "styles.json"
    styles.write_text(json.dumps({"small": "imageMogr2/thumbnail/30x"}))
    ops = json.dumps({"rules": [{"fileid": "s.png", "rule": "style/nope"}]})
    assert main(["pic-operations", str(src), ops, "-o", str(tmp_path / "b"), "--styles", str(styles)]) == 2
    assert "-105" in capsys.readouterr().err
    assert main(["pic-operations", str(src), ops, "-o", str(tmp_path / "b")]) == 2  # no --styles at all
    assert "-105" in capsys.readouterr().err
    assert not (tmp_path / "b").exists() or not any((tmp_path / "b").rglob("*.png"))
