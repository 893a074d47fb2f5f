"""Group analyses: exact duplicates (same pixels) and near-duplicate groups (phash within a radius)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from cinb.collection.analyses.registry import register_analysis


def duplicates(df: pd.DataFrame) -> pd.DataFrame:
    """``duplicate_group`` (0, 1, ... for sets of rows with identical pixels, else missing) and
    ``duplicate_of`` (the path of the set's first row; missing for that first row).

    Examples
    --------
    >>> import pandas as pd
    >>> from cinb.collection.analyses.duplicates import duplicates
    >>> df = pd.DataFrame({"path": ["a", "b", "c"], "pixel_hash": ["x", "y", "x"]})
    >>> duplicates(df).values.tolist()
    [[0, None], [<NA>, None], [0, 'a']]
    """
    group = pd.Series(pd.NA, index=df.index, dtype="Int64")
    first_of = pd.Series([None] * len(df), index=df.index, dtype=object)
    hashes = df["pixel_hash"]
    valid = hashes.notna()
    counts = hashes[valid].value_counts()
    shared = hashes.isin(counts[counts > 1].index) & valid
    numbers: dict = {}
    first_path: dict = {}
    for label, h, path in zip(df.index[shared], hashes[shared], df["path"][shared], strict=True):
        if h not in numbers:
            numbers[h] = len(numbers)
            first_path[h] = path
        else:
            first_of[label] = first_path[h]
        group[label] = numbers[h]
    return pd.DataFrame({"duplicate_group": group, "duplicate_of": first_of}, index=df.index)


def hex_to_uint64(values) -> np.ndarray:
    """16-hex-digit hashes -> ``uint64`` array.

    Examples
    --------
    >>> from cinb.collection.analyses.duplicates import hex_to_uint64
    >>> hex_to_uint64(["ffffffffffffffff", "0000000000000001"]).tolist()
    [18446744073709551615, 1]
    """
    return np.array([int(v, 16) for v in values], dtype=np.uint64)


def near_groups(hashes: np.ndarray, radius: int, *, block: int = 2048) -> np.ndarray:
    """Connected components of "Hamming distance <= radius"; -1 for images with no neighbour.

    Exact pairwise comparison in blocks (memory stays at block x n); numbered by first member.

    Examples
    --------
    >>> import numpy as np
    >>> from cinb.collection.analyses.duplicates import near_groups
    >>> near_groups(np.array([0b0, 0b1, 0b11111111, 0b0111], dtype=np.uint64), 1).tolist()
    [0, 0, -1, -1]
    """
    n = len(hashes)
    parent = list(range(n))  # a list: union-find indexes one element at a time, and numpy scalars are slow

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for start in range(0, n, block):
        rows = hashes[start:start + block]
        dist = np.bitwise_count(rows[:, None] ^ hashes[None, start:])  # only j >= start
        ii, jj = np.nonzero(dist <= radius)
        for i, j in zip((ii + start).tolist(), (jj + start).tolist(), strict=True):
            if j > i:
                ri, rj = find(i), find(j)
                if ri != rj:
                    parent[max(ri, rj)] = min(ri, rj)
    roots = np.array([find(i) for i in range(n)], dtype=np.int64)
    sizes = np.bincount(roots, minlength=n)
    out = np.full(n, -1, dtype=np.int64)
    numbers: dict[int, int] = {}
    for i, r in enumerate(roots):
        if sizes[r] > 1:
            out[i] = numbers.setdefault(int(r), len(numbers))
    return out


def near_duplicates(df: pd.DataFrame, *, radius: int = 6) -> pd.DataFrame:
    """``near_group``: images whose phash differ in at most ``radius`` of 64 bits share a group
    number (transitively); missing for images with no near-duplicate.

    Examples
    --------
    >>> import pandas as pd
    >>> from cinb.collection.analyses.duplicates import near_duplicates
    >>> df = pd.DataFrame({"phash": ["ffffffffffffffff", "fffffffffffffff0", "0000000000000000", None]})
    >>> near_duplicates(df)["near_group"].tolist()
    [0, 0, <NA>, <NA>]
    """
    out = pd.Series(pd.NA, index=df.index, dtype="Int64")
    valid = df["phash"].notna()
    if valid.sum() > 1:
        groups = near_groups(hex_to_uint64(df["phash"][valid]), int(radius))
        out[valid] = pd.array(np.where(groups >= 0, groups, 0), dtype="Int64")
        out[valid] = out[valid].where(groups >= 0)
    return pd.DataFrame({"near_group": out}, index=df.index)


register_analysis("duplicates", duplicates, columns={"duplicate_group": "Int64", "duplicate_of": object},
                  kind="group", requires=("pixel_hash",), aliases=("exact_duplicates",),
                  description="groups of files with identical pixels")
register_analysis("near_duplicates", near_duplicates, columns={"near_group": "Int64"}, kind="group",
                  requires=("phash",), defaults={"radius": 6}, aliases=("near_duplicate_groups",),
                  description="groups of images whose phash is within a Hamming radius")
