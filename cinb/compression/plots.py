"""matplotlib plots of a sweep: rate-distortion curves per format, and a savings histogram.

Imported on first use (``import cinb`` never imports matplotlib).
"""

from __future__ import annotations

import pandas as pd

from .recommend import Recommendation
from .sweep import summarise


def _axes(ax):
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(6, 4))
    return ax


def rd_curves(sweep_df: pd.DataFrame, metric: str = "ssimulacra2", *, x: str = "bpp", ax=None,
              highlight: tuple[str, int] | None = None, target: float | None = None):
    """Rate-distortion curves: mean ``x`` (bits per pixel) against mean ``metric``, one line per format.

    Parameters
    ----------
    sweep_df : pandas.DataFrame
        From :func:`cinb.compression.sweep`.
    metric : str
        Metric on the y axis.
    x : {"bpp", "bytes"}
        Rate on the x axis.
    ax : matplotlib Axes, optional
    highlight : (format, quality), optional
        A setting to mark (e.g. a recommendation's).
    target : float, optional
        Draw the target level as a dashed line.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import pandas as pd
    >>> from cinb.compression.plots import rd_curves
    >>> import matplotlib; matplotlib.use("Agg")
    >>> t = pd.DataFrame({"format": ["jpeg", "jpeg"], "quality": [50, 90], "bytes": [10, 30], "bpp": [1.0, 3.0],
    ...                   "ssimulacra2": [70.0, 90.0], "encode_ms": [1.0, 1.0], "decode_ms": [1.0, 1.0],
    ...                   "error": [None, None]})
    >>> len(rd_curves(t).lines)
    1
    """
    ax = _axes(ax)
    s = summarise(sweep_df, metric)
    for fmt, part in s.groupby("variant" if "variant" in s else "format"):  # a format at each effort
        part = part.sort_values("quality")
        ax.plot(part[x], part[metric], marker="o", ms=3, label=fmt)
    if highlight is not None:
        pt = s[(s["format"] == highlight[0]) & (s["quality"] == highlight[1])]
        if len(pt):
            ax.scatter(pt[x], pt[metric], s=120, facecolors="none", edgecolors="red", linewidths=2, zorder=5,
                       label=f"{highlight[0]} q{highlight[1]}")
    if target is not None:
        ax.axhline(target, ls="--", color="grey", lw=1)
    ax.set_xlabel("bits per pixel" if x == "bpp" else "total bytes")
    ax.set_ylabel(f"{metric} (mean)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return ax


def savings_histogram(sweep_df: pd.DataFrame, setting: tuple[str, int] | Recommendation, *,
                      against: str | tuple[str, int] = "source", ax=None, bins: int = 20):
    """Histogram of the per-image saving of one setting (fraction of bytes saved).

    Parameters
    ----------
    sweep_df : pandas.DataFrame
        From :func:`cinb.compression.sweep`.
    setting : (format, quality) or Recommendation
        The setting whose savings are shown.
    against : "source" or (format, quality)
        What the saving is measured against: the source files, or another setting of the sweep.
    ax : matplotlib Axes, optional
    bins : int

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = _axes(ax)
    fmt, q = (setting.format, setting.quality) if isinstance(setting, Recommendation) else setting
    ok = sweep_df[sweep_df["error"].isna()]
    chosen = ok[(ok["format"] == fmt) & (ok["quality"] == q)].set_index("path")["bytes"].astype(float)
    if against == "source":
        ref = ok.drop_duplicates("path").set_index("path")["source_bytes"].astype(float)
        label = "the source file"
    else:
        ref = ok[(ok["format"] == against[0]) & (ok["quality"] == against[1])].set_index("path")["bytes"].astype(float)
        label = f"{against[0]} q{against[1]}"
    saving = (1.0 - chosen / ref.reindex(chosen.index)) * 100.0
    ax.hist(saving.dropna(), bins=bins, color="tab:blue", alpha=0.8)
    ax.axvline(saving.median(), color="red", ls="--", lw=1, label=f"median {saving.median():.0f}%")
    ax.set_xlabel(f"saving of {fmt} q{q} vs {label} (%)")
    ax.set_ylabel("images")
    ax.legend(fontsize=8)
    return ax
