"""Upload-time persistence: CI's ``Pic-Operations`` header, run locally (spec §1).

CI stores the upload at its key ("可将原图和处理结果存入到 COS", 1247/107921, 1045/33695) and up to
five derived objects beside it, and answers with an ``UploadResult`` whose ``OriginalInfo/Location``
and ``Object/Location`` are where those objects are. Locally, the "bucket" is a folder: the original
is stored at ``bucket_dir/<key>`` and every derived object at the key its ``fileid`` names, each
atomically, once every rule has run (a failing rule leaves the bucket as it was). A picture already
in the bucket (CI's processing of a stored object) is its own original and is not copied; another
file already at the key is kept unless ``allow_overwrite`` (CI's PUT would replace it).
"""

from __future__ import annotations

import hashlib
import json
import os
import posixpath
from pathlib import Path

from .decode import Source, open_header, read_header, read_source, source_jpeg_quality
from .engine import process
from .errors import BAD_PARAMETER, CIError
from .fileio import write_atomic
from .formats import file_extension
from .info import image_ave, image_info
from .result import to_xml as _to_xml

MAX_RULES = 5


def _operations(operations: str | dict) -> dict:
    if isinstance(operations, str):
        try:
            operations = json.loads(operations)
        except json.JSONDecodeError as exc:
            raise CIError(f"Pic-Operations is not valid JSON: {exc.msg}", code=BAD_PARAMETER) from None
    if not isinstance(operations, dict) or not isinstance(operations.get("rules"), list):
        raise CIError("Pic-Operations needs a JSON object with a 'rules' list", code=BAD_PARAMETER)
    rules = operations["rules"]
    if not 1 <= len(rules) <= MAX_RULES:
        raise CIError(f"Pic-Operations takes 1 to {MAX_RULES} rules, got {len(rules)}", code=BAD_PARAMETER)
    for i, r in enumerate(rules):
        if not isinstance(r, dict) or not isinstance(r.get("fileid"), str) or not isinstance(r.get("rule"), str):
            raise CIError(f"Pic-Operations rule {i} needs string 'fileid' and 'rule'", code=BAD_PARAMETER)
        if not r["fileid"] or r["fileid"].endswith("/"):
            raise CIError(f"fileid {r['fileid']!r} must name an object, not end in '/'", code=BAD_PARAMETER,
                          token=r["fileid"])
    if operations.get("is_pic_info", 0) not in (0, 1, "0", "1"):
        raise CIError("is_pic_info must be 0 or 1", code=BAD_PARAMETER)
    return operations


def resolve_key(source_key: str, fileid: str) -> str:
    """The object key ``fileid`` names: absolute if it starts with '/', else beside the source.

    Examples
    --------
    >>> from cinb.pic_operations import resolve_key
    >>> resolve_key("photos/cat.jpg", "thumb/cat.webp")
    'photos/thumb/cat.webp'
    >>> resolve_key("photos/cat.jpg", "/cat.webp")
    'cat.webp'
    """
    key = fileid[1:] if fileid.startswith("/") else posixpath.join(posixpath.dirname(source_key), fileid)
    key = posixpath.normpath(key)
    if key.startswith(("../", "/")) or key == "..":
        raise CIError(f"fileid {fileid!r} leaves the bucket", code=BAD_PARAMETER, token=fileid)
    return key


