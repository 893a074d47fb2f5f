"""Search by image: CI's ``?ci-process=ImageSearch`` (spec §19.11), offline, over a persistent :class:`Library`.

CI keeps an image library per bucket: ``AddImage`` puts the object (``PicName``, its key) in it under an
``EntityId`` (several pictures may share one: "if the EntityId already exists, this request adds the
image to it"), with an optional ``CustomContent`` (up to 4096 characters) and ``Tags`` (a JSON object of
up to 10 key/value pairs); ``SearchImage`` answers the most similar pictures::

    {"Count": 2, "ImageInfos": [{"EntityId": "apple", "PicName": "apple1.jpg", "Score": 99,
                                 "CustomContent": "XXX", "Tags": "{\\"key1\\":\\"value1\\"}"}, ...]}

(the fields in the order of CI's SearchImage example, which the XML answer keeps)

``Score`` is an integer 0-100 (CI recommends ``MatchThreshold=80`` for "the same picture"), ``Tags`` is
the JSON text given at ``AddImage``, ``Count`` the number of ``ImageInfos`` returned. ``DeleteImage``
removes the object's picture from the entity.

How cinb does it
----------------
- **Features.** EfficientNet-Lite3's pooled 1280-d features (the detect-label model of
  :mod:`cinb.ai.tagging`, same interpreter), computed on the *whole* upright picture squashed to the
  model's input square rather than the classifier's central crop: on the project's natural photos
  the whole picture kept every crop-70 %, resize-0.3 and JPEG-q40 copy first (the central crop lost
  7-11 % of them; a trial at 280 px). After them, :data:`CATEGORY_WEIGHT` x the square roots of
  the classifier's probabilities summed per second category of cinb's label table (58: cats, wild
  cats, dogs, birds, cars, fruit...): the pooled features alone put few pictures of the same kind of
  thing together (2.7 other felids in a felid's top 10, of 8, on the labelled photos of
  benchmarks/labelled.py; 0.5 other dogs of 3), the category block makes it 5.0 and 3.0 (birds 9.4
  of 10). Cosine similarity of unit vectors; unrelated photos score 0.23 (median), 0.60 (99th
  percentile) on those photos. A library records its features: one made before the category block
  keeps its 1280-d vectors, and its queries are computed the same way.
- **Copies first.** A 64-bit DCT perceptual hash (``phash`` of :mod:`cinb.collection.analyses.hashes`)
  of each picture; a query whose hash, or its mirror image's, lies within :data:`COPY_BITS` bits of a
  library picture's (and whose pooled block's cosine is at least :data:`COPY_MIN_COSINE`) is a near copy and scores
  90-100 (100 - differing bits), above every merely similar picture, which scores 0-89 from the
  cosine (:func:`score_of`). Every library hash is compared (a vectorised XOR), so a copy ranks first
  even when the vector index would have missed it: resizing, re-encoding, brightness, grayscale, small
  watermarks and mirroring keep the hash; crops and rotations are found by the features, ranked by
  the pooled block's cosine when it is :data:`LOOKALIKE_COSINE` or more (a look-alike of the query),
  so that another photo of the same kind of thing cannot overtake them through the category block.
- **Store.** One folder: ``library.sqlite`` and ``vectors.<upto>.usearch``.

  * SQLite (stdlib) in WAL mode is the source of truth: one row per picture (entity, picture name,
    custom content, tags, hash, the feature vector as float16). Commits are atomic and durable
    (``synchronous=FULL``), readers never block the writer nor see half a batch, and a process killed
    mid-``add_many`` leaves every committed batch and an openable file (SQLite's journal recovery).
  * The vector index is a derived cache: a ``usearch`` HNSW index (Apache-2.0; cosine, float16)
    saved through a temporary file and an atomic rename, its name recording the last row it covers.
    Rows added after it (the "tail") are searched exactly in numpy, deleted rows are dropped by the
    SQLite lookup, and the index is extended (not rebuilt) once the tail passes :data:`TAIL_ROWS`.
    Libraries up to :data:`EXACT_ROWS` pictures are searched exhaustively (usearch's SIMD brute force),
    bigger ones through the HNSW graph with ``expansion_search`` :data:`EXPANSION` (recall@10 >= 0.95
    against exhaustive search at 100k, benchmarks/bench_search.py). Readers map the index file read-only;
    a writer's rename never disturbs an open reader.
  * Why usearch: a 13 MB wheel, float16 storage, a saved index that opens as a read-only memory map,
    exhaustive SIMD search when exactness matters; at 100k x 1280 its graph answers in 3-5 ms with
    recall@10 0.995 (benchmarks/RESULTS.md). LanceDB (75 MB) took 565 ms for a flat search at 100k
    in the project's model survey; faiss-cpu or hnswlib would do the graph part as well. sqlite-vec
    needs an extension-loading SQLite the stdlib does not ship.
- **Filter.** CI's ``Filter`` on Tags: comparisons ``key op value`` with ``> >= < <= = !=`` joined by
  ``AND`` / ``OR`` (``AND`` binds first; parentheses are accepted as a cinb extension). Values may be
  quoted (``"..."`` or ``'...'``); two numbers compare as numbers, anything else as text; a picture
  without the key fails the comparison (:func:`parse_filter`).

What it cannot do: find a picture from a small part of it (under about half the picture), from a
strong rotation (90°) or perspective change, or search by text (CI's newer dataset search does); the
features know ImageNet's world (objects, animals, scenes), not faces or identities; scores of merely
similar pictures are calibrated on natural photos, not on CI's own (unknown) scale.

Examples
--------
>>> import tempfile
>>> import numpy as np
>>> from PIL import Image, ImageFilter
>>> from cinb.ai.search import Library
>>> def blobs(seed):
...     noise = np.random.default_rng(seed).integers(0, 256, (256, 256, 3), dtype=np.uint8)
...     return Image.fromarray(noise).filter(ImageFilter.GaussianBlur(6))
>>> lib = Library(tempfile.mkdtemp())
>>> lib.add(blobs(1), "one")
>>> lib.add(blobs(2), "two", tags={"kind": "noise", "n": 2})
>>> r = lib.search(blobs(1).resize((100, 100)), limit=1)
>>> r["Count"], r["ImageInfos"][0]["EntityId"], r["ImageInfos"][0]["Score"] >= 95
(1, 'one', True)
>>> len(lib), lib.search(blobs(1), filter='kind = "noise" AND n >= 2')["ImageInfos"][0]["EntityId"]
(2, 'two')
"""

