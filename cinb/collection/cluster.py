"""Dask helpers: turn a collection into a Dask DataFrame, compute one with a progress bar.

``scan``, ``apply`` and ``analyze`` accept a ``dask.dataframe.DataFrame`` and return one, lazily:
each partition runs on whatever scheduler is active. To use a cluster, create a
``dask.distributed.Client`` first; every ``compute()`` then runs there::

    from dask.distributed import Client, LocalCluster
    client = Client(LocalCluster(n_workers=2, threads_per_worker=1))   # or Client("tcp://scheduler:8786")
    ddf = cinb.collection.to_dask("photos/", npartitions=8)            # paths only, listed here
    ddf = cinb.scan(ddf)                                                # lazy
    ddf = cinb.analyze(ddf, "phash", "sharpness", "near_duplicates")   # still lazy
    table = cinb.collection.compute(ddf)                                # runs on the cluster, tqdm bar

On a real cluster the workers must be able to import cinb (same version) and read the paths: use
absolute paths on storage every worker mounts. ``apply``'s ``out_dir`` must be shared too (its
resume journal lives there).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from cinb.collection.accessor import register
from cinb.collection.sources import list_paths


def to_dask(source: Any, *, npartitions: int | None = None, rows_per_partition: int = 256,
            recursive: bool = True) -> Any:
    """A ``dask.dataframe.DataFrame`` from a table or from paths (listed here, not scanned).

    Parameters
    ----------
    source : pandas.DataFrame, folder, glob or list of paths
        A table (kept as is) or what :func:`cinb.scan` accepts (only the ``path`` column is made:
        pass the result to ``scan`` to read headers on the workers).
    npartitions : int, optional
        Number of partitions (default: one per ``rows_per_partition`` rows).
    rows_per_partition : int
        Used when ``npartitions`` is not given.
    recursive : bool
        For folders and globs, as in ``scan``.

    Returns
    -------
    dask.dataframe.DataFrame

    Examples
    --------
    >>> from cinb.collection.cluster import to_dask
    >>> ddf = to_dask(["a.jpg", "b.jpg", "c.jpg"], npartitions=2)
    >>> ddf.npartitions
    2
    """
    import dask.dataframe as dd

    register(dask=True)
    if isinstance(source, pd.DataFrame):
        frame = source
    else:
        frame = pd.DataFrame({"path": pd.Series(list_paths(source, recursive=recursive), dtype=object)})
    if npartitions is None:
        npartitions = max(1, -(-len(frame) // rows_per_partition))
    return dd.from_pandas(frame, npartitions=max(1, min(npartitions, max(1, len(frame)))), sort=False)


def compute(ddf: Any, *, progress: bool = True) -> pd.DataFrame:
    """Compute a Dask collection to pandas, with a tqdm bar over partitions.

    With a ``dask.distributed`` client active, partitions run on its cluster and the bar advances
    as they finish; otherwise the local scheduler runs them.

    Examples
    --------
    >>> import pandas as pd
    >>> from cinb.collection.cluster import compute
    >>> import dask.dataframe as dd
    >>> compute(dd.from_pandas(pd.DataFrame({"x": [1, 2]}), npartitions=2), progress=False)["x"].tolist()
    [1, 2]
    """
    from tqdm.auto import tqdm  # lazy: in a notebook tqdm.auto imports ipywidgets

    client = _client()
    parts = ddf.to_delayed()
    if client is None:
        import dask

        return pd.concat(dask.compute(*parts), axis=0)
    from distributed import as_completed

    futures = client.compute(parts)
    order = {f.key: i for i, f in enumerate(futures)}
    results: list = [None] * len(futures)
    with tqdm(total=len(futures), desc="partitions", disable=not progress) as bar:
        for fut in as_completed(futures):
            results[order[fut.key]] = fut.result()
            bar.update(1)
    return pd.concat(results, axis=0)


def _client() -> Any:
    try:
        from distributed import get_client
    except ImportError:
        return None
    try:
        return get_client()
    except ValueError:  # no client: the local scheduler
        return None
