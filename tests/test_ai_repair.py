"""ImageRepair (spec §19.13): remove a drawn object with MaskPic or MaskPoly, PatchMatch for real."""

from __future__ import annotations

import io
import json
import shutil

import numpy as np
import pytest
from PIL import Image, ImageDraw

import cinb
from cinb import CIError
from cinb.ai.repair import MaskPath, Polygons, fill
from cinb.data import path as sample_path
from cinb.tokens import b64u_encode

pytest.importorskip("patchmatch_cython")

DISC = (150, 160, 210, 220)  # a red disc drawn on the cat's fur (chelsea.jpg, 451 x 300)
POLY = [[[146, 156], [214, 156], [214, 224], [146, 224]]]  # a square around it


def _png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


@pytest.fixture(scope="module")
def photo() -> Image.Image:
    with Image.open(sample_path("chelsea")) as im:
        return im.convert("RGB")


@pytest.fixture(scope="module")
def marked(photo) -> Image.Image:
    out = photo.copy()
    ImageDraw.Draw(out).ellipse(DISC, fill=(230, 20, 20))
    return out


def _mask_image(size) -> Image.Image:
    m = Image.new("L", size, 0)
    ImageDraw.Draw(m).polygon([tuple(p) for p in POLY[0]], fill=255)
    return m


def _inside(a: np.ndarray) -> np.ndarray:
    x0, y0, x1, y1 = DISC
    return a[y0 + 8:y1 - 8, x0 + 8:x1 - 8]


def test_maskpoly_removes_the_drawn_object_and_keeps_every_other_pixel(marked, photo):
    r = cinb.ci_process(_png(marked), "ImageRepair", MaskPoly=b64u_encode(json.dumps(POLY)))
    assert r.format == "png" and (r.width, r.height) == marked.size and r.response == {}
    out = np.asarray(r.image.convert("RGB")).astype(int)
    before, truth = np.asarray(marked).astype(int), np.asarray(photo).astype(int)
    mask = np.asarray(_mask_image(marked.size)) > 127
    assert (out[~mask] == before[~mask]).all()  # unmasked pixels unchanged
    fill_px = _inside(out).reshape(-1, 3)
    assert (fill_px[:, 0] - fill_px[:, 1] > 120).mean() < 0.01  # no red left
    ring = truth[140:240, 130:230][~mask[140:240, 130:230]].reshape(-1, 3)
    assert np.abs(fill_px.mean(0) - ring.mean(0)).max() < 25  # the fur's colour around it
    assert fill_px.std(0).mean() > 0.4 * ring.std(0).mean()  # textured, not a flat smear
    assert r.info["method"] == "patchmatch" and r.info["masked_pixels"] == int(mask.sum())


def test_maskpic_next_to_the_source_gives_the_same_answer_as_the_polygon(tmp_path, marked):
    (tmp_path / "masks").mkdir()
    marked.save(tmp_path / "photo.png")
    _mask_image(marked.size).save(tmp_path / "masks" / "m.png")
    by_poly = cinb.ci_process(tmp_path / "photo.png", "ImageRepair", MaskPoly=b64u_encode(json.dumps(POLY)))
    by_key = cinb.ci_process(tmp_path / "photo.png", f"ci-process=ImageRepair&MaskPic={b64u_encode('masks/m.png')}")
    by_abs = cinb.ci_process(tmp_path / "photo.png", "ImageRepair",
                             MaskPic=b64u_encode(str(tmp_path / "masks" / "m.png")))
    by_image = cinb.ci_process(tmp_path / "photo.png", "ImageRepair", MaskPic=_mask_image(marked.size))
    assert by_poly.data == by_key.data == by_abs.data == by_image.data


