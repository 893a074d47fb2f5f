"""Visible watermarks on pixels: placement, opacity, relative size, oversize, tiling, text, animation.

Marks are flat colours on flat images, so every expectation is measured from the output pixels.
"""

from __future__ import annotations

import io
import math

import numpy as np
import pytest
from PIL import Image

import cinb
from cinb import CIError
from cinb.rules.grammar import b64u_encode as b64
from cinb.watermark import set_watermark_dirs
from cinb.watermark.text import text_mask

GREY = (128, 128, 128)
RED = (255, 0, 0)


@pytest.fixture()
def files(tmp_path):
    """A 400x300 grey PNG source and a 40x20 opaque red mark beside it."""
    Image.new("RGB", (400, 300), GREY).save(tmp_path / "src.png")
    Image.new("RGBA", (40, 20), (*RED, 255)).save(tmp_path / "mark.png")
    return tmp_path


def _arr(result) -> np.ndarray:
    return np.asarray(result.image.convert("RGB")).astype(int)


def _red_box(a: np.ndarray, *, thresh: int = 200):
    red = (a[..., 0] > thresh) & (a[..., 1] < 60) & (a[..., 2] < 60)
    ys, xs = np.nonzero(red)
    return (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1) if len(xs) else None


@pytest.mark.parametrize("gravity, x, y", [
    ("NorthWest", 10, 7), ("North", 180, 7), ("NorthEast", 350, 7),
    ("West", 10, 140), ("Center", 180, 140), ("East", 350, 140),
    ("SouthWest", 10, 273), ("South", 180, 273), ("SouthEast", 350, 273),
])
def test_gravity_dx_dy_place_the_mark(files, gravity, x, y):
    rule = f"watermark/1/image/{b64(str(files / 'mark.png'))}/gravity/{gravity}/dx/10/dy/7/dissolve/100"
    assert _red_box(_arr(cinb.process(files / "src.png", rule))) == (x, y, x + 40, y + 20)


def test_default_is_southeast_without_margin(files):
    r = cinb.process(files / "src.png", f"watermark/1/image/{b64('mark.png')}/dissolve/100")
    assert _red_box(_arr(r)) == (360, 280, 400, 300)


@pytest.mark.parametrize("dissolve", [100, 90, 50, 10])
def test_dissolve_sets_opacity(files, dissolve):
    r = cinb.process(files / "src.png", f"watermark/1/image/{b64('mark.png')}/dissolve/{dissolve}")
    px = _arr(r)[290, 390]
    expected = GREY[0] + (255 - GREY[0]) * dissolve / 100
    assert abs(px[0] - expected) <= 2 and abs(px[1] - GREY[1] * (1 - dissolve / 100)) <= 2


def test_mark_alpha_is_respected(files):
    Image.new("RGBA", (40, 20), (*RED, 128)).save(files / "half.png")
    r = cinb.process(files / "src.png", f"watermark/1/image/{b64('half.png')}/dissolve/100")
    assert abs(_arr(r)[290, 390][0] - (128 + 127 * 128 / 255)) <= 2


@pytest.mark.parametrize("scatype, spcent, size", [(1, 200, (80, 40)), (2, 100, (60, 30)), (3, 100, (155, 77))])
def test_scatype_sizes_relative_to_the_source(files, scatype, spcent, size):
    rule = f"watermark/1/image/{b64('mark.png')}/scatype/{scatype}/spcent/{spcent}/dissolve/100/gravity/NorthWest"
    box = _red_box(_arr(cinb.process(files / "src.png", rule)))
    assert (box[2] - box[0], box[3] - box[1]) == size
    if scatype == 3:  # area = 400*300*0.1 = 12000 px
        assert abs(size[0] * size[1] - 12000) / 12000 < 0.01


@pytest.fixture()
def wide(files):
    """A 600x100 mark: left half red, right half blue (larger than the 400x300 source)."""
    m = Image.new("RGBA", (600, 100), (*RED, 255))
    m.paste((0, 0, 255, 255), (300, 0, 600, 100))
    m.save(files / "wide.png")
    return files


