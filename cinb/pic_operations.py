"""Upload-time persistence: CI's ``Pic-Operations`` header, run locally (spec §1).

CI stores up to five derived objects next to an upload and answers with an ``UploadResult``.
Locally, the "bucket" is a folder: derived objects are written under ``bucket_dir`` at the key
that ``fileid`` names, atomically, and the answer has CI's shape.
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
    """Run a ``Pic-Operations`` header on one image, writing each derived object into ``bucket_dir``.

    Parameters
    ----------
    src : path or bytes
        The uploaded (or stored) image.
    operations : str or dict
        The header's JSON: ``{"is_pic_info": 0|1, "rules": [{"fileid": ..., "rule": ...}, ...]}``.
    bucket_dir : path
        The folder standing for the bucket.
    key : str, optional
        The source object's key (default: the file name).
    allow_overwrite : bool
        A ``fileid`` equal to the source key replaces the original in CI; cinb refuses unless asked.

    Returns
    -------
    dict
        CI's ``UploadResult``: ``OriginalInfo`` (when ``is_pic_info`` is 1) and ``ProcessResults``
        (one ``Object`` per rule, with the fields the rule produced: ``CodeStatus``, ``QRcodeInfo``...),
        then ``ImgTargetRecResult`` when an ``ImageTargetRec`` rule ran (a list if several did).

    Examples
    --------
    >>> from cinb.pic_operations import pic_operations
    >>> import tempfile, io
    >>> from PIL import Image
    >>> buf = io.BytesIO(); Image.new("RGB", (400, 200)).save(buf, "JPEG")
    >>> ops = {"rules": [{"fileid": "small.png", "rule": "imageMogr2/thumbnail/100x/format/png"}]}
    >>> res = pic_operations(buf.getvalue(), ops, bucket_dir=tempfile.mkdtemp(), key="a/b.jpg")
    >>> obj = res["ProcessResults"]["Object"][0]
    >>> obj["Key"], obj["Width"], obj["Height"], obj["Format"]
    ('a/small.png', '100', '50', 'png')
    """
    ops = _operations(operations)
    data, name = read_source(src)
    source_key = key or name or "upload"
    bucket = Path(bucket_dir)
    results = []
    roots: dict[str, list] = {}
    for r in ops["rules"]:
        dest_key = resolve_key(source_key, r["fileid"])
        if dest_key == posixpath.normpath(source_key) and not allow_overwrite:
            raise CIError(f"fileid {r['fileid']!r} would overwrite the original {source_key!r} "
                          "(pass allow_overwrite=True)", code=BAD_PARAMETER, token=r["fileid"])
        out = process(data, r["rule"], styles=styles)
        path = write_atomic(bucket / dest_key, out.data)
        blocks = out.info.get("endpoint_roots") or {}
        for root, block in blocks.items():
            roots.setdefault(root, []).append(block)
        results.append(_object(dest_key, path, out, skip={k for block in blocks.values() for k in block}))
    answer: dict = {}
    if str(ops.get("is_pic_info", 0)) == "1":
        answer["OriginalInfo"] = _original_info(source_key, data, bucket)
    answer["ProcessResults"] = {"Object": results}
    # An endpoint answering in its own root element (ImageTargetRec's ImgTargetRecResult) is reported
    # beside ProcessResults, as CI's Go SDK reads UploadResult; one element per rule that ran it.
    for root, found in roots.items():
        answer[root] = found[0] if len(found) == 1 else found
    return answer


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


def _original_info(source_key: str, data: bytes, bucket: Path) -> dict:
    info = image_info(data)
    header = read_header(data)
    quality = None
    if info["format"] == "jpeg":  # from the quantisation tables: no pixel decoded (was a full decode)
        img, _ = open_header(data)
        with img:
            quality = source_jpeg_quality(getattr(img, "quantization", None))
    return {
        "Key": source_key,
        "Location": str(bucket / source_key),
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