def test_a_transparent_mask_pixel_means_keep_and_a_smaller_mask_is_stretched(tmp_path, marked):
    marked.save(tmp_path / "photo.png")
    rgba = Image.new("RGBA", marked.size, (255, 255, 255, 0))  # white but transparent: keep
    rgba.paste(_mask_image(marked.size).convert("RGBA"), (0, 0), _mask_image(marked.size))
    rgba.save(tmp_path / "alpha.png")
    half = _mask_image(marked.size).resize((marked.width // 2, marked.height // 2), Image.Resampling.NEAREST)
    half.save(tmp_path / "half.png")
    a = cinb.ci_process(tmp_path / "photo.png", "ImageRepair", MaskPic=b64u_encode("alpha.png"))
    b = cinb.ci_process(tmp_path / "photo.png", "ImageRepair", MaskPic=b64u_encode("half.png"))
    n = int((np.asarray(_mask_image(marked.size)) > 127).sum())
    assert a.info["masked_pixels"] == n and abs(b.info["masked_pixels"] - n) < 0.05 * n


def test_polygons_are_in_upright_pixels_of_an_exif_rotated_photo(marked):
    stored = marked.transpose(Image.Transpose.ROTATE_90)  # orientation 6 shows it as `marked`
    exif = Image.Exif()
    exif[0x0112] = 6
    buf = io.BytesIO()
    stored.save(buf, "JPEG", quality=95, exif=exif)
    r = cinb.ci_process(buf.getvalue(), "ImageRepair", MaskPoly=POLY)
    assert r.format == "jpeg" and (r.width, r.height) == marked.size
    fill_px = _inside(np.asarray(r.image).astype(int)).reshape(-1, 3)
    assert (fill_px[:, 0] - fill_px[:, 1] > 120).mean() < 0.01


def test_an_empty_mask_returns_the_picture_unchanged(marked):
    r = cinb.ci_process(_png(marked), "ImageRepair", MaskPic=Image.new("L", marked.size, 0))
    assert r.info["masked_pixels"] == 0 and np.array_equal(np.asarray(r.image), np.asarray(marked))


def test_telea_is_the_fallback_and_says_so(marked):
    rgb = np.asarray(marked)
    mask = np.asarray(_mask_image(marked.size)) > 127
    out, info = fill(rgb, mask, method="telea")
    assert info["method"] == "cv2.inpaint (telea)" and (out[~mask] == rgb[~mask]).all()
    assert (_inside(out.astype(int))[..., 0] - _inside(out.astype(int))[..., 1] > 120).mean() < 0.01


def test_a_large_window_is_filled_reduced_and_still_keeps_unmasked_pixels():
    rng = np.random.default_rng(3)
    rgb = np.clip(rng.normal(120, 30, (900, 1400, 3)), 0, 255).astype(np.uint8)
    mask = np.zeros((900, 1400), bool)
    mask[100:800, 200:1200] = True
    out, info = fill(rgb, mask)
    assert info["scale"] < 1 and (out[~mask] == rgb[~mask]).all()
    assert abs(float(out[mask].mean()) - 120) < 10


# --- errors --------------------------------------------------------------------------------------


@pytest.mark.parametrize("params, message", [
    ({}, "needs MaskPic"),
    ({"MaskPic": b64u_encode("http://examplebucket-1250000000.cos.ap-shanghai.myqcloud.com/m.png")}, "never"),
    ({"MaskPic": b64u_encode("https://example.com/m.png")}, "never"),
    ({"MaskPic": b64u_encode("no/such/mask.png")}, "not found"),
    ({"MaskPic": "not base64!"}, "base64"),
    ({"MaskPoly": b64u_encode("[[[1,2],[3,4]]]")}, "at least 3"),
    ({"MaskPoly": b64u_encode("{oops")}, "not JSON"),
    ({"MaskPoly": b64u_encode('[[[1,2],[3,"x"],[5,6]]]')}, "at least 3"),
    ({"MaskPoly": b64u_encode("[]")}, "list of polygons"),
    ({"MaskPoly": [[[0, 0], [10000, 0], [10000, 10000], [0, 10000]]]}, "whole picture"),
    ({"maskpoly": POLY}, "has no parameter"),
])
def test_bad_masks_are_cierror_103(marked, params, message):
    with pytest.raises(CIError) as err:
        cinb.ci_process(_png(marked), "ImageRepair", **params)
    assert err.value.code == -103 and message in str(err.value)


def test_a_mask_file_that_is_not_an_image_is_a_cierror(tmp_path, marked):
    marked.save(tmp_path / "photo.png")
    (tmp_path / "m.png").write_bytes(b"no image here")
    with pytest.raises(CIError) as err:
        cinb.ci_process(tmp_path / "photo.png", "ImageRepair", MaskPic=b64u_encode("m.png"))
    assert err.value.code == -113


def test_an_unreadable_picture_is_a_cierror():
    with pytest.raises(CIError) as err:
        cinb.ci_process(b"not an image", "ImageRepair", MaskPoly=POLY)
    assert err.value.code == -113


# --- rule form and folders -----------------------------------------------------------------------


def test_rule_form_round_trips(marked):
    token = b64u_encode(json.dumps(POLY))
    rule = cinb.parse_rule(f"ImageRepair/MaskPoly/{token}")
    assert str(cinb.parse_rule(str(rule))) == str(rule)
    assert isinstance(dict(rule.stages[0].params)["MaskPoly"], Polygons)
    key = cinb.parse_rule(f"ImageRepair/MaskPic/{b64u_encode('masks/m.png')}")
    assert dict(key.stages[0].params)["MaskPic"] == MaskPath("masks/m.png")
    assert str(key) == f"ImageRepair/MaskPic/{b64u_encode('masks/m.png')}"
    out = cinb.process(_png(marked), f"ImageRepair/MaskPoly/{token}|imageMogr2/format/jpg")
    assert out.format == "jpeg" and out.image.size == marked.size
    fill_px = _inside(np.asarray(out.image).astype(int)).reshape(-1, 3)
    assert (fill_px[:, 0] - fill_px[:, 1] > 120).mean() < 0.01


@pytest.mark.parametrize("pool", ["fork", "spawn"])
def test_apply_repairs_a_folder_the_same_in_every_pool(tmp_path, marked, pool):
    src = tmp_path / "src"
    src.mkdir()
    for i in range(3):
        marked.rotate(0 if i == 0 else 180).save(src / f"p{i}.png")
    shutil.copy(sample_path("coffee"), src / "coffee.jpg")
    rule = f"ImageRepair/MaskPoly/{b64u_encode(json.dumps(POLY))}"
    inline = cinb.apply(str(src), rule, tmp_path / "inline", workers=1, progress=False)
    pooled = cinb.apply(str(src), rule, tmp_path / pool, workers=2, pool=pool, progress=False)
    assert (inline["status"] == "done").all() and (pooled["status"] == "done").all()
    for name in ("p0.png", "p1.png", "p2.png", "coffee.jpg"):
        assert (tmp_path / "inline" / name).read_bytes() == (tmp_path / pool / name).read_bytes()


def test_an_in_memory_picture_is_answered_as_png(marked):
    r = cinb.ci_process(marked, "ImageRepair", MaskPoly=POLY)
    assert r.format == "png" and r.image.size == marked.size and r.info["method"] == "patchmatch"