@pytest.mark.parametrize("blogo", [None, 1, 2])
def test_oversized_mark_is_scaled_or_cropped(wide, blogo):
    extra = f"/blogo/{blogo}" if blogo else ""
    a = _arr(cinb.process(wide / "src.png", f"watermark/1/image/{b64('wide.png')}{extra}/dissolve/100"))
    red = _red_box(a)
    blue = (a[..., 2] > 200) & (a[..., 0] < 60)
    if blogo == 2:  # cut to 400x100 keeping the SouthEast side: mark columns 200-600, full height
        assert red == (0, 200, 100, 300) and blue[200:300, 100:].all() and not blue[:200].any()
    else:  # scaled to 400x67: both halves, at the bottom
        assert red == (0, 233, 200, 300) and blue[233:300, 200:400].all()


def test_batch_tiles_cover_the_whole_image(files):
    rule = f"watermark/1/image/{b64('mark.png')}/batch/1/spacing/50/dissolve/100"
    a = _arr(cinb.process(files / "src.png", rule))
    red = (a[..., 0] > 200) & (a[..., 1] < 60)
    # 40x20 tiles with 20x10 gaps: 4/9 of the area, in every 60x30 cell of the image
    assert abs(red.mean() - 4 / 9) < 0.03
    for y in range(0, 300, 30):
        for x in range(0, 360, 60):
            assert red[y:y + 30, x:x + 60].mean() > 0.3
    assert red[0, 0] and not red[0, 45] and red[0, 65] and not red[25, 5] and red[35, 5]


def _stripe_angle(alpha: np.ndarray) -> float:
    """Orientation of long thin stripes in degrees, clockwise from +x (image y points down)."""
    gy, gx = np.gradient(alpha.astype(float))
    jxx, jyy, jxy = (gx * gx).sum(), (gy * gy).sum(), (gx * gy).sum()
    grad = 0.5 * math.degrees(math.atan2(2 * jxy, jxx - jyy))  # dominant gradient direction
    return (grad + 90) % 180


@pytest.mark.parametrize("per_pixel", [False, True])
@pytest.mark.parametrize("degree", [0, 30, 90, 135])
def test_degree_turns_the_tiles_clockwise(files, degree, per_pixel, monkeypatch):
    if per_pixel:  # force the resampling path that dense tilings take instead of pasting
        monkeypatch.setattr("cinb.watermark.layout.PASTE_MAX_TILES", 0)
    Image.new("RGBA", (80, 4), (*RED, 255)).save(files / "bar.png")
    Image.new("RGB", (600, 600), GREY).save(files / "square.png")
    rule = f"watermark/1/image/{b64('bar.png')}/batch/1/spacing/60/degree/{degree}/dissolve/100"
    a = _arr(cinb.process(files / "square.png", rule))
    red = ((a[..., 0] > 190) & (a[..., 1] < 90)).astype(float)
    assert red.mean() > 0.02
    angle = _stripe_angle(red)
    assert min(abs(angle - degree % 180), 180 - abs(angle - degree % 180)) < 6


def test_chinese_renders_real_glyphs_not_tofu():
    missing = text_mask("\U0010FFFD", size=48)  # a code point no font has: .notdef ("tofu")
    shui, yin = text_mask("水", size=48), text_mask("印", size=48)
    assert shui.getbbox() and yin.getbbox()
    for glyph in (shui, yin):
        assert glyph.size != missing.size or np.asarray(glyph).tobytes() != np.asarray(missing).tobytes()
    assert np.asarray(shui).tobytes() != np.asarray(yin.resize(shui.size)).tobytes()
    # every CJK font name renders it, Latin names included (fallback to Noto Sans CJK)
    for font in ("tahoma.ttf", "arial.ttf", "simsun", "simkai", "STHeiti Medium.ttc", "幼圆.TTF"):
        m = text_mask("水印", font=font, size=32)
        assert 40 < m.width < 80 and 20 < m.height < 40


def test_fontsize_is_pixels_per_em():
    # Noto Sans cap height is 0.714 em: 'H' at fontsize 100 is about 71 px tall
    assert 68 <= text_mask("H", size=100).height <= 74
    assert 8 <= text_mask("H", size=13).height <= 10


def test_text_fill_colour_and_position(files):
    rule = (f"watermark/2/text/{b64('CINB')}/fontsize/40/fill/{b64('#FF0000')}/dissolve/100/gravity/NorthWest"
            "/dx/20/dy/30")
    box = _red_box(_arr(cinb.process(files / "src.png", rule)), thresh=180)
    assert abs(box[0] - 20) <= 1 and abs(box[1] - 30) <= 1 and box[2] - box[0] > 60


