"""Image collections as DataFrames: scan, apply, analyze, show; a local process pool or Dask.

Examples
--------
>>> import cinb.collection as col
>>> callable(col.scan) and callable(col.map_rows)
True
"""

from cinb.collection import accessor as _accessor  # noqa: F401  (registers df.ci)
from cinb.collection.analyses import list_analyses, register_analysis
from cinb.collection.analyze import analyze
from cinb.collection.apply import apply
from cinb.collection.cli import register_cli
from cinb.collection.cluster import compute, to_dask
from cinb.collection.gallery import show
from cinb.collection.scan import scan
from cinb.parallel import default_workers, map_rows, map_values

__all__ = ["scan", "apply", "analyze", "show", "list_analyses", "register_analysis", "map_rows", "map_values",
           "default_workers", "to_dask", "compute", "register_cli"]