from __future__ import annotations

import glob
import json
import os
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageOps

from ..errors import BAD_PARAMETER, CIError
from ..fileio import atomic_path
from ..imageinput import ImageInput
from . import models
from .endpoints import Answer, Endpoint, Param, choice_param, int_param, local_path, register_endpoint, str_param

#: Files of a library folder.
DB_FILE = "library.sqlite"
INDEX_GLOB = "vectors.*.usearch"
#: Pooled features of the backbone, and the second categories of cinb's label table (58).
POOLED_DIM, CATEGORY_DIM = 1280, 58
#: Feature size (the model's input side is ``cinb.ai.tagging.INPUT_SIZE``).
DIM = POOLED_DIM + CATEGORY_DIM
#: Weight of the category block against the pooled block (both unit length before weighting). 0.5
#: puts 5.0 other felids among a cat's top 10 (of 8 in the labelled corpus; pooled alone: 2.7),
#: all 3 other dogs (pooled alone: 0.5) and keeps recall@1 of edited copies (benchmarks/RESULTS.md); 1.0 adds
#: little (5.4 felids) and brings unrelated pictures of one category as close as a crop copy.
CATEGORY_WEIGHT = 0.5
#: What a library's vectors are (its ``meta`` table): libraries made before the category block keep
#: their pooled-only vectors, and queries on them are computed the same way.
FEATURES = "efficientnet-lite3 pooled + 0.5 x sqrt(second-category probabilities), whole picture; phash"
FEATURES_POOLED = "efficientnet-lite3 pooled, whole picture; phash"
#: Decode size (long side) for features and hash: enough for a 280 px model input.
DECODE_SIZE = 512
#: A query within this many phash bits of a picture (and COPY_MIN_COSINE) is a near copy (score 90-100).
COPY_BITS = 10
COPY_MIN_COSINE = 0.4
#: Cosine of the pooled block alone from which a picture is a look-alike of the query (the same photo
#: cropped or turned: 0.65-0.97 over the benchmark's crop-70 % and rotation-5° copies), ranked by that
#: cosine when it beats the whole vector's: the category block must not let a different photo of the
#: same kind of thing overtake a crop of the query. Unrelated photos: 0.53 at the 99th percentile.
LOOKALIKE_COSINE = 0.7
#: Cosine at and below which a merely similar picture scores 0; 1.0 would score 89.
COSINE_ZERO = 0.25
#: Libraries up to this many pictures are searched exhaustively; larger ones through the HNSW graph.
EXACT_ROWS = 20_000
#: HNSW search depth ("ef"), insertion depth ("efConstruction") and graph degree ("M").
EXPANSION = 256
EXPANSION_ADD = 64
CONNECTIVITY = 16
#: A Filter matching more rows than this searches the index (widened by the share that matches, then
#: filtered); fewer rows are compared one by one.
FILTER_EXACT_ROWS = 2_000
#: Rows added after the index file before it is extended.
TAIL_ROWS = 2_000
#: CI's limits.
MAX_LIMIT = 100
MAX_ENTITY = 64
MAX_CUSTOM = 4096
MAX_TAGS = 10

SCHEMA = """
CREATE TABLE IF NOT EXISTS images (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    entity_id TEXT NOT NULL,
    pic_name TEXT NOT NULL,
    custom_content TEXT,
    tags TEXT,
    phash INTEGER NOT NULL,
    vector BLOB NOT NULL,
    added REAL NOT NULL,
    UNIQUE (entity_id, pic_name)
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
FORMAT = "cinb-image-library/1"


def _bad(message: str, token: Any = None) -> CIError:
    return CIError(message, code=BAD_PARAMETER, token=None if token is None else str(token))


# --- features --------------------------------------------------------------------------------------------

def _upright_rgb(src: Any) -> Image.Image:
    from .tagging import _check_input  # noqa: PLC0415 (tagging loads the label table)

    inp = src if isinstance(src, ImageInput) else ImageInput(src)
    _check_input(inp)
    image = inp.image(DECODE_SIZE)
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        base = Image.new("RGB", rgba.size, "white")
        base.paste(rgba, mask=rgba.getchannel("A"))
        return base
    return image.convert("RGB")


def _phash_int(image: Image.Image) -> int:
    """The ``phash`` analysis's DCT hash (32 x 32 luma, the 8 x 8 lowest frequencies above their median;
    ``cinb.collection`` sits above ``cinb.ai``, so it is computed here) as a signed 64-bit integer."""
    import cv2  # noqa: PLC0415

    small = np.asarray(image.convert("L").resize((32, 32), Image.Resampling.LANCZOS), dtype=np.float32)
    low = cv2.dct(small)[:8, :8]
    value = int.from_bytes(np.packbits(low > np.median(low)).tobytes(), "big")
    return value - (1 << 64) if value >= 1 << 63 else value  # SQLite integers are signed 64-bit


def _category_matrix() -> np.ndarray:
    """(CATEGORY_DIM, 1000) membership of the classes in cinb's second categories (cached)."""
    global _CATEGORIES
    if _CATEGORIES is None:
        from .tagging import label_table  # noqa: PLC0415 (tagging loads the label table)

        table = label_table()
        keys = [(f, s) for f, cat in table.categories.items() for s in cat["second"]]
        index = {k: j for j, k in enumerate(keys)}
        matrix = np.zeros((len(keys), len(table.classes)), np.float32)
        for i, c in enumerate(table.classes):
            matrix[index[(c["first"], c["second"])], i] = 1.0
        if len(keys) != CATEGORY_DIM:  # the table changed: stored vectors would no longer line up
            raise RuntimeError(f"labels.json has {len(keys)} second categories; search expects {CATEGORY_DIM}")
        _CATEGORIES = matrix
    return _CATEGORIES


_CATEGORIES: np.ndarray | None = None


def _unit(v: np.ndarray) -> np.ndarray:
    norm = float(np.linalg.norm(v))
    return v / norm if norm > 0 else v


