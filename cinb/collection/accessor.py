"""The ``df.ci`` accessor on pandas (and Dask) DataFrames: ``apply``, ``analyze``, ``show``.

Examples
--------
>>> import pandas as pd, cinb.collection
>>> hasattr(pd.DataFrame({"path": []}).ci, "analyze")
True
"""

from __future__ import annotations

import sys
from typing import Any

import pandas as pd

from cinb.collection.analyze import analyze
from cinb.collection.apply import apply
from cinb.collection.gallery import show


class CollectionAccessor:
    """``df.ci``: the collection functions with the DataFrame as first argument.

    Examples
    --------
    >>> import tempfile, os
    >>> from PIL import Image
    >>> folder = tempfile.mkdtemp(); Image.new("RGB", (80, 60), "white").save(os.path.join(folder, "w.png"))
    >>> from cinb.collection import scan
    >>> scan(folder, progress=False).ci.analyze("brightness", progress=False)["light"].tolist()
    [True]
    """

    def __init__(self, df: Any):
        self._df = df

    def apply(self, rule: Any, out_dir: Any, **kwargs: Any) -> Any:
        """``cinb.apply(df, rule, out_dir, ...)``."""
        return apply(self._df, rule, out_dir, **kwargs)

    def analyze(self, *names: str, **kwargs: Any) -> Any:
        """``cinb.analyze(df, *names, ...)``."""
        return analyze(self._df, *names, **kwargs)

    def show(self, columns: Any = None, **kwargs: Any) -> Any:
        """Thumbnail grid (``cinb.collection.gallery.show``)."""
        return show(self._df, columns, **kwargs)

    def errors(self) -> Any:
        """Rows whose ``error`` is set."""
        if "error" not in self._df.columns:
            return self._df.iloc[0:0] if isinstance(self._df, pd.DataFrame) else self._df.head(0)
        return self._df[self._df["error"].notna()]

    def ok(self) -> Any:
        """Rows without an ``error``."""
        if "error" not in self._df.columns:
            return self._df
        return self._df[self._df["error"].isna()]


def register(*, dask: bool = False) -> None:
    """Register ``.ci`` on pandas DataFrames, and on Dask ones when ``dask.dataframe`` is already
    imported or ``dask=True`` (importing Dask costs seconds, so cinb never does it unasked).
    Idempotent; :func:`cinb.collection.to_dask` calls it."""
    if not hasattr(pd.DataFrame, "ci"):
        pd.api.extensions.register_dataframe_accessor("ci")(CollectionAccessor)
    if not dask and "dask.dataframe" not in sys.modules:
        return
    try:
        import dask.dataframe as dd
        from dask.dataframe.extensions import register_dataframe_accessor
    except ImportError:  # Dask is optional
        return
    if not hasattr(dd.DataFrame, "ci"):
        register_dataframe_accessor("ci")(CollectionAccessor)


register()
