"""``plates``: the Chinese licence plates DetectCar reads (``cinb.ai.vehicles``), one row per image.

It needs the ``vehicles`` analysis (run first, its columns included: ``plates``, ``plate_count``) and
adds the plates' colours and types from its ``vehicles_response``, in the order of ``plates``.
"""

from __future__ import annotations

import pandas as pd

from cinb.collection.analyses.registry import register_analysis


def _join(response, key: str) -> str:
    if not isinstance(response, dict):
        return ""
    return ",".join(t["PlateContent"][key] for t in response.get("CarTags") or [] if t.get("PlateContent"))


def plates(df: pd.DataFrame) -> pd.DataFrame:
    """``plate_colors`` and ``plate_types`` (comma-separated, as ``plates``) of each row.

    Examples
    --------
    >>> import pandas as pd
    >>> from cinb.collection.analyses.plates import plates
    >>> tag = {"PlateContent": {"Plate": "京A12345", "Color": "blue", "Type": "small vehicle"}}
    >>> plates(pd.DataFrame({"vehicles_response": [{"CarTags": [tag, {}]}, None]})).to_dict("list")
    {'plate_colors': ['blue', ''], 'plate_types': ['small vehicle', '']}
    """
    column = df["vehicles_response"] if "vehicles_response" in df else pd.Series([None] * len(df), index=df.index)
    return pd.DataFrame({"plate_colors": [_join(r, "Color") for r in column],
                         "plate_types": [_join(r, "Type") for r in column]}, index=df.index)


register_analysis("plates", plates, columns={"plate_colors": object, "plate_types": object}, kind="group",
                  requires=("vehicles",), aliases=("licence_plates", "license_plates"),
                  description="Chinese licence plates read on vehicles (DetectCar): text, colour, type")