def pic_operations(src: Source, operations: str | dict, *, bucket_dir: str | os.PathLike,
                   key: str | None = None, styles=None, allow_overwrite: bool = False) -> dict:
    """Run a ``Pic-Operations`` header on one image: store it and each derived object in ``bucket_dir``.

    Parameters
    ----------
    src : path or bytes
        The uploaded (or stored) image.
    operations : str or dict
        The header's JSON: ``{"is_pic_info": 0|1, "rules": [{"fileid": ..., "rule": ...}, ...]}``.
    bucket_dir : path
        The folder standing for the bucket.
    key : str, optional
        The source object's key. Default: the picture's path in ``bucket_dir`` when it is there (CI's
        processing of a stored object), else its file name (``upload.<ext>`` for bytes).
    styles : Styles, optional
        The bucket's styles, for rules written ``style/<name>``.
    allow_overwrite : bool
        Let the upload replace another file at its key, or a ``fileid`` equal to the key replace the
        original (CI does both silently); cinb refuses unless asked.

    Returns
    -------
    dict
        CI's ``UploadResult``: ``OriginalInfo`` (when ``is_pic_info`` is 1; ``Location`` is the stored
        original) and ``ProcessResults`` (one ``Object`` per rule, with the fields the rule produced:
        ``CodeStatus``, ``QRcodeInfo``...), then ``ImgTargetRecResult`` when an ``ImageTargetRec`` rule
        ran (a list if several did).

    Raises
    ------
    CIError
        -103 for a malformed header, a key or ``fileid`` leaving the bucket, or an object it would
        replace without ``allow_overwrite``; a rule's own error. Nothing is written then.

    Examples
    --------
    >>> from cinb.pic_operations import pic_operations
    >>> import tempfile, io, pathlib
    >>> from PIL import Image
    >>> buf = io.BytesIO(); Image.new("RGB", (400, 200)).save(buf, "JPEG")
    >>> ops = {"rules": [{"fileid": "small.png", "rule": "imageMogr2/thumbnail/100x/format/png"}]}
    >>> bucket = pathlib.Path(tempfile.mkdtemp())
    >>> res = pic_operations(buf.getvalue(), ops, bucket_dir=bucket, key="a/b.jpg")
    >>> obj = res["ProcessResults"]["Object"][0]
    >>> obj["Key"], obj["Width"], obj["Height"], obj["Format"]
    ('a/small.png', '100', '50', 'png')
    >>> sorted(p.relative_to(bucket).as_posix() for p in bucket.rglob("*"))
    ['a', 'a/b.jpg', 'a/small.png']
    """
    ops = _operations(operations)
    data, name = read_source(src)
    bucket = Path(bucket_dir)
    source_key = _source_key(src, data, name, key, bucket)
    original = bucket / source_key
    in_place = _same_file(src, original)
    replaced = [resolve_key(source_key, r["fileid"]) == source_key for r in ops["rules"]]
    if any(replaced) and not allow_overwrite:
        fileid = ops["rules"][replaced.index(True)]["fileid"]
        raise CIError(f"fileid {fileid!r} would overwrite the original {source_key!r} "
                      "(pass allow_overwrite=True)", code=BAD_PARAMETER, token=fileid)
    if not in_place and not any(replaced) and not allow_overwrite:
        _refuse_another_file(original, data, source_key)  # before any rule runs: nothing to undo
    outputs = [(resolve_key(source_key, r["fileid"]), process(data, r["rule"], styles=styles))
               for r in ops["rules"]]
    # Every rule ran: store. The original first, as CI does, unless a rule's result takes its key.
    if not in_place and not any(replaced):
        _store_original(original, data, source_key, allow_overwrite=allow_overwrite)
    results = []
    roots: dict[str, list] = {}
    for dest_key, out in outputs:
        path = write_atomic(bucket / dest_key, out.data)
        blocks = out.info.get("endpoint_roots") or {}
        for root, block in blocks.items():
            roots.setdefault(root, []).append(block)
        results.append(_object(dest_key, path, out, skip={k for block in blocks.values() for k in block}))
    answer: dict = {}
    if str(ops.get("is_pic_info", 0)) == "1":
        answer["OriginalInfo"] = _original_info(source_key, data, original)
        # CI: ETag is the original's, "若处理结果图覆盖原图则为结果图 ETag 信息" (the result's when one replaced it)
        for obj in results:
            if obj["Key"] == source_key:
                answer["OriginalInfo"]["ETag"] = obj["ETag"]
    answer["ProcessResults"] = {"Object": results}
    # An endpoint answering in its own root element (ImageTargetRec's ImgTargetRecResult) is reported
    # beside ProcessResults, as CI's Go SDK reads UploadResult; one element per rule that ran it.
    for root, found in roots.items():
        answer[root] = found[0] if len(found) == 1 else found
    return answer


