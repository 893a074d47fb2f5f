"""CI's quality page (1045/33717, 436/36370): quality, rquality and lquality all take 0-100."""

import pytest

from cinb.codecs.options import Quality


@pytest.mark.parametrize("kind", ["quality", "quality!", "rquality", "lquality"])
def test_zero_asks_for_quality_zero_of_every_kind(kind):
    # rquality/0 is 0 % of the source's quality: 0, as quality/0 and quality/0! give 0
    assert Quality(kind, 0).resolve(None) == 0


def test_rquality_zero_of_a_jpeg_source_is_zero():
    assert Quality("rquality", 0).resolve(80) == 0


def test_rquality_still_scales_and_rounds_half_up():
    assert Quality("rquality", 80).resolve(80) == 64
    assert Quality("rquality", 1).resolve(50) == 1  # 0.5 rounds up
    assert Quality("rquality", 1).resolve(40) == 0  # 0.4: CI's range starts at 0, no floor of 1