def test_shadow_darkens_beside_the_glyphs(files):
    Image.new("RGB", (300, 120), "white").save(files / "white.png")
    base = f"watermark/2/text/{b64('Shadow 阴影')}/fontsize/40/fill/{b64('#FFFFFF')}/dissolve/100/gravity/Center"
    plain = _arr(cinb.process(files / "white.png", base))
    shaded = _arr(cinb.process(files / "white.png", base + "/shadow/80"))
    assert plain.min() >= 254  # white on white: invisible without a shadow
    assert shaded.min() < 120 and (shaded < 200).sum() > 200


def test_text_scatype_matches_the_width(files):
    rule = f"watermark/2/text/{b64('scaled')}/fill/{b64('#FF0000')}/scatype/1/spcent/500/dissolve/100"
    box = _red_box(_arr(cinb.process(files / "src.png", rule)), thresh=150)
    assert abs((box[2] - box[0]) - 200) <= 3


def test_animated_gif_gets_the_mark_on_every_frame(files):
    frames = [Image.new("RGB", (120, 80), c) for c in [(0, 0, 200), (0, 160, 0), (200, 200, 0)]]
    buf = io.BytesIO()
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:], duration=[50, 80, 120], loop=0)
    (files / "anim.gif").write_bytes(buf.getvalue())
    r = cinb.process(files / "anim.gif", f"watermark/1/image/{b64('mark.png')}/dissolve/100/gravity/NorthWest")
    assert r.format == "gif"
    out = Image.open(io.BytesIO(r.data))
    assert out.n_frames == 3
    for i in range(3):
        out.seek(i)
        a = np.asarray(out.convert("RGB")).astype(int)
        assert _red_box(a) == (0, 0, 40, 20)
        assert tuple(a[60, 100]) == tuple(frames[i].getpixel((100, 60)))


def test_ten_watermark_stages_in_one_pipeline(files):
    stages = [f"watermark/1/image/{b64('mark.png')}/gravity/NorthWest/dx/{10 + i * 30}/dy/{10 + i * 25}/dissolve/100"
              for i in range(10)]
    a = _arr(cinb.process(files / "src.png", "|".join(stages)))
    for i in range(10):
        assert tuple(a[10 + i * 25 + 5, 10 + i * 30 + 5]) == RED
    with pytest.raises(CIError):
        cinb.process(files / "src.png", "|".join(stages + stages[:1]))


def test_grey_source_becomes_colour_for_a_colour_mark(tmp_path):
    Image.new("L", (100, 60), 100).save(tmp_path / "grey.png")
    Image.new("RGBA", (20, 10), (*RED, 255)).save(tmp_path / "mark.png")
    r = cinb.process(tmp_path / "grey.png", f"watermark/1/image/{b64('mark.png')}/dissolve/100")
    assert r.image.mode in ("RGB", "RGBA", "P") and tuple(_arr(r)[55, 95]) == RED


def test_cos_url_resolves_by_key_under_the_source_folder(files):
    (files / "logo").mkdir()
    Image.new("RGBA", (40, 20), (*RED, 255)).save(files / "logo" / "wm.png")
    url = "http://examplebucket-1250000000.cos.ap-shanghai.myqcloud.com/logo/wm.png?q-sign-algorithm=sha1"
    r = cinb.process(files / "src.png", f"watermark/1/image/{b64(url)}/dissolve/100")
    assert _red_box(_arr(r)) == (360, 280, 400, 300)
    r = cinb.process(files / "src.png", f"watermark/1/image_key/{b64('logo/wm.png')}/dissolve/100")
    assert _red_box(_arr(r)) == (360, 280, 400, 300)


def test_watermark_dirs_stand_for_the_bucket(files, tmp_path_factory):
    bucket = tmp_path_factory.mktemp("bucket")
    Image.new("RGBA", (30, 30), (*RED, 255)).save(bucket / "only-here.png")
    rule = f"watermark/1/image_key/{b64('only-here.png')}/dissolve/100"
    with pytest.raises(CIError):
        cinb.process(files / "src.png", rule)
    set_watermark_dirs(bucket)
    try:
        assert _red_box(_arr(cinb.process(files / "src.png", rule))) == (370, 270, 400, 300)
    finally:
        set_watermark_dirs()


def test_missing_watermark_file_names_it(files):
    url = "http://examplebucket-1250000000.cos.ap-shanghai.myqcloud.com/nope/absent.png"
    with pytest.raises(CIError) as err:
        cinb.process(files / "src.png", f"watermark/1/image/{b64(url)}")
    assert err.value.code == -103 and "absent.png" in str(err.value)


