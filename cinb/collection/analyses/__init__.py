"""The analysis registry and the built-in (non-AI) analyses; importing registers them.

Examples
--------
>>> from cinb.collection.analyses import list_analyses
>>> {"aspect", "brightness", "colorfulness", "duplicates"} <= set(list_analyses())
True
"""

# The analyses that need the AI layer (quality measures, embeddings, every endpoint's analysis) load on
# first lookup: registry.PLUGINS.
from cinb.collection.analyses import (  # noqa: F401
                                      duplicates,
                                      engine_info,
                                      geometry,
                                      hashes,
                                      plates,
)
from cinb.collection.analyses.context import ImageContext
from cinb.collection.analyses.registry import (
                                               Analysis,
                                               get_analysis,
                                               list_analyses,
                                               register_analysis,
                                               register_preset,
                                               resolve,
                                               unregister_analysis,
)

#: cleanvision-style issue checks in one name: ``analyze(df, "issues")``.
register_preset("issues", ("brightness", "sharpness", "entropy", "grayscale", "aspect", "odd_size",
                           "duplicates", "near_duplicates"))

__all__ = ["Analysis", "ImageContext", "get_analysis", "list_analyses", "register_analysis", "register_preset",
           "resolve", "unregister_analysis"]
