"""DetectFace on 12 Mpx JPEGs: decoded once at half size, and small faces still found (the minimum face
does not grow with the picture: CI's face service documents an absolute one, 34 px)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

import cinb
from cinb import data
from cinb.ai.faces import DETECT_SIDE, find_faces
from cinb.imageinput import ImageInput

#: The astronaut's face in data.astronaut() (X, Y, Width, Height).
FACE = (180, 60, 88, 114)


def _iou(a, b) -> float:
    w = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    return w * h / (a[2] * a[3] + b[2] * b[3] - w * h)


@pytest.fixture(scope="module")
def crowd(tmp_path_factory):
    """A 4000 x 3000 JPEG with the astronaut's face at 150 px and at 34-36 px (CI's smallest face), on a
    textured background. A minimum of 1/60 of the long side (Azure's rule, 67 px here) finds only two of
    the three small ones."""
    rng = np.random.default_rng(3)
    bg = Image.fromarray(rng.integers(60, 200, (75, 100, 3), dtype=np.uint8)).resize((4000, 3000),
                                                                                     Image.Resampling.BICUBIC)
    head = Image.open(data.astronaut()).convert("RGB").crop((100, 0, 360, 260))
    truth = []
    for (x, y), height in zip(((400, 500), (1800, 1400), (3000, 600), (1000, 2400)), (150, 34, 35, 36), strict=True):
        s = height / FACE[3]
        bg.paste(head.resize((round(head.width * s), round(head.height * s)), Image.Resampling.LANCZOS), (x, y))
        truth.append((x + (FACE[0] - 100) * s, y + (FACE[1] - 0) * s, FACE[2] * s, FACE[3] * s))
    path = tmp_path_factory.mktemp("crowd") / "crowd.jpg"
    bg.save(path, quality=92)
    return path, truth


def test_small_faces_of_a_12_mpx_jpeg_are_found(crowd):
    path, truth = crowd
    r = cinb.ci_process(path, "DetectFace", max_face_num=120)
    assert (r.json["ImageWidth"], r.json["ImageHeight"]) == (4000, 3000)
    boxes = [(f["X"], f["Y"], f["Width"], f["Height"]) for f in r.json["FaceInfos"]]
    assert len(boxes) == 4
    for box in truth:
        assert max(_iou(box, b) for b in boxes) >= 0.5, box


def test_a_12_mpx_jpeg_is_searched_at_its_half_size_decode(crowd, monkeypatch):
    import cinb.imageinput as module

    drafts = []
    real = module.open_canvas
    monkeypatch.setattr(module, "open_canvas", lambda src, *, draft=None, **kw: drafts.append(draft) or real(
        src, draft=draft, **kw))
    path, _ = crowd
    inp = ImageInput(path)
    faces, size = find_faces(inp)
    assert size == (4000, 3000) and len(faces) == 4
    canvas = inp.canvas(DETECT_SIDE)
    assert canvas.size == (2000, 1500) and canvas.nominal_size == (4000, 3000)
    assert drafts == [(2000, 1500)]  # one decode, at 1/2: no full-size decode was made
