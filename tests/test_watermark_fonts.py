"""CI font names -> openly licensed font files that install with cinb."""

from __future__ import annotations

import pytest

from cinb import CIError
from cinb.settings import using
from cinb.watermark import fonts
from cinb.watermark.text import text_mask

#: Spec §11's list of CI font names (the strings users b64u-encode).
SPEC_NAMES = ["simfang仿宋.ttf", "tahoma.ttf", "simhei黑体.ttf", "simkai楷体.ttf", "simsun宋体.ttc",
              "STHeiti Light华文黑体.ttc", "STHeiti Medium.ttc", "幼圆.TTF", "ahronbd.ttf", "arial.ttf",
              "ariblk.ttf", "Helvetica.dfont", "HelveticaNeue.dfont"]


def test_every_ci_name_resolves_to_a_packaged_file():
    assert fonts.ci_font_names() == SPEC_NAMES
    for name in SPEC_NAMES:
        path = fonts.resolve_font(name)
        assert path.is_file() and path.stat().st_size > 100_000, name
        assert fonts.font_spec(name).source == "package"


@pytest.mark.parametrize("name, file, weight", [
    ("tahoma.ttf", "NotoSans[wdth,wght].ttf", 400),
    ("arial.ttf", "Arimo[wght].ttf", 400),
    ("Helvetica.dfont", "Arimo[wght].ttf", 400),
    ("ahronbd.ttf", "Arimo[wght].ttf", 700),
    ("ariblk.ttf", "NotoSans[wdth,wght].ttf", 900),
    ("simhei黑体.ttf", "NotoSansCJKtc-Regular.otf", None),
    ("simsun宋体.ttc", "NotoSansCJKtc-Regular.otf", None),
])
def test_mapping_table(name, file, weight):
    spec = fonts.font_spec(name)
    assert (spec.path.name, spec.weight) == (file, weight)


def test_weights_really_change_the_rendering():
    regular = text_mask("Heavy", font="arial", size=40)
    black = text_mask("Heavy", font="ariblk", size=40)
    import numpy as np

    assert np.asarray(black).mean() > np.asarray(regular).mean() * 1.2


@pytest.mark.parametrize("alias, ci", [
    ("SIMHEI", "simhei黑体.ttf"), ("黑体", "simhei黑体.ttf"), ("simsun.ttc", "simsun宋体.ttc"),
    ("Arial", "arial.ttf"), ("stheiti light", "STHeiti Light华文黑体.ttc"), ("幼圆.ttf", "幼圆.TTF"),
])
def test_loose_names(alias, ci):
    assert fonts.canonical_font_name(alias) == ci


@pytest.mark.parametrize("name", ["comic.ttf", "", "simhei2", "Times New Roman"])
def test_unknown_font_is_bad_parameter(name):
    with pytest.raises(CIError) as err:
        fonts.resolve_font(name)
    assert err.value.code == -103 and "font" in err.value.message


def test_licences_ship_with_the_latin_fonts():
    for name in ("arial.ttf", "tahoma.ttf"):
        licence = fonts.resolve_font(name).parent.parent / "LICENSE"
        assert "Open Font License" in licence.read_text()


def test_register_font_and_font_dir_override(tmp_path):
    arimo = fonts.resolve_font("arial")
    try:
        fonts.register_font("simkai", arimo)
        assert fonts.font_spec("simkai楷体.ttf").source == "user"
        assert fonts.resolve_font("simkai") == arimo
    finally:
        fonts.unregister_fonts()
    assert fonts.font_spec("simkai").source == "package"
    (tmp_path / "simsun.ttc").write_bytes(arimo.read_bytes())
    with using(font_dir=tmp_path):  # the setting $CINB_FONT_DIR gives at start-up
        assert fonts.resolve_font("simsun宋体.ttc") == tmp_path / "simsun.ttc"
    with pytest.raises(CIError):
        fonts.register_font("simkai", tmp_path / "missing.ttf")


def test_font_table_reports_each_mapping():
    table = fonts.font_table()
    assert [row["ci_name"] for row in table] == SPEC_NAMES
    assert all(row["path"].endswith(row["file"]) for row in table)


def test_cjk_font_carries_its_ofl_licence():
    from fontTools.ttLib import TTFont

    with TTFont(str(fonts.fallback_spec().path), lazy=True) as tt:
        licence = str(tt["name"].getName(13, 3, 1, 0x409))
        family = str(tt["name"].getName(1, 3, 1, 0x409))
    assert "SIL Open Font License" in licence and family.startswith("Noto Sans CJK")


def test_use_system_fonts_prefers_an_installed_style_match(monkeypatch):
    arimo = str(fonts.resolve_font("arial"))
    monkeypatch.setitem(fonts._SYSTEM, "simsun宋体.ttc", (arimo, 0))  # stands in for Noto Serif CJK
    assert fonts.font_spec("simsun").source == "package"  # opt-in only: same output on every machine
    fonts.use_system_fonts(True)
    try:
        assert fonts.font_spec("simsun").source == "system" and str(fonts.resolve_font("simsun")) == arimo
        monkeypatch.setitem(fonts._SYSTEM, "simsun宋体.ttc", ("/nonexistent/font.ttc", 2))
        assert fonts.font_spec("simsun").source == "package"  # not installed: the packaged font
    finally:
        fonts.use_system_fonts(False)