def features(src: Any, *, kind: str = FEATURES) -> dict:
    """What the library stores for one picture: ``{"vector": float32 (DIM,) unit, "phash": int,
    "mirror_phash": int}``.

    The vector is EfficientNet-Lite3's pooled features of the whole upright picture (squashed square,
    alpha on white), unit length, followed by :data:`CATEGORY_WEIGHT` x the square roots of the
    classifier's probabilities summed per second category of cinb's label table (cats, wild cats,
    dogs, birds, cars...), unit length, the whole made unit length again: the pooled block finds
    copies and look-alikes, the category block pulls pictures of one kind of thing together (semantic
    neighbours). ``kind=FEATURES_POOLED`` gives the pooled block alone (libraries made before).
    ``phash`` is the 64-bit DCT hash as a signed integer.

    Raises
    ------
    CIError
        The decode errors (-113, -443, -447); -103 for a picture of 32 px or less a side; -163 when
        the model's packages are missing.
    """
    from .tagging import INPUT_SIZE, MODEL  # noqa: PLC0415

    if kind not in (FEATURES, FEATURES_POOLED):
        raise _bad(f"unknown library features {kind!r}", kind)
    image = _upright_rgb(src)
    pixels = np.asarray(image.resize((INPUT_SIZE, INPUT_SIZE), Image.Resampling.BILINEAR, reducing_gap=2.0))
    probs, pooled = models.get(MODEL).run(pixels)
    vector = _unit(pooled.astype(np.float32))
    if kind == FEATURES:
        categories = _unit(np.sqrt(_category_matrix() @ probs.astype(np.float32)))
        vector = _unit(np.concatenate([vector, CATEGORY_WEIGHT * categories]))
    vector = vector.astype(np.float32)
    return {"vector": vector, "phash": _phash_int(image), "mirror_phash": _phash_int(ImageOps.mirror(image))}


def score_of(cosine: np.ndarray, bits: np.ndarray, *, copy_cosine: np.ndarray | None = None) -> np.ndarray:
    """CI-scale scores (int 0-100) from cosine similarity and phash distance (bits, 0-64).

    Near copies (``bits <= COPY_BITS`` and ``copy_cosine >= COPY_MIN_COSINE``; ``copy_cosine``, the
    pooled block's cosine in a library, defaults to ``cosine``) score ``100 - bits`` (90-100); other
    pictures ``89 * (cosine - COSINE_ZERO) / (1 - COSINE_ZERO)``, clipped to 0-89.

    Examples
    --------
    >>> import numpy as np
    >>> from cinb.ai.search import score_of
    >>> score_of(np.array([1.0, 0.9, 0.9, 0.2]), np.array([0, 4, 30, 40])).tolist()
    [100, 96, 77, 0]
    """
    cosine = np.asarray(cosine, dtype=np.float64)
    bits = np.asarray(bits)
    similar = np.clip(np.floor(89 * (cosine - COSINE_ZERO) / (1 - COSINE_ZERO) + 0.5), 0, 89)
    check = cosine if copy_cosine is None else np.asarray(copy_cosine, dtype=np.float64)
    copy = (bits <= COPY_BITS) & (check >= COPY_MIN_COSINE)
    return np.where(copy, 100 - bits, similar).astype(int)


def _bits(a: np.ndarray, b: int) -> np.ndarray:
    return np.bitwise_count(a.view(np.uint64) ^ np.uint64(b & ((1 << 64) - 1))).astype(np.int64)


# --- the Tags filter -------------------------------------------------------------------------------------

_TOKEN = re.compile(r"""\s*(?:(?P<op>>=|<=|!=|=|>|<)|(?P<paren>[()])|"(?P<dq>[^"]*)"|'(?P<sq>[^']*)'|"""
                    r"""(?P<word>[^\s()<>=!"']+))""")


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _compare(have: Any, op: str, want: str) -> bool:
    if have is None:
        return False
    have_text = have if isinstance(have, str) else json.dumps(have) if not isinstance(have, (int, float)) \
        else repr(have)
    a, b = _number(have_text), _number(want)
    if a is not None and b is not None:
        return _OPS[op](a, b)
    return _OPS[op](have_text, want)


_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "=": lambda x, y: x == y, "!=": lambda x, y: x != y, ">": lambda x, y: x > y, ">=": lambda x, y: x >= y,
    "<": lambda x, y: x < y, "<=": lambda x, y: x <= y}


def parse_filter(text: str) -> Callable[[Mapping[str, Any]], bool]:
    """CI's ``Filter`` expression -> a predicate on a picture's tags.

    Examples
    --------
    >>> from cinb.ai.search import parse_filter
    >>> f = parse_filter('color = "red" AND size >= 10 OR kind != fruit')
    >>> f({"color": "red", "size": "12"}), f({"color": "red", "size": "9", "kind": "fruit"})
    (True, False)
    >>> parse_filter("size >")
    Traceback (most recent call last):
    ...
    cinb.errors.CIError: Filter 'size >': expected a value after 'size >' (X-ErrNo -103)
    """
    source = str(text)
    tokens: list[tuple[str, str]] = []
    pos = 0
    while pos < len(source):
        if source[pos:].strip() == "":
            break
        m = _TOKEN.match(source, pos)
        if m is None or m.end() == pos:
            raise _bad(f"Filter {source!r}: cannot read {source[pos:].strip()[:20]!r}", source)
        pos = m.end()
        if m.group("op"):
            tokens.append(("op", m.group("op")))
        elif m.group("paren"):
            tokens.append((m.group("paren"), m.group("paren")))
        elif m.group("dq") is not None or m.group("sq") is not None:
            tokens.append(("value", m.group("dq") if m.group("dq") is not None else m.group("sq")))
        elif m.group("word").upper() in ("AND", "OR"):
            tokens.append((m.group("word").upper(), m.group("word")))
        else:
            tokens.append(("value", m.group("word")))
    if not tokens:
        raise _bad(f"Filter {source!r} is empty", source)
    at = 0

    def peek() -> str | None:
        return tokens[at][0] if at < len(tokens) else None

    def take(kind: str, what: str) -> str:
        nonlocal at
        if peek() != kind:
            raise _bad(f"Filter {source!r}: expected {what}", source)
        at += 1
        return tokens[at - 1][1]

    def expr():
        parts = [conj()]
        while peek() == "OR":
            take("OR", "OR")
            parts.append(conj())
        return parts[0] if len(parts) == 1 else (lambda tags: any(p(tags) for p in parts))

    def conj():
        parts = [atom()]
        while peek() == "AND":
            take("AND", "AND")
            parts.append(atom())
        return parts[0] if len(parts) == 1 else (lambda tags: all(p(tags) for p in parts))

    def atom():
        if peek() == "(":
            take("(", "(")
            inner = expr()
            take(")", "')'")
            return inner
        key = take("value", "a tag name")
        op = take("op", f"an operator (> >= < <= = !=) after {key!r}")
        value = take("value", f"a value after '{key} {op}'")
        return lambda tags: _compare(tags.get(key), op, value)

    predicate = expr()
    if at != len(tokens):
        raise _bad(f"Filter {source!r}: unexpected {tokens[at][1]!r} (join conditions with AND or OR)", source)
    return predicate


