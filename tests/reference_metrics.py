"""The reference SSIMULACRA2 (the ``ssimulacra2`` package), the yardstick cinb's own metric is held to."""

from __future__ import annotations

import io

from PIL import Image


def reference_ssimulacra2(a: Image.Image, b: Image.Image) -> float:
    from ssimulacra2 import compute_ssimulacra2

    pa, pb = io.BytesIO(), io.BytesIO()
    a.save(pa, "PNG")
    b.save(pb, "PNG")
    pa.seek(0)
    pb.seek(0)
    return compute_ssimulacra2(pa, pb)