def test_animated_watermark_image_is_refused(files):
    frames = [Image.new("RGB", (20, 20), c) for c in ("red", "blue")]
    frames[0].save(files / "anim-mark.gif", save_all=True, append_images=frames[1:])
    with pytest.raises(CIError) as err:
        cinb.process(files / "src.png", f"watermark/1/image/{b64('anim-mark.gif')}")
    assert err.value.code == -103 and "animated" in str(err.value)


def test_rgba_source_keeps_transparency_outside_the_mark(tmp_path):
    Image.new("RGBA", (100, 60), (0, 0, 0, 0)).save(tmp_path / "clear.png")
    Image.new("RGBA", (20, 10), (*RED, 255)).save(tmp_path / "mark.png")
    r = cinb.process(tmp_path / "clear.png", f"watermark/1/image/{b64('mark.png')}/dissolve/50")
    img = r.image.convert("RGBA")
    assert img.getpixel((5, 5))[3] == 0
    px = img.getpixel((95, 55))
    assert px[:3] == RED and abs(px[3] - 128) <= 1


def test_apply_over_a_collection(files, tmp_path_factory):
    src = tmp_path_factory.mktemp("photos")
    for i in range(3):
        Image.new("RGB", (200, 100), (i * 60, 100, 100)).save(src / f"p{i}.jpg", quality=95)
    (files / "mark.png").rename(src / "mark.png")  # beside the photos: found by key, like the bucket
    out = tmp_path_factory.mktemp("out")
    df = cinb.apply(src, f"watermark/1/image_key/{b64('mark.png')}/dissolve/100|watermark/2/text/{b64('水印')}",
               out, progress=False, workers=1)
    assert set(df["status"]) == {"done"}, df["error"].tolist()
    assert df["path"].str.endswith(".jpg").sum() == 3
    for path in df.loc[df["path"].str.endswith(".jpg"), "out_path"]:
        a = np.asarray(Image.open(path).convert("RGB")).astype(int)
        assert _red_box(a, thresh=180) is not None


def test_batch_ignores_gravity_and_margins(files):
    base = f"watermark/1/image/{b64('mark.png')}/batch/1/spacing/50/dissolve/100"
    plain = _arr(cinb.process(files / "src.png", base))
    moved = _arr(cinb.process(files / "src.png", base + "/gravity/Center/dx/13/dy/9"))
    assert (plain == moved).all()


def test_preview_matches_the_full_render_reduced(files):
    from cinb.watermark import TextWatermark

    stage = TextWatermark(text="Preview", fontsize=48, fill="#FF0000", gravity="NorthEast", dx=40, dy=30,
                          dissolve=100)
    full = Image.open(files / "src.png").convert("RGB")
    small = full.resize((200, 150))
    ref = _red_box(np.asarray(stage.apply(cinb.canvas.Canvas(frames=[full])).frames[0]).astype(int), thresh=180)
    got = _red_box(np.asarray(stage.preview(small, full.size)).astype(int), thresh=180)
    assert all(abs(g - r / 2) <= 2 for g, r in zip(got, ref, strict=True))


def test_both_turned_tiling_paths_agree():
    from cinb.watermark import layout

    mark = Image.new("RGBA", (30, 12), (*RED, 255))
    pasted = np.asarray(layout._pasted_tiles(mark, (45, 18), (300, 200), 30))[..., 3].astype(int)
    cell = np.zeros((18, 45, 4), np.uint8)
    cell[:12, :30] = np.asarray(mark)
    resampled = np.asarray(layout._turned_tiles(cell, (300, 200), 30))[..., 3].astype(int)
    assert abs(pasted.mean() - resampled.mean()) < 0.03 * 255 * 0.45
    assert ((pasted > 128) == (resampled > 128)).mean() > 0.93  # same lattice, edges within a pixel


def test_han_characters_take_simplified_forms(monkeypatch):
    from cinb.watermark import text as text_module

    if text_module.LANGUAGE is None:
        pytest.skip("Pillow without libraqm")
    ours = np.asarray(text_mask("骨", size=64))
    monkeypatch.setattr(text_module, "LANGUAGE", "zh-Hant")
    traditional = np.asarray(text_mask("骨", size=64))
    # 骨 differs between the mainland and Taiwan standards: the inner stroke turns the other way
    assert ours.shape != traditional.shape or np.abs(ours.astype(int) - traditional).sum() > 255 * 100