# --- parameter checks ------------------------------------------------------------------------------------

def _check_entity(entity_id: Any) -> str:
    text = "" if entity_id is None else str(entity_id)
    if not text or len(text) > MAX_ENTITY:
        raise _bad(f"EntityId must be 1 to {MAX_ENTITY} characters, got {entity_id!r}", entity_id)
    return text


def _check_custom(content: Any) -> str | None:
    if content is None:
        return None
    text = str(content)
    if len(text) > MAX_CUSTOM:
        raise _bad(f"CustomContent is {len(text)} characters; CI allows {MAX_CUSTOM}", "CustomContent")
    return text


def _check_tags(tags: Any) -> str | None:
    """Tags as a dict or JSON object text -> canonical JSON text (or None)."""
    if tags is None or (isinstance(tags, str) and not tags.strip()):
        return None
    if isinstance(tags, str):
        try:
            value = json.loads(tags)
        except (ValueError, RecursionError):  # not JSON, a 5000-digit number, "[" nested past the recursion limit
            raise _bad(f"Tags must be a JSON object of key/value pairs, got {tags!r}", tags) from None
    else:
        value = tags
    if not isinstance(value, Mapping):
        raise _bad(f"Tags must be a JSON object of key/value pairs, got {tags!r}", tags)
    if len(value) > MAX_TAGS:
        raise _bad(f"Tags has {len(value)} pairs; CI allows {MAX_TAGS}", "Tags")
    clean = {}
    for k, v in value.items():
        if not isinstance(v, (str, int, float)) or isinstance(v, bool):
            raise _bad(f"Tags value for {k!r} must be text or a number, got {v!r}", k)
        clean[str(k)] = v
    return json.dumps(clean, ensure_ascii=False, separators=(",", ":"))


def _pic_name(src: Any, entity_id: str, pic_name: Any) -> str:
    if pic_name is not None and str(pic_name):
        return str(pic_name)
    if isinstance(src, ImageInput) and src.path:
        return os.path.basename(src.path)
    if isinstance(src, (str, os.PathLike)):
        return os.path.basename(os.fspath(src))
    return entity_id


# --- the library -----------------------------------------------------------------------------------------

