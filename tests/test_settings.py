"""One settings object (env vars read once, configure / using), passed to stages and workers; one
clear_caches(); watermark locations the file system or URL parser refuses are CIErrors (issue 12)."""

from __future__ import annotations

import ast
import base64
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from PIL import Image

import cinb
from cinb import CIError, data, parse_rule, process
from cinb.caches import clear_caches, registered_caches
from cinb.parallel import map_values
from cinb.rules.model import Context
from cinb.settings import Settings, configure, get_settings, using
from cinb.watermark import ImageWatermark, set_watermark_dirs, use_system_fonts, watermark_dirs
from cinb.watermark.fonts import covered, font_spec, register_font, unregister_fonts
from cinb.watermark.source import load_watermark

CINB = Path(cinb.__file__).parent


def b64u(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def run_python(code: str, **env: str) -> str:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CINB_")}
    out = subprocess.run([sys.executable, "-c", code], env={**clean, **env}, capture_output=True, text=True,
                         timeout=120, check=True)
    return out.stdout.strip()


# -- settings ---------------------------------------------------------------------------------------


def test_environment_variables_are_defaults_read_once():
    code = """
import json, os
from cinb.settings import get_settings
first = get_settings()
os.environ["CINB_BLIND_KEY"] = "changed later"
os.environ["CINB_DEBUG"] = "0"
print(json.dumps([first.watermark_dirs, first.blind_key, first.font_dir, first.thumb_cache, first.debug,
                  get_settings().blind_key, get_settings().debug, get_settings() is first]))
"""
    out = json.loads(run_python(code, CINB_WATERMARK_DIR=f"/srv/a{os.pathsep}/srv/b", CINB_BLIND_KEY="k",
                                CINB_FONT_DIR="/srv/fonts", CINB_THUMB_CACHE="/srv/thumbs", CINB_DEBUG="1"))
    assert out == [["/srv/a", "/srv/b"], "k", "/srv/fonts", "/srv/thumbs", True, "k", True, True]


def test_from_env_defaults_and_false_values():
    s = Settings.from_env({"CINB_DEBUG": "off", "CINB_BLIND_KEY": ""})
    assert s == Settings() and s.debug is False and s.blind_key is None and s.watermark_dirs == ()
    assert Settings.from_env({"CINB_DEBUG": "yes"}).debug is True


def test_configure_returns_the_new_settings_and_round_trips():
    before = get_settings()
    try:
        new = configure(blind_key="round-trip", debug=True)
        assert new is get_settings() and new.blind_key == "round-trip" and new.debug is True
        assert new.watermark_dirs == before.watermark_dirs  # the other fields are kept
    finally:
        restored = configure(blind_key=before.blind_key, debug=before.debug)
    assert restored == before


def test_using_is_temporary_nested_and_validated():
    before = get_settings()
    with using(blind_key="outer") as outer:
        assert get_settings() is outer and outer.blind_key == "outer"
        with using(debug=True) as inner:
            assert (inner.blind_key, inner.debug) == ("outer", True)
        assert get_settings().debug is before.debug
        with using(Settings(blind_key="pinned")):
            assert get_settings() == Settings(blind_key="pinned")
    assert get_settings() == before
    with pytest.raises(CIError) as err:
        with using(debug="yes"):
            pass
    assert err.value.code == -103 and "debug" in err.value.message
    with pytest.raises(TypeError, match="watermark_dir"):
        configure(watermark_dir="/typo")
    assert get_settings() == before


def test_using_in_one_thread_is_invisible_in_another():
    seen = {}

    def other():
        seen["key"] = get_settings().blind_key

    with using(blind_key="this thread only"):
        t = threading.Thread(target=other)
        t.start()
        t.join()
        assert get_settings().blind_key == "this thread only"
    assert seen["key"] != "this thread only"


def test_settings_values_are_checked():
    for bad in ({"watermark_dirs": 3}, {"watermark_dirs": [""]}, {"blind_key": ""}, {"font_dir": 1.5},
                {"fonts": [("arial.ttf", "/f.ttf")]}, {"system_fonts": 1}, {"thumb_cache": None}):
        with pytest.raises(CIError) as err:
            Settings(**bad)
        assert err.value.code == -103
    s = Settings(watermark_dirs="~/bucket", fonts=[("arial.ttf", "f.ttf", 0), ("arial.ttf", "g.ttf", 1)])
    assert s.watermark_dirs == (os.path.expanduser("~/bucket"),)  # one folder, not its characters
    assert s.fonts == (("arial.ttf", os.path.abspath("g.ttf"), 1),)  # the last override wins
    assert hash(s) == hash(Settings(**{f: getattr(s, f) for f in s.__dataclass_fields__}))


def test_public_shorthands_are_thin_wrappers_over_configure(tmp_path):
    before = get_settings()
    try:
        set_watermark_dirs(tmp_path, tmp_path / "b")
        assert get_settings().watermark_dirs == (str(tmp_path), str(tmp_path / "b"))
        assert watermark_dirs("/src") == [tmp_path, tmp_path / "b", Path("/src")]
        use_system_fonts(True)
        assert get_settings().system_fonts is True
        register_font("simkai", font_spec("arial").path)
        assert font_spec("simkai").source == "user" and get_settings().fonts[0][0] == "simkai楷体.ttf"
        unregister_fonts()
        set_watermark_dirs()
        use_system_fonts(False)
        assert get_settings() == before
    finally:
        configure(**{f: getattr(before, f) for f in before.__dataclass_fields__})
    assert "CINB_WATERMARK_DIR" not in os.environ  # nothing written to the environment


def test_stages_read_the_settings_in_their_context(tmp_path):
    bucket = tmp_path / "bucket"
    bucket.mkdir()
    Image.new("RGBA", (8, 8), (255, 0, 0, 255)).save(bucket / "logo.png")
    stage = ImageWatermark(image="http://examplebucket-1250000000.cos.ap-shanghai.myqcloud.com/logo.png")
    assert stage.source_path(Context(settings=Settings(watermark_dirs=[bucket]))) == bucket / "logo.png"
    with pytest.raises(CIError) as err:
        stage.source_path(Context(settings=Settings()))
    assert err.value.code == -103
    with using(watermark_dirs=[bucket]):
        assert Context().settings.watermark_dirs == (str(bucket),)
        rule = "watermark/1/image/" + b64u("http://examplebucket-1250000000.cos.ap-shanghai.myqcloud.com/logo.png")
        out = process(Image.new("RGB", (32, 32), "white"), rule + "/gravity/center")
        assert out.image.convert("RGB").getpixel((16, 16)) != (255, 255, 255)


def test_blind_rules_use_the_key_setting():
    with using(blind_key="alpha"):
        marked = process(data.path("coffee.jpg"), "watermark/3/type/3/text/" + b64u("cinb") + "/level/2")
        found = process(marked.data, "watermark/4/type/3").response
        assert found["WatermarkStatus"] > 75 and found["Text"] == "cinb"
    with using(blind_key="beta"):
        found = process(marked.data, "watermark/4/type/3").response
        assert found["WatermarkStatus"] < 60 and found["Text"] == ""


def settings_row(row):
    s = get_settings()
    return {"key": s.blind_key, "dirs": list(s.watermark_dirs), "pid": os.getpid()}


@pytest.mark.parametrize("pool", ["fork", "spawn"])
def test_the_parents_settings_reach_pool_workers(pool, tmp_path):
    with using(blind_key="from the parent", watermark_dirs=[tmp_path]):
        outs = map_values([{"i": i} for i in range(4)], settings_row, max_workers=2, pool=pool, chunksize=1,
                          progress=False)
    assert [o["error"] for o in outs] == [None] * 4
    assert {o["pid"] for o in outs} != {os.getpid()}  # really other processes
    assert all(o["key"] == "from the parent" and o["dirs"] == [str(tmp_path)] for o in outs)


def test_a_lazy_dask_map_keeps_the_settings_of_its_call(tmp_path):
    dd = pytest.importorskip("dask.dataframe")
    import pandas as pd

    from cinb.parallel import map_rows

    df = dd.from_pandas(pd.DataFrame({"i": range(4)}), npartitions=2)
    with using(blind_key="at the call", watermark_dirs=[tmp_path]):
        lazy = map_rows(df, settings_row, columns={"key": str, "dirs": object, "pid": int})
    out = lazy.compute(scheduler="threads")  # other threads, after the block ended
    assert out["key"].tolist() == ["at the call"] * 4 and out["error"].isna().all()


def test_cinb_never_writes_the_environment():
    # Two reviewed exceptions. Pool workers are processes cinb starts: cinb.parallel caps there the
    # thread-count variables libraries read when a worker loads them (OMP_NUM_THREADS...). ONNX
    # Runtime reads its telemetry switch only from the environment, only at import (setdefault).
    allowed = {("parallel.py", "_limit_env"), ("ai/models.py", "onnxruntime")}
    writes = []
    for path in sorted(CINB.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for func, node in _walk_with_function(tree):
            if _writes_environ(node) and (str(path.relative_to(CINB)), func) not in allowed:
                writes.append(f"{path.relative_to(CINB)}:{node.lineno} in {func}")
    assert writes == []


def _walk_with_function(tree, func="<module>"):
    for node in ast.iter_child_nodes(tree):
        name = node.name if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) else func
        yield name, node
        yield from _walk_with_function(node, name)


def _is_environ(node) -> bool:
    return isinstance(node, ast.Attribute) and node.attr == "environ" or \
        isinstance(node, ast.Name) and node.id == "environ"


def _writes_environ(node) -> bool:
    if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Delete)):
        targets = node.targets if isinstance(node, (ast.Assign, ast.Delete)) else [node.target]
        return any(isinstance(t, ast.Subscript) and _is_environ(t.value) for t in targets)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        f = node.func
        if _is_environ(f.value) and f.attr in {"pop", "popitem", "update", "setdefault", "clear", "__setitem__",
                                               "__delitem__"}:
            return True
        return f.attr in {"putenv", "unsetenv"}
    return False


