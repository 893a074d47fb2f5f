"""Compression: Guetzli, imageSlim, metrics, and tools to choose settings (sweep, recommend, plots).

Importing this package registers the ``imageSlim`` rule family. Plots need matplotlib and are
imported on first use (``cinb.compression.plots``).

Examples
--------
>>> import cinb.compression as cc
>>> cc.rule_for("avif", 60)
'imageMogr2/format/avif/quality/60'
"""

from .encoders import FORMATS, decode_image, encode_image, rule_for
from .guetzli import GuetzliSlowWarning, guetzli, guetzli_collection
from .metrics import METRICS, Reference, psnr, ssim, ssimulacra2
from .recommend import Recommendation, recommend
from .slim import SlimStage, slim
from .sweep import summarise, sweep, tradeoff

__all__ = ["FORMATS", "METRICS", "GuetzliSlowWarning", "Reference", "SlimStage", "decode_image", "encode_image",
           "guetzli", "guetzli_collection", "psnr", "recommend", "Recommendation", "rule_for", "slim", "ssim",
           "ssimulacra2", "summarise", "sweep", "tradeoff"]
