"""What a process loads: a thumbnail worker needs neither pandas, the widgets, OpenCV nor the AI layer;
a collection loads the AI analyses on first lookup, and nothing changes for the caller (worker memory)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import cinb

ROOT = Path(cinb.__file__).resolve().parent.parent
PHOTO = ROOT / "datasets" / "sample" / "astronaut.jpg"


def _run(code: str) -> dict:
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, check=True,
                         cwd=ROOT)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_a_thumbnail_loads_no_pandas_widgets_plots_opencv_or_ai():
    report = _run(f"""
        import json, sys
        import cinb
        r = cinb.process({str(PHOTO)!r}, "imageMogr2/thumbnail/128x128/quality/85!")
        heavy = ("pandas", "pyarrow", "ipywidgets", "matplotlib", "cv2", "urllib.request", "ssl", "cinb.ai",
                 "cinb.collection", "cinb.parallel")
        print(json.dumps({{"size": [r.width, r.height], "format": r.format,
                          "loaded": [m for m in heavy if m in sys.modules]}}))
    """)
    assert report == {"size": [128, 128], "format": "jpeg", "loaded": []}


def test_a_blur_still_loads_opencv_when_it_runs():
    report = _run(f"""
        import json, sys
        import cinb
        before = "cv2" in sys.modules
        r = cinb.process({str(PHOTO)!r}, "imageMogr2/thumbnail/64x/blur/3x2")
        print(json.dumps({{"before": before, "after": "cv2" in sys.modules, "width": r.width}}))
    """)
    assert report == {"before": False, "after": True, "width": 64}


def test_a_collection_loads_the_ai_analyses_on_first_lookup():
    report = _run("""
        import json, sys
        import cinb.collection
        from cinb.collection.analyses import get_analysis, list_analyses
        at_import = sorted(m for m in sys.modules if m.startswith("cinb.ai.") and m != "cinb.ai.endpoints")
        opencv = "cv2" in sys.modules
        builtin = get_analysis("phash").name
        still = sorted(m for m in sys.modules if m.startswith("cinb.ai.") and m != "cinb.ai.endpoints")
        inspect = get_analysis("inspect").columns
        names = list_analyses()
        print(json.dumps({"at_import": at_import, "opencv": opencv, "builtin": builtin, "still": still,
                          "inspect": sorted(inspect), "listed": all(n in names for n in
                          ("inspect", "aigc", "brightness", "sharpness", "embedding", "phash"))}))
    """)
    assert report["at_import"] == [] and report["still"] == [] and not report["opencv"]
    assert report["builtin"] == "phash" and report["listed"]
    assert "inspect_suspicious" in report["inspect"] and "inspect_response" in report["inspect"]


def test_an_analysis_registered_before_the_plugins_load_keeps_its_place():
    """Before, the plugins loaded with cinb.collection: a later register_analysis replaced theirs."""
    report = _run("""
        import json
        import cinb.collection
        from cinb.collection.analyses import get_analysis, register_analysis
        mine = register_analysis("inspect", lambda ctx: {"mine": 1}, columns={"mine": int})
        get_analysis("brightness")  # a plugin's name: the plugins load now
        print(json.dumps({"kept": get_analysis("inspect") is mine,
                          "loaded": get_analysis("aigc").name == "aigc"}))
    """)
    assert report == {"kept": True, "loaded": True}


def test_cinb_ai_names_resolve_lazily_and_endpoints_stays_a_function():
    report = _run("""
        import json, sys
        import cinb.ai
        light = [m for m in ("cinb.ai.stages", "cinb.ai.process", "cinb.ai.tagging", "pandas", "cv2")
                 if m in sys.modules]
        import cinb.ai.endpoints
        from cinb.ai import Answer, ci_process, parse_request, tag
        print(json.dumps({"light": light, "function": callable(cinb.ai.endpoints) and
                          not isinstance(cinb.ai.endpoints, type(sys)),
                          "names": [Answer.__name__, ci_process.__name__, parse_request.__name__, tag.__name__],
                          "inspect": "ImageInspect" in [e.name for e in cinb.ai.endpoints()]}))
    """)
    assert report == {"light": [], "function": True, "names": ["Answer", "ci_process", "parse_request", "tag"],
                      "inspect": True}