class Library:
    """A persistent image library in a folder (created if missing): CI's ImageSearch gallery, locally.

    Parameters
    ----------
    path : str or os.PathLike
        The library folder (``library.sqlite`` and the vector index inside).
    readonly : bool
        Open for searching only (no folder creation, no writes).

    Notes
    -----
    Several processes may search one library while one adds to it (SQLite WAL; the index file is
    replaced atomically). Writers are serialised by SQLite's lock. A Library object may be shared by
    threads (its state is guarded by a lock).
    """

    def __init__(self, path: str | os.PathLike, *, readonly: bool = False):
        self.path = Path(path)
        self.readonly = readonly
        try:
            if not readonly:
                self.path.mkdir(parents=True, exist_ok=True)
            elif not (self.path / DB_FILE).is_file():
                raise CIError(f"no image library at {self.path}", code=BAD_PARAMETER, token=str(self.path))
            self._lock = threading.RLock()
            self._db = self._connect()
        except (OSError, sqlite3.Error) as exc:  # a file, a read-only or unreachable place: no library there
            raise CIError(f"cannot open an image library at {self.path}: {exc}", code=BAD_PARAMETER,
                          token=str(self.path)) from None
        found = self._db.execute("SELECT value FROM meta WHERE key='features'").fetchone()
        self.feature_kind = found[0] if found else FEATURES_POOLED
        if self.feature_kind not in (FEATURES, FEATURES_POOLED):
            raise CIError(f"{self.path} holds features cinb does not know ({self.feature_kind!r})",
                          code=BAD_PARAMETER, token=str(self.path))
        self._dim = DIM if self.feature_kind == FEATURES else POOLED_DIM
        self._state_version: tuple | None = None
        self._writes = 0
        self._index = None
        self._index_upto = 0
        self._ids = np.zeros(0, np.int64)
        self._hashes = np.zeros(0, np.int64)
        self._tail_ids = np.zeros(0, np.int64)
        self._tail = np.zeros((0, self._dim), np.float32)
        self._tags: list[tuple[int, dict]] | None = None

    def _connect(self) -> sqlite3.Connection:
        db_path = self.path / DB_FILE
        if self.readonly:
            db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=30, check_same_thread=False)
        else:
            db = sqlite3.connect(db_path, timeout=30, check_same_thread=False)
            tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            if tables and not {"images", "meta"} <= tables:  # someone else's database: leave it alone
                db.close()
                raise CIError(f"{db_path} is not a cinb image library (tables: {', '.join(sorted(tables))})",
                              code=BAD_PARAMETER, token=str(db_path))
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            with db:
                db.executescript(SCHEMA)
                db.execute("INSERT OR IGNORE INTO meta VALUES ('format', ?)", (FORMAT,))
                if not tables:  # a new library gets the current features; an existing one keeps its own
                    db.execute("INSERT OR IGNORE INTO meta VALUES ('features', ?)", (FEATURES,))
        found = db.execute("SELECT value FROM meta WHERE key='format'").fetchone()
        if found is None or found[0] != FORMAT:
            raise CIError(f"{db_path} is not a cinb image library ({found and found[0]!r})", code=BAD_PARAMETER,
                          token=str(db_path))
        return db

    def __repr__(self) -> str:
        return f"Library({str(self.path)!r}, {len(self)} pictures)"

    def __len__(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT count(*) FROM images").fetchone()[0])

    def close(self) -> None:
        """Close the database (the object is unusable afterwards)."""
        with self._lock:
            self._db.close()
            self._index = None

    def __enter__(self) -> Library:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # adding ---------------------------------------------------------------------------------------------

    def _insert(self, rows: list[tuple], replace: bool) -> None:
        verb = "INSERT OR REPLACE" if replace else "INSERT OR IGNORE"
        with self._lock, self._db:
            self._writes += 1
            self._db.executemany(
                f"{verb} INTO images (entity_id, pic_name, custom_content, tags, phash, vector, added) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)", rows)

    @staticmethod
    def _row(entity_id: str, pic_name: str, custom: str | None, tags: str | None, feats: Mapping) -> tuple:
        vector = np.asarray(feats["vector"], dtype=np.float16).tobytes()
        return (entity_id, pic_name, custom, tags, int(feats["phash"]), vector, time.time())

    def add(self, src: Any, entity_id: str, custom_content: str | None = None, tags: Mapping | str | None = None,
            *, pic_name: str | None = None) -> None:
        """CI's ``AddImage``: put a picture in the library under ``entity_id``.

        Parameters
        ----------
        src : path, bytes, PIL.Image.Image or cinb.imageinput.ImageInput
            The picture.
        entity_id : str
            CI's ``EntityId`` (1-64 characters); an entity may hold several pictures.
        custom_content : str, optional
            Returned with search results (up to 4096 characters).
        tags : dict or JSON text, optional
            Up to 10 key/value pairs (text or numbers), for ``search(filter=...)``.
        pic_name : str, optional
            CI's ``PicName`` (the object key); default: the file name of a path, else ``entity_id``.
            Adding the same entity and picture name again replaces the picture.

        Raises
        ------
        CIError
            -103 for a bad parameter; the decode errors for an unreadable picture.
        """
        entity = _check_entity(entity_id)
        custom, tag_text = _check_custom(custom_content), _check_tags(tags)
        name = _pic_name(src, entity, pic_name)
        self._writable()
        self._insert([self._row(entity, name, custom, tag_text, features(src, kind=self.feature_kind))],
                     replace=True)
        self.refresh_index()

    def _writable(self) -> None:
        if self.readonly:
            raise CIError(f"library {self.path} is open read-only", code=BAD_PARAMETER, token=str(self.path))

    def add_many(self, df: Any, *, src: str = "path", entity_id: str | None = "entity_id",
                 custom_content: str | None = "custom_content", tags: str | None = "tags",
                 pic_name: str | None = None, max_workers: int | None = None, pool: str | None = None,
                 commit_every: int = 256, progress: bool = True) -> Any:
        """Add every row of a DataFrame (e.g. ``cinb.scan(folder)``), in parallel, committing as it goes.

        Parameters
        ----------
        df : pandas.DataFrame
            One picture per row.
        src : str
            Column with the picture (a path; bytes work too).
        entity_id, custom_content, tags, pic_name : str, optional
            Columns for CI's fields; a column that is missing (or ``None``) gives: entity id = the file
            name without extension, no custom content, no tags, picture name = the file name.
        max_workers, pool
            As for :func:`cinb.parallel.map_rows` (default: every core).
        commit_every : int
            Rows per committed batch: a crash or Ctrl-C loses at most the batch in flight.
        progress : bool
            Show a progress bar.

        Returns
        -------
        pandas.DataFrame
            One row per input row: ``entity_id``, ``pic_name``, ``status`` (``added``, ``skipped``:
            already in the library, which makes a rerun resume; ``error``) and ``error``.
        """
        import pandas as pd  # noqa: PLC0415

        from ..parallel import _progress, map_values  # noqa: PLC0415

        self._writable()
        if not isinstance(df, pd.DataFrame):
            raise TypeError(f"add_many expects a pandas DataFrame, not {type(df).__name__}")
        if src not in df.columns:
            raise _bad(f"add_many: no column {src!r} (columns: {', '.join(map(str, df.columns))})", src)
        if int(commit_every) < 1:
            raise _bad(f"commit_every must be at least 1, got {commit_every!r}", commit_every)

        def column(name: str | None) -> list:
            if name is None or name not in df.columns:
                return [None] * len(df)
            return [None if _missing(v) else v for v in df[name].tolist()]

        sources = df[src].tolist()
        files = [os.path.basename(os.fspath(s)) if isinstance(s, (str, os.PathLike)) else None for s in sources]
        entities = [e if e is not None else (os.path.splitext(f)[0] if f else None)
                    for e, f in zip(column(entity_id), files, strict=True)]
        names = [n if n is not None else f for n, f in zip(column(pic_name), files, strict=True)]
        customs, tag_values = column(custom_content), column(tags)
        report = pd.DataFrame({"entity_id": entities, "pic_name": names, "status": "added", "error": None},
                              index=df.index, dtype=object)
        todo: list[int] = []
        rows_meta: dict[int, tuple[str, str, str | None, str | None]] = {}
        existing = set(self._db.execute("SELECT entity_id, pic_name FROM images").fetchall())
        for i in range(len(df)):
            try:
                entity = _check_entity(entities[i])
                name = names[i] if names[i] is not None else entity
                rows_meta[i] = (entity, str(name), _check_custom(customs[i]), _check_tags(tag_values[i]))
            except CIError as exc:
                report.iloc[i, 2], report.iloc[i, 3] = "error", str(exc)
                continue
            report.iloc[i, 1] = rows_meta[i][1]
            if (entity, rows_meta[i][1]) in existing:
                report.iloc[i, 2] = "skipped"
            else:
                todo.append(i)
        step = int(commit_every)
        with _progress(len(todo), "library add", progress) as bar:
            for start in range(0, len(todo), step):
                chunk = todo[start:start + step]
                results = map_values([{"src": sources[i], "kind": self.feature_kind} for i in chunk], _features_row,
                                     max_workers=max_workers, pool=pool, progress=False, desc="library add")
                batch = []
                for i, out in zip(chunk, results, strict=True):
                    if out.get("error"):
                        report.iloc[i, 2], report.iloc[i, 3] = "error", out["error"]
                    else:
                        batch.append(self._row(*rows_meta[i], out))
                self._insert(batch, replace=False)
                bar.update(len(chunk))
        self.refresh_index()
        return report

    # deleting -------------------------------------------------------------------------------------------

    def delete(self, entity_id: str, pic_name: str | None = None) -> int:
        """CI's ``DeleteImage``: remove the entity's pictures (only ``pic_name`` when given).

        Returns
        -------
        int
            Number of pictures removed (0 when none matched).
        """
        self._writable()
        entity = _check_entity(entity_id)
        with self._lock, self._db:
            self._writes += 1
            if pic_name is None:
                cur = self._db.execute("DELETE FROM images WHERE entity_id = ?", (entity,))
            else:
                cur = self._db.execute("DELETE FROM images WHERE entity_id = ? AND pic_name = ?",
                                       (entity, str(pic_name)))
        return cur.rowcount

    # views ----------------------------------------------------------------------------------------------

    def to_frame(self) -> Any:
        """The library as a DataFrame: ``entity_id``, ``pic_name``, ``custom_content``, ``tags`` (dict),
        ``phash`` (16 hex digits), ``added`` (UTC timestamp); indexed by the row id."""
        import pandas as pd  # noqa: PLC0415

        with self._lock:
            rows = self._db.execute("SELECT id, entity_id, pic_name, custom_content, tags, phash, added "
                                    "FROM images ORDER BY id").fetchall()
        frame = pd.DataFrame(rows, columns=["id", "entity_id", "pic_name", "custom_content", "tags", "phash",
                                            "added"]).set_index("id")
        frame["tags"] = [json.loads(r[4]) if r[4] else {} for r in rows]
        frame["phash"] = [f"{int(h) & ((1 << 64) - 1):016x}" for h in frame["phash"]]
        frame["added"] = pd.to_datetime(frame["added"], unit="s", utc=True)
        return frame

    # the index ------------------------------------------------------------------------------------------

    def _index_files(self) -> list[tuple[int, Path]]:
        found = []
        for name in glob.glob(str(self.path / INDEX_GLOB)):
            m = re.search(r"vectors\.(\d+)\.usearch$", name)
            if m:
                found.append((int(m.group(1)), Path(name)))
        return sorted(found)

    def _vectors(self, where: str = "", args: tuple = ()) -> tuple[np.ndarray, np.ndarray]:
        rows = self._db.execute(f"SELECT id, vector FROM images {where} ORDER BY id", args).fetchall()
        ids = np.fromiter((r[0] for r in rows), np.int64, len(rows))
        vectors = np.frombuffer(b"".join(r[1] for r in rows), np.float16).reshape(len(rows), self._dim)
        return ids, vectors.astype(np.float32)

    def refresh_index(self, *, force: bool = False) -> None:
        """Extend the vector index file with the rows added since it was written (when the tail has
        :data:`TAIL_ROWS` rows, or always with ``force``), dropping deleted rows; atomic."""
        if self.readonly:
            return
        usearch = models.require("usearch.index", package="usearch")
        with self._lock:
            files = self._index_files()
            upto = files[-1][0] if files else 0
            top = self._db.execute("SELECT coalesce(max(id), 0) FROM images").fetchone()[0]
            tail = self._db.execute("SELECT count(*) FROM images WHERE id > ?", (upto,)).fetchone()[0]
            if not force and tail < TAIL_ROWS and top >= upto:
                return
            index = usearch.Index(ndim=self._dim, metric="cos", dtype="f16", connectivity=CONNECTIVITY,
                                  expansion_add=EXPANSION_ADD, expansion_search=EXPANSION)
            if files and top >= upto:
                index.load(str(files[-1][1]))
                kept = set(self._db.execute("SELECT id FROM images WHERE id <= ?", (upto,)).fetchall())
                gone = [k for k in np.asarray(index.keys, dtype=np.int64).tolist() if (k,) not in kept]
                if gone:
                    index.remove(gone)
                ids, vectors = self._vectors("WHERE id > ?", (upto,))
            else:  # no index yet (or the database was replaced): build from every row
                ids, vectors = self._vectors()
            if len(ids):
                index.add(ids, vectors, threads=max(1, os.cpu_count() or 1))
            target = self.path / f"vectors.{top}.usearch"
            with atomic_path(target, durable=True) as tmp:
                index.save(str(tmp))
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # fold the WAL into the database file
            for _n, old in files:
                if old != target:
                    try:
                        old.unlink()  # open readers keep their mapping of the old file
                    except OSError:
                        pass
            self._state_version = None

    def _refresh_state(self) -> None:
        """Reload hashes, the tail and the index when the database or the index file changed."""
        version = (self._db.execute("PRAGMA data_version").fetchone()[0], self._writes,
                   tuple(n for n, _ in self._index_files()))
        if version == self._state_version:
            return
        rows = self._db.execute("SELECT id, phash FROM images ORDER BY id").fetchall()
        self._ids = np.fromiter((r[0] for r in rows), np.int64, len(rows))
        self._hashes = np.fromiter((r[1] for r in rows), np.int64, len(rows))
        files = self._index_files()
        self._index, self._index_upto = None, 0
        if files:
            usearch = models.require("usearch.index", package="usearch")
            upto, path = files[-1]
            try:
                index = usearch.Index.restore(str(path), view=True)
                index.expansion_search = EXPANSION
                self._index, self._index_upto = index, upto
            except Exception:  # noqa: BLE001 - a damaged cache is rebuilt from SQLite; search the tail exactly
                self._index = None
        self._tail_ids, self._tail = self._vectors("WHERE id > ?", (self._index_upto,))
        self._tags = None
        self._state_version = version

    def _nearest(self, query: np.ndarray, k: int) -> dict[int, float]:
        """``{row id: cosine}`` of about the ``k`` nearest rows (index + exact tail)."""
        found: dict[int, float] = {}
        if self._index is not None and len(self._index):
            exact = len(self._index) <= EXACT_ROWS
            hits = self._index.search(query, min(k, len(self._index)), exact=exact)
            for key, dist in zip(np.asarray(hits.keys).tolist(), np.asarray(hits.distances).tolist(), strict=True):
                found[int(key)] = 1.0 - float(dist)
        if len(self._tail_ids):
            cos = self._tail @ query
            top = np.argsort(-cos)[:k]
            for j in top.tolist():
                found[int(self._tail_ids[j])] = float(cos[j])
        return found

    # searching ------------------------------------------------------------------------------------------

    def search(self, src: Any, limit: int = 10, match_threshold: int = 0, offset: int = 0,
               filter: str | None = None) -> dict:  # noqa: A002 - CI's name
        """CI's ``SearchImage``: the library's pictures most like ``src``, best first.

        Parameters
        ----------
        src : path, bytes, PIL.Image.Image or cinb.imageinput.ImageInput
            The query picture.
        limit : int
            1-100 results (CI's ``Limit``, default 10).
        match_threshold : int
            0-100: only results scoring at least this (CI's ``MatchThreshold``; CI recommends 80 for
            "the same picture").
        offset : int
            Skip this many results first (CI's ``Offset``, paging).
        filter : str, optional
            CI's ``Filter`` on Tags (:func:`parse_filter`).

        Returns
        -------
        dict
            ``{"Count": n, "ImageInfos": [{"EntityId", "PicName", "Score", "CustomContent", "Tags"}]}``;
            ``CustomContent`` and ``Tags`` (JSON text) are empty strings when the picture has none.
        """
        limit = _int_in("Limit", limit, 1, MAX_LIMIT)
        threshold = _int_in("MatchThreshold", match_threshold, 0, 100)
        offset = _int_in("Offset", offset, 0, None)
        predicate = parse_filter(filter) if filter is not None and str(filter).strip() else None
        return self._search_features(features(src, kind=self.feature_kind), limit, threshold, offset, predicate)

    def _search_features(self, feats: Mapping, limit: int = 10, threshold: int = 0, offset: int = 0,
                         predicate: Callable[[Mapping], bool] | None = None) -> dict:
        """:meth:`search` for precomputed :func:`features` (parameters already checked)."""
        query = np.asarray(feats["vector"], dtype=np.float32)
        want = offset + limit
        with self._lock:
            self._refresh_state()
            if not len(self._ids):
                return {"Count": 0, "ImageInfos": []}
            bits = np.minimum(_bits(self._hashes, feats["phash"]), _bits(self._hashes, feats["mirror_phash"]))
            copies = self._ids[bits <= COPY_BITS]
            if predicate is None:
                cosines = self._nearest(query, max(4 * want, 64))
                allowed = None
            else:
                allowed = self._filtered_ids(predicate)
                cosines = {}
                if len(allowed) > FILTER_EXACT_ROWS:  # many match: the index, widened by the filter's share
                    k = min(len(self._ids), max(4 * want, 64) * -(-len(self._ids) // len(allowed)))
                    cosines = {i: c for i, c in self._nearest(query, k).items() if i in allowed}
                if len(cosines) < want and allowed:  # few match (or the index found too few): all of them
                    chosen_ids = sorted(allowed)
                    cosines = dict(zip(chosen_ids, self._cosines(chosen_ids, query).tolist(), strict=True))
            extra = [int(i) for i in copies.tolist() if int(i) not in cosines and (allowed is None or i in allowed)]
            if extra:
                cosines.update(zip(extra, self._cosines(extra, query).tolist(), strict=True))
            if not cosines:
                return {"Count": 0, "ImageInfos": []}
            ids = np.array(list(cosines), np.int64)
            cos = np.array([cosines[i] for i in ids.tolist()])
            pos = np.searchsorted(self._ids, ids)
            known = (pos < len(self._ids)) & (self._ids[np.minimum(pos, len(self._ids) - 1)] == ids)
            ids, cos, pos = ids[known], cos[known], pos[known]  # rows deleted since the index was written
            if self.feature_kind == FEATURES and len(ids):
                # Copies and look-alikes are judged on the pooled block: a grayscale copy loses most of
                # its category agreement (a dune photo: whole-vector cosine 0.38, pooled 0.44, same hash).
                pooled = self._pooled_cosines(ids.tolist(), query)
                cos = np.where(pooled >= LOOKALIKE_COSINE, np.maximum(cos, pooled), cos)
            else:
                pooled = cos
            scores = score_of(cos, np.minimum(_bits(self._hashes[pos], feats["phash"]),
                                              _bits(self._hashes[pos], feats["mirror_phash"])), copy_cosine=pooled)
            order = np.lexsort((-cos, -scores))
            chosen = [j for j in order.tolist() if scores[j] >= threshold][offset:offset + limit]
            infos = self._infos([int(ids[j]) for j in chosen], [int(scores[j]) for j in chosen])
        return {"Count": len(infos), "ImageInfos": infos}

    def _cosines(self, ids: list[int], query: np.ndarray) -> np.ndarray:
        out = np.empty(len(ids), np.float32)
        for start in range(0, len(ids), 900):  # SQLite's bound-parameter limit
            part = ids[start:start + 900]
            marks = ",".join("?" * len(part))
            rows = dict(self._db.execute(f"SELECT id, vector FROM images WHERE id IN ({marks})", part).fetchall())
            matrix = np.frombuffer(b"".join(rows[i] for i in part), np.float16).reshape(len(part), self._dim)
            out[start:start + len(part)] = matrix.astype(np.float32) @ query
        return out

    def _pooled_cosines(self, ids: list[int], query: np.ndarray) -> np.ndarray:
        """Cosines of the pooled block alone (the first POOLED_DIM values of each vector)."""
        q = query[:POOLED_DIM] / max(float(np.linalg.norm(query[:POOLED_DIM])), 1e-12)
        out = np.empty(len(ids), np.float32)
        for start in range(0, len(ids), 900):  # SQLite's bound-parameter limit
            part = ids[start:start + 900]
            marks = ",".join("?" * len(part))
            rows = dict(self._db.execute(f"SELECT id, vector FROM images WHERE id IN ({marks})", part).fetchall())
            matrix = np.frombuffer(b"".join(rows[i] for i in part), np.float16).reshape(len(part), self._dim)
            pooled = matrix[:, :POOLED_DIM].astype(np.float32)
            out[start:start + len(part)] = (pooled @ q) / np.maximum(np.linalg.norm(pooled, axis=1), 1e-12)
        return out

    def _filtered_ids(self, predicate: Callable[[Mapping], bool]) -> set[int]:
        if self._tags is None:  # parsed once per state of the library
            rows = self._db.execute("SELECT id, tags FROM images").fetchall()
            self._tags = [(i, json.loads(t) if t else {}) for i, t in rows]
        return {i for i, tags in self._tags if predicate(tags)}

    def _infos(self, ids: list[int], scores: list[int]) -> list[dict]:
        if not ids:
            return []
        marks = ",".join("?" * len(ids))
        rows = {r[0]: r[1:] for r in self._db.execute(
            f"SELECT id, entity_id, custom_content, tags, pic_name FROM images WHERE id IN ({marks})", ids)}
        return [{"EntityId": rows[i][0], "PicName": rows[i][3], "Score": s, "CustomContent": rows[i][1] or "",
                 "Tags": rows[i][2] or ""} for i, s in zip(ids, scores, strict=True) if i in rows]


def _missing(value: Any) -> bool:
    try:
        return value is None or (isinstance(value, float) and np.isnan(value))
    except TypeError:
        return False


def _int_in(name: str, value: Any, lo: int, hi: int | None) -> int:
    if isinstance(value, bool):
        raise _bad(f"{name}={value!r}: expected an integer", value)
    try:
        number = int(value) if isinstance(value, (int, np.integer)) else int(str(value).strip(), 10)
    except (TypeError, ValueError):
        raise _bad(f"{name}={value!r}: expected an integer", value) from None
    if number < lo or (hi is not None and number > hi):
        span = f"from {lo} to {hi}" if hi is not None else f"of at least {lo}"
        raise _bad(f"{name}={value!r}: expected an integer {span}", value)
    return number


def _features_row(row: Mapping[str, Any]) -> dict:
    """Worker function of :meth:`Library.add_many` (module level: picklable)."""
    out = features(row["src"], kind=row.get("kind", FEATURES))
    out.pop("mirror_phash", None)
    return out


# --- the endpoint ----------------------------------------------------------------------------------------

_OPEN: dict[str, Library] = {}
_OPEN_LOCK = threading.Lock()


def _library_param(value: Any) -> Library | str:
    """The ``library`` parameter: a :class:`Library` as is, or a checked folder path (opened by the
    action: only ``AddImage`` creates a library, so a mistyped path is an error, not a new folder)."""
    if isinstance(value, Library):
        return value
    if not isinstance(value, (str, os.PathLike)) or not os.fspath(value):
        raise _bad(f"library must be a folder path or a cinb.Library, got {value!r}", value)
    return os.path.realpath(local_path(value, "library"))


def open_library(value: Any, *, create: bool = True) -> Library:
    """A :class:`Library` as is, or the library in a folder (opened once per process and kept open).

    A missing library is created when ``create`` (``AddImage``), else it is CIError -103.
    """
    value = _library_param(value)
    if isinstance(value, Library):
        return value
    with _OPEN_LOCK:
        lib = _OPEN.get(value)
        if lib is None:
            if not create and not (Path(value) / DB_FILE).is_file():
                raise _bad(f"no image library at {value}: add pictures first (action=AddImage)", value)
            lib = _OPEN[value] = Library(value)
        return lib


def _threshold(value: Any) -> int:
    return _int_in("MatchThreshold", value, 0, 100)


PARAMS = (
    choice_param("action", ("SearchImage", "AddImage", "DeleteImage"), "SearchImage",
                 doc="SearchImage (default), AddImage or DeleteImage"),
    Param("library", _library_param, None, True,
          doc="cinb extension: the library folder (AddImage creates it when missing) or a cinb.Library"),
    str_param("EntityId", doc="AddImage/DeleteImage: the entity (1-64 characters)"),
    Param("CustomContent", lambda v: _check_custom(v), None, doc="AddImage: text returned with results"),
    Param("Tags", lambda v: _check_tags(v), None, doc="AddImage: JSON object of up to 10 key/value pairs"),
    Param("PicName", lambda v: str(v), None, doc="cinb extension: the picture name (default: the file name)"),
    Param("MatchThreshold", _threshold, 0, doc="SearchImage: minimum Score 0-100"),
    int_param("Offset", 0, lo=0, doc="SearchImage: results to skip"),
    int_param("Limit", 10, lo=1, hi=MAX_LIMIT, doc="SearchImage: results, 1-100"),
    Param("Filter", lambda v: (parse_filter(v), str(v))[1], None, doc="SearchImage: condition on Tags"),
)


def image_search(inp: ImageInput, *, action: str, library: Library | str, EntityId: str | None,  # noqa: N803
                 CustomContent: str | None, Tags: str | None, PicName: str | None, MatchThreshold: int,
                 Offset: int, Limit: int, Filter: str | None) -> Answer:
    """``ci-process=ImageSearch``: ``action`` on ``library`` (see :class:`Library`)."""
    library = open_library(library, create=action == "AddImage")
    if action == "SearchImage":
        answer = library.search(inp, limit=Limit, match_threshold=MatchThreshold, offset=Offset, filter=Filter)
        return Answer(answer, info={"library": str(library.path), "pictures": len(library)})
    if EntityId is None:
        raise _bad(f"ImageSearch action={action} needs EntityId", "EntityId")
    if action == "AddImage":
        library.add(inp, EntityId, CustomContent, Tags, pic_name=_pic_name(inp, EntityId, PicName))
        return Answer({}, info={"library": str(library.path)})
    removed = library.delete(EntityId, _pic_name(inp, EntityId, PicName) if (inp.path or PicName) else None)
    return Answer({}, info={"library": str(library.path), "removed": removed})


ENDPOINT = register_endpoint(Endpoint(
    "ImageSearch", image_search, params=PARAMS, aliases=("imagesearch",), models=("efficientnet-lite3",),
    description="search by image in a persistent library (add/search/delete; EfficientNet-Lite3 features + "
                "perceptual hash; SQLite + usearch)"))


__all__ = ["Library", "features", "open_library", "parse_filter", "score_of"]