def test_the_environment_grep_finds_a_write():
    tree = ast.parse("import os\ndef f():\n    os.environ['X'] = '1'\n    os.environ.pop('Y')\n")
    assert [func for func, node in _walk_with_function(tree) if _writes_environ(node)] == ["f", "f"]


# -- caches -----------------------------------------------------------------------------------------


def test_clear_caches_empties_every_cache(tmp_path):
    import cinb.blind.pattern  # modules register their caches when imported
    import cinb.collection.gallery
    import cinb.collection.journal

    wm = tmp_path / "wm.png"
    Image.new("RGBA", (4, 4), "red").save(wm)
    arial = font_spec("arial")
    first = (load_watermark(wm), arial.load(20), covered(str(arial.path), 0))
    assert (load_watermark(wm), arial.load(20), covered(str(arial.path), 0)) == first
    cached = (load_watermark(wm), arial.load(20), covered(str(arial.path), 0))
    assert all(a is b for a, b in zip(first, cached, strict=True))
    names = cinb.clear_caches()
    for expected in ("cinb.watermark.source._load", "cinb.watermark.fonts._load", "cinb.watermark.fonts._covered",
                     "cinb.watermark.fonts._font_dir_files", "cinb.collection.gallery._MEMORY",
                     "cinb.collection.journal._SNAPSHOTS", "cinb.blind.pattern._layout_arrays"):
        assert expected in names and expected in registered_caches()
    again = (load_watermark(wm), arial.load(20), covered(str(arial.path), 0))
    assert all(a is not b for a, b in zip(first, again, strict=True))
    assert clear_caches() == names


