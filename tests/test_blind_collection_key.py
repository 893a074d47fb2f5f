"""embed_collection / check_collection use the ``blind_key`` setting by default, as watermark/3 and /4 rules do."""

from __future__ import annotations

import numpy as np
import pandas as pd
from PIL import Image

import cinb
from cinb.blind import check_collection, embed_collection
from cinb.settings import using


def _picture(path):
    y, x = np.mgrid[0:300, 0:400]
    Image.fromarray((128 + 60 * np.sin(x / 23.0) * np.cos(y / 17.0)).astype(np.uint8)).convert("RGB").save(path)


def test_collection_helpers_and_rules_share_the_blind_key_setting(tmp_path):
    _picture(tmp_path / "a.png")
    with using(blind_key="secret"):
        marked = embed_collection(pd.DataFrame({"path": [str(tmp_path / "a.png")]}), tmp_path / "out",
                                  text="id7", workers=1, progress=False)
        out = marked["blind_path"][0]
        assert cinb.process(out, "watermark/4/type/3").response["Text"] == "id7"  # the rule reads it
        checked = check_collection(pd.DataFrame({"path": [out]}), workers=1, progress=False)
        assert checked["blind_text"][0] == "id7"
    # under the default key the mark is not there, and an explicit key still wins over the setting
    assert check_collection(pd.DataFrame({"path": [out]}), workers=1, progress=False)["blind_text"][0] != "id7"
    assert check_collection(pd.DataFrame({"path": [out]}), key="secret", workers=1,
                            progress=False)["blind_text"][0] == "id7"