def _source_key(src: Source, data: bytes, name: str | None, key: str | None, bucket: Path) -> str:
    """The upload's key: as given, else its path inside the bucket, else its name (``upload.<ext>``)."""
    if key is None and isinstance(src, (str, os.PathLike)):
        try:
            key = Path(src).resolve().relative_to(bucket.resolve()).as_posix()
        except ValueError:  # not inside the bucket: the upload is named by its file name
            key = None
    if key is None:
        key = name or f"upload.{file_extension(read_header(data).format)}"
    norm = posixpath.normpath(key.lstrip("/")) if key.strip("/") else ""
    if norm in ("", ".", "..") or norm.startswith("../") or key.endswith("/"):
        raise CIError(f"the source key {key!r} must name an object inside the bucket", code=BAD_PARAMETER,
                      token=key)
    return norm


def _same_file(src: Source, target: Path) -> bool:
    if not isinstance(src, (str, os.PathLike)) or not target.exists():
        return False
    return os.path.samefile(src, target)


def _refuse_another_file(original: Path, data: bytes, source_key: str) -> None:
    """CIError when the bucket holds another file at the upload's key (the same bytes: a re-run, fine)."""
    if original.is_dir() or (original.exists() and original.read_bytes() != data):
        raise CIError(f"the bucket already holds another {source_key!r}; the upload would replace it "
                      "(pass allow_overwrite=True)", code=BAD_PARAMETER, token=source_key)


def _store_original(original: Path, data: bytes, source_key: str, *, allow_overwrite: bool) -> None:
    """Write the upload at its key atomically; never over another file unless allowed (race-safe: the
    final link refuses a file that appeared since the check)."""
    try:
        write_atomic(original, data, replace=allow_overwrite)
    except FileExistsError:
        _refuse_another_file(original, data, source_key)  # the same bytes are already there


def _object(dest_key: str, path: Path, out, *, skip: frozenset[str] | set[str] = frozenset()) -> dict:
    md5 = hashlib.md5(out.data).hexdigest()
    obj = {
        "Key": dest_key,
        "Location": str(path),
        "Format": out.format,
        "Width": str(out.width),
        "Height": str(out.height),
        "Size": str(len(out.data)),
        "Quality": str(out.info.get("quality") or 100),
        "ETag": f'"{md5}"',
        "FrameCount": str(out.info.get("frames", 1)),
        "Md5": md5,
        "BitDepth": "8",
    }
    # CI's fields the rule produced (blind-watermark extraction, an AI endpoint's answer), as CI
    # reports them in ProcessResults: scalars as strings like the rest of the Object.
    for name, value in out.response.items():
        if name in skip:
            continue
        obj[name] = value if isinstance(value, (dict, list)) else str(value)
    return obj


def _original_info(source_key: str, data: bytes, location: Path) -> dict:
    info = image_info(data)
    header = read_header(data)
    quality = None
    if info["format"] == "jpeg":  # from the quantisation tables: no pixel decoded (was a full decode)
        img, _ = open_header(data)
        with img:
            quality = source_jpeg_quality(getattr(img, "quantization", None))
    return {
        "Key": source_key,
        "Location": str(location),
        "ETag": f'"{info["md5"]}"',
        "ImageInfo": {
            # Upper case in CI's examples and real responses for the original (results: lower case).
            "Format": info["format"].upper(), "Width": info["width"], "Height": info["height"],
            "Quality": str(quality or 100), "Ave": image_ave(data)["RGB"],
            "Orientation": str(header.exif_orientation or 1), "FrameCount": info["frame_count"],
        },
    }


def to_xml(result: dict, root: str = "UploadResult") -> str:
    """Render an UploadResult dict as CI's XML body (:func:`cinb.result.to_xml` under ``UploadResult``).

    Examples
    --------
    >>> from cinb.pic_operations import to_xml
    >>> to_xml({"ProcessResults": {"Object": [{"Key": "a.png"}]}})
    '<UploadResult><ProcessResults><Object><Key>a.png</Key></Object></ProcessResults></UploadResult>'
    """
    return _to_xml(result, root=root)