def test_cached_files_are_keyed_on_modification_time(tmp_path):
    wm = tmp_path / "wm.png"
    Image.new("RGBA", (4, 4), "red").save(wm)
    assert load_watermark(wm).getpixel((0, 0)) == (255, 0, 0, 255)
    Image.new("RGBA", (4, 4), "blue").save(wm)
    os.utime(wm, ns=(0, 10**18))
    assert load_watermark(wm).getpixel((0, 0)) == (0, 0, 255, 255)
    fonts = tmp_path / "fonts"
    fonts.mkdir()
    with using(font_dir=fonts):
        assert font_spec("simsun").source == "package"
        (fonts / "simsun.ttc").write_bytes(font_spec("arial").path.read_bytes())
        os.utime(fonts, ns=(0, 10**18))
        assert font_spec("simsun").path == fonts / "simsun.ttc"  # the folder listing is not stale


# -- issue 12: watermark locations ------------------------------------------------------------------

LONG = "a" * 300 + ".png"  # over the 255-byte file-name limit (ENAMETOOLONG)
FAMILIES = ["watermark/1/image/{}", "watermark/3/type/1/image/{}", "watermark/4/type/1/image/{}"]


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("location", [LONG, "/tmp/" + LONG, "~nosuchuser-cinb/wm.png",
                                      "http://examplebucket-1250000000.cos.ap-shanghai.myqcloud.com/" + LONG])
def test_unusable_watermark_locations_are_missing_images(family, location, tmp_path):
    with using(watermark_dirs=[tmp_path]):
        with pytest.raises(CIError) as err:
            process(Image.new("RGB", (64, 64)), family.format(b64u(location)))
    assert err.value.code == -103 and err.value.token == location and "not found" in err.value.message


@pytest.mark.parametrize("family", FAMILIES + ["watermark/1/image_key/{}"])
def test_a_malformed_watermark_url_is_a_parse_error(family):
    url = "http://[::1/wm.png"
    with pytest.raises(CIError) as err:
        if family.endswith("image_key/{}"):
            process(Image.new("RGB", (64, 64)), family.format(b64u(url)))
        else:
            parse_rule(family.format(b64u(url)))
    assert err.value.code == -103 and err.value.token == url


def test_a_watermark_path_that_cannot_be_read_is_a_cierror(tmp_path):
    with pytest.raises(CIError) as err:
        load_watermark(tmp_path / LONG)
    assert err.value.code == -103 and "cannot be read" in err.value.message


def test_watermark_cache_is_bounded_by_bytes(tmp_path, monkeypatch):
    from cinb.watermark import source

    clear_caches()
    monkeypatch.setattr(source, "CACHE_BYTES", 2 * 4 * 4 * 4)  # room for two 4x4 RGBA images
    paths = []
    for i, colour in enumerate(["red", "green", "blue"]):
        paths.append(tmp_path / f"{i}.png")
        Image.new("RGBA", (4, 4), colour).save(paths[-1])
    first = [load_watermark(p) for p in paths]
    assert load_watermark(paths[2]) is first[2] and load_watermark(paths[1]) is first[1]
    assert load_watermark(paths[0]) is not first[0]  # the least recently used went first
    big = tmp_path / "big.png"
    Image.new("RGBA", (8, 8), "white").save(big)
    assert load_watermark(big) is not load_watermark(big)  # larger than the whole cache: never kept
