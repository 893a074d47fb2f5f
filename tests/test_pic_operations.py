"""Pic-Operations (upload-time persistence) run locally: keys, limits, UploadResult shape."""

from __future__ import annotations

import hashlib
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


# --- the original: CI stores the upload at its key; OriginalInfo/Location names it -------------------


def test_the_upload_is_stored_at_its_key_where_location_says(upload, tmp_path):
    ops = {"is_pic_info": 1, "rules": [{"fileid": "t.png", "rule": "imageMogr2/thumbnail/60x/format/png"}]}
    res = pic_operations(upload, ops, bucket_dir=tmp_path, key="photos/up.jpg")
    location = res["OriginalInfo"]["Location"]
    assert location == str(tmp_path / "photos/up.jpg")
    with open(location, "rb") as fh:
        assert fh.read() == upload
    assert res["OriginalInfo"]["ETag"] == f'"{hashlib.md5(upload).hexdigest()}"'
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == ["t.png", "up.jpg"]  # no temp files


def test_the_upload_is_stored_without_is_pic_info_too(upload, tmp_path):
    pic_operations(upload, {"rules": [{"fileid": "t.png", "rule": "imageMogr2/format/png"}]}, bucket_dir=tmp_path,
                   key="up.jpg")
    assert (tmp_path / "up.jpg").read_bytes() == upload


def test_bytes_without_a_key_are_stored_as_upload_with_their_format_extension(upload, tmp_path):
    res = pic_operations(upload, {"is_pic_info": 1, "rules": [{"fileid": "t.png", "rule": "imageMogr2/format/png"}]},
                         bucket_dir=tmp_path)
    assert res["OriginalInfo"]["Key"] == "upload.jpg" and (tmp_path / "upload.jpg").read_bytes() == upload


def test_a_picture_already_in_the_bucket_is_processed_in_place(upload, tmp_path):
    # CI's processing of a stored object: the key is its path in the bucket, and it is not copied
    stored = tmp_path / "photos" / "cat.jpg"
    stored.parent.mkdir()
    stored.write_bytes(upload)
    before = stored.stat().st_mtime_ns
    res = pic_operations(stored, {"is_pic_info": 1, "rules": [{"fileid": "thumbs/cat.png",
                                                                "rule": "imageMogr2/thumbnail/30x/format/png"}]},
                         bucket_dir=tmp_path)
    assert res["OriginalInfo"]["Key"] == "photos/cat.jpg" and res["OriginalInfo"]["Location"] == str(stored)
    assert res["ProcessResults"]["Object"][0]["Key"] == "photos/thumbs/cat.png"
    assert stored.stat().st_mtime_ns == before
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file()) == \
        ["photos/cat.jpg", "photos/thumbs/cat.png"]


def test_a_rerun_finds_its_own_original_and_another_file_is_kept(upload, tmp_path):
    ops = {"rules": [{"fileid": "t.png", "rule": "imageMogr2/thumbnail/60x/format/png"}]}
    pic_operations(upload, ops, bucket_dir=tmp_path, key="up.jpg")
    pic_operations(upload, ops, bucket_dir=tmp_path, key="up.jpg")  # the same bytes: nothing to refuse
    (tmp_path / "t.png").unlink()
    (tmp_path / "up.jpg").write_bytes(b"someone else's picture")
    with pytest.raises(cinb.CIError, match="already holds another") as err:
        pic_operations(upload, ops, bucket_dir=tmp_path, key="up.jpg")
    assert err.value.code == -103 and err.value.token == "up.jpg"
    assert (tmp_path / "up.jpg").read_bytes() == b"someone else's picture" and not (tmp_path / "t.png").exists()
    pic_operations(upload, ops, bucket_dir=tmp_path, key="up.jpg", allow_overwrite=True)
    assert (tmp_path / "up.jpg").read_bytes() == upload


def test_a_result_replacing_the_original_gives_original_info_its_etag(upload, tmp_path):
    # CI: OriginalInfo/ETag "若处理结果图覆盖原图则为结果图 ETag 信息" (the result's when it replaced the original)
    ops = {"is_pic_info": 1, "rules": [{"fileid": "up.jpg", "rule": "imageMogr2/thumbnail/10x"}]}
    res = pic_operations(upload, ops, bucket_dir=tmp_path, key="up.jpg", allow_overwrite=True)
    obj = res["ProcessResults"]["Object"][0]
    assert res["OriginalInfo"]["ETag"] == obj["ETag"] != f'"{hashlib.md5(upload).hexdigest()}"'
    assert res["OriginalInfo"]["ImageInfo"]["Width"] == "600"  # the information is the upload's
    with Image.open(tmp_path / "up.jpg") as im:
        assert im.width == 10


def test_a_failing_rule_leaves_the_bucket_as_it_was(upload, tmp_path):
    ops = {"rules": [{"fileid": "ok.png", "rule": "imageMogr2/format/png"},
                     {"fileid": "bad.png", "rule": "imageMogr2/rotate/720"}]}
    with pytest.raises(cinb.CIError):
        pic_operations(upload, ops, bucket_dir=tmp_path, key="up.jpg")
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize("key", ["../up.jpg", "a/../../up.jpg", "/", "dir/", ""])
def test_a_key_outside_the_bucket_is_103(upload, tmp_path, key):
    with pytest.raises(cinb.CIError) as err:
        pic_operations(upload, {"rules": [{"fileid": "t.png", "rule": "imageMogr2/format/png"}]},
                       bucket_dir=tmp_path / "b", key=key)
    assert err.value.code == -103
    assert not any(tmp_path.rglob("*.*"))


def test_cli_pic_operations_stores_the_upload_and_overwrite_is_asked(upload, tmp_path, capsys):
    from cinb.cli import main

    src = tmp_path / "up.jpg"
    src.write_bytes(upload)
    bucket = tmp_path / "bucket"
    ops = json.dumps({"rules": [{"fileid": "t.png", "rule": "imageMogr2/format/png"}]})
    assert main(["pic-operations", str(src), ops, "-o", str(bucket), "--key", "a/up.jpg"]) == 0
    assert (bucket / "a/up.jpg").read_bytes() == upload
    (bucket / "a/up.jpg").write_bytes(b"other")
    assert main(["pic-operations", str(src), ops, "-o", str(bucket), "--key", "a/up.jpg"]) == 2
    assert "already holds another" in capsys.readouterr().err
    assert main(["pic-operations", str(src), ops, "-o", str(bucket), "--key", "a/up.jpg", "--overwrite"]) == 0
    assert (bucket / "a/up.jpg").read_bytes() == upload
