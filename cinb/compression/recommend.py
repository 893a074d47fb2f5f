"""``recommend``: from a sweep, the one setting that meets a quality target at the fewest bytes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pandas as pd

from ..codecs.options import DEFAULT_EFFORT
from ..errors import BAD_PARAMETER, CIError
from .encoders import rule_for
from .metrics import get_metric


@dataclass
class Recommendation:
    """The chosen setting and what it saves.

    Attributes
    ----------
    format, quality : str, int or None
        The setting (None when no setting meets the target: see ``candidates``).
    rule : str or None
        The CI rule to ship.
    bytes : float
        Total bytes of the collection at this setting.
    source_bytes : float
        Total bytes of the source files.
    saving : float
        ``1 - bytes / source_bytes``.
    baseline : tuple or None
        The (format, quality) compared against, when present in the sweep.
    saving_vs_baseline : float or None
        ``1 - bytes / baseline bytes``.
    met : float
        Fraction of images that meet the target at this setting.
    target : dict
        ``{metric: minimum}``.
    candidates : pandas.DataFrame
        Per format, the cheapest quality that meets the target (the winner first).
    """

    format: str | None
    quality: int | None
    rule: str | None
    bytes: float
    source_bytes: float
    saving: float
    baseline: tuple | None
    saving_vs_baseline: float | None
    met: float
    target: dict
    candidates: pd.DataFrame = field(repr=False)

    def __str__(self) -> str:
        if self.format is None:
            return f"no setting meets {self.target}"
        text = f"{self.rule}: {self.bytes / 1e6:.2f} MB"
        if self.saving == self.saving:  # NaN when the sources' sizes are unknown (pictures given in memory)
            text += f", {self.saving:.0%} smaller than the sources"
        text += f" ({self.met:.0%} of images meet {self.target})"
        if self.saving_vs_baseline is not None and self.baseline is not None:  # set together
            word = "smaller" if self.saving_vs_baseline >= 0 else "larger"
            text += f"; {abs(self.saving_vs_baseline):.0%} {word} than {self.baseline[0]} q{self.baseline[1]}"
        return text


def _source_total(ok: pd.DataFrame) -> float:
    # Unknown (NaN) when any source has no size: pictures given in memory (PIL images, arrays) have no file.
    if "source_bytes" not in ok or "path" not in ok or ok.empty or ok["path"].isna().any():
        return float("nan")
    sizes = ok.drop_duplicates("path")["source_bytes"].astype(float)
    if sizes.isna().any() or not sizes.sum() > 0:
        return float("nan")
    return float(sizes.sum())


def _target(target) -> dict[str, float]:
    if isinstance(target, Mapping):
        out = {get_metric(k).name: float(v) for k, v in target.items()}
    elif target is None:
        m = get_metric("ssimulacra2")
        out = {m.name: m.visually_lossless}
    else:
        out = {"ssimulacra2": float(target)}
    if not out:
        raise CIError("recommend needs a target such as {'ssimulacra2': 80}", code=BAD_PARAMETER)
    return out


def recommend(sweep_df: pd.DataFrame, target=None, *, coverage: float = 1.0,
              baseline: tuple[str, int] | None = ("jpeg", 85), formats=None) -> Recommendation:
    """The setting that meets a quality target at the fewest total bytes across the collection.

    Parameters
    ----------
    sweep_df : pandas.DataFrame
        The table from :func:`cinb.compression.sweep`.
    target : float or dict, optional
        ``{metric: minimum}`` (e.g. ``{"ssimulacra2": 80, "psnr": 38}``); a number is a SSIMULACRA2
        minimum; default SSIMULACRA2 80 ("no visible difference side by side").
    coverage : float
        Fraction of the images that must meet the target (1.0: every image).
    baseline : (format, quality), optional
        The setting to quote the saving against, when the sweep has it.
    formats : sequence of str, optional
        Consider only these formats.

    Returns
    -------
    Recommendation

    Notes
    -----
    Only settings a CI rule reproduces are considered: rows at a non-default ``effort`` and ``avif10`` /
    ``heif10`` rows of a sweep are left out (CI's grammar has neither).

    Examples
    --------
    >>> import pandas as pd
    >>> from cinb.compression.recommend import recommend
    >>> t = pd.DataFrame({"path": ["a", "a", "a"], "format": ["jpeg", "jpeg", "webp"], "quality": [85, 70, 70],
    ...                   "bytes": [100, 70, 60], "source_bytes": [200] * 3, "ssimulacra2": [88.0, 81.0, 79.0],
    ...                   "error": [None] * 3})
    >>> r = recommend(t, 80)
    >>> r.format, r.quality, round(r.saving_vs_baseline, 2)
    ('jpeg', 70, 0.3)
    """
    goal = _target(target)
    if not 0 < coverage <= 1:
        raise CIError(f"coverage must be in (0, 1], got {coverage}", code=BAD_PARAMETER, token=str(coverage))
    missing = [m for m in goal if m not in sweep_df.columns]
    if missing:
        raise CIError(f"the sweep has no {missing[0]!r} column: sweep with metrics=[{missing[0]!r}, ...]",
                      code=BAD_PARAMETER, token=missing[0])
    ok = sweep_df[sweep_df["error"].isna()] if "error" in sweep_df else sweep_df
    # Only settings a CI rule reproduces: CI's effort (cinb's default) and CI's 8-bit AVIF.
    ok = ok[~ok["format"].isin(["avif10", "heif10"])]
    if "effort" in ok:
        ok = ok[ok["effort"].isna() | (ok["effort"] == DEFAULT_EFFORT)]
    if formats is not None:
        ok = ok[ok["format"].isin(list(formats))]
    meets = pd.Series(True, index=ok.index)
    for m, v in goal.items():
        meets &= ok[m] >= v
    ok = ok.assign(_meets=meets, quality=ok["quality"].astype("Int64"))
    keys = ["format", "quality"]
    g = ok.groupby(keys, dropna=False)
    table = g.agg(bytes=("bytes", "sum"), images=("bytes", "size"), met=("_meets", "mean")).reset_index()
    # A setting must cover every image to be compared (images given as PIL objects have no path, so
    # count rows: every setting of a sweep has one row per image that decoded).
    table = table[table["images"] == table["images"].max()]
    source_total = _source_total(ok)
    feasible = table[table["met"] >= coverage - 1e-9].sort_values("bytes")
    candidates = feasible.groupby("format", as_index=False).first().sort_values("bytes").reset_index(drop=True)
    base_bytes = None
    if baseline is not None:
        row = table[(table["format"] == baseline[0]) & (table["quality"] == baseline[1])]
        base_bytes = float(row["bytes"].iloc[0]) if len(row) else None
    if candidates.empty:
        return Recommendation(None, None, None, float("nan"), source_total, float("nan"), baseline, None, 0.0, goal,
                              candidates)
    best = candidates.iloc[0]
    q = None if pd.isna(best["quality"]) else int(best["quality"])
    force = bool("source_quality" in ok and q is not None and (ok["source_quality"].astype(float) < q).any())
    total = float(best["bytes"])
    candidates["rule"] = [rule_for(f, None if pd.isna(qq) else int(qq))
                          for f, qq in zip(candidates["format"], candidates["quality"], strict=True)]
    candidates["saving"] = 1.0 - candidates["bytes"] / source_total
    return Recommendation(best["format"], q, rule_for(best["format"], q, force=force), total, source_total,
                          1.0 - total / source_total, baseline if base_bytes else None,
                          (1.0 - total / base_bytes) if base_bytes else None, float(best["met"]), goal, candidates)
