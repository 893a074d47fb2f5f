"""The ``imageMogr2`` and ``imageView2`` families: parameters -> typed operations (spec §2-8, §14)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Protocol

from ..canvas import Canvas
from ..errors import UNSUPPORTED_TYPE
from ..formats import canonical_token, formats
from ..limits import LIMITS
from ..ops.aigc import FIELDS as AIGC_FIELDS
from ..ops.aigc import KEY as AIGC_KEY
from ..ops.aigc import AIGCMetadata
from ..ops.cropping import Crop, Cut, IRadius, RRadius
from ..ops.density import HIGHEST as DENSITY_HIGHEST
from ..ops.density import KEY as DENSITY_KEY
from ..ops.density import LOWEST as DENSITY_LOWEST
from ..ops.density import Density
from ..ops.filters import Blur, Bright, Contrast, Grayscale, Sharpen
from ..ops.frame_extract import KEY as FRAME_KEY
from ..ops.frame_extract import FrameExtract
from ..ops.indexcrop import KEY as INDEXCROP_KEY
from ..ops.indexcrop import pack as pack_indexcrop
from ..ops.indexcrop import parse_indexcrop
from ..ops.rotation import AutoOrient, Flip, Rotate
from ..ops.scaling import Thumbnail, View2
from .grammar import b64u_text, bad, out_of_range, pairs, parse_color, parse_float, parse_gravity, parse_int
from .model import Context, EncodeOptions, Quality, SizeLimit, Stage
from .registry import clear_parsed, families, register_family
from .style import StyleRef

_N = r"(\d{1,9})"
_THUMBNAIL_FORMS = [
    ("percent", re.compile(rf"^!{_N}p$")),
    ("width_percent", re.compile(rf"^!{_N}px$")),
    ("height_percent", re.compile(rf"^!x{_N}p$")),
    ("width", re.compile(rf"^{_N}x$")),
    ("height", re.compile(rf"^x{_N}$")),
    ("fit", re.compile(rf"^{_N}x{_N}$")),
    ("cover", re.compile(rf"^!{_N}x{_N}r$")),
    ("exact", re.compile(rf"^{_N}x{_N}!$")),
    ("shrink", re.compile(rf"^{_N}?x{_N}?>$")),
    ("enlarge", re.compile(rf"^{_N}?x{_N}?<$")),
    ("area", re.compile(rf"^{_N}@$")),
]
_CROP = re.compile(rf"^{_N}?x{_N}?$")
_CROP_OFFSET = re.compile(rf"^!{_N}?x{_N}?([a-])(\d{{1,9}})([a-])(\d{{1,9}})$")
_CUT = re.compile(rf"^{_N}x{_N}x{_N}x{_N}$")
_QUALITY = re.compile(rf"^{_N}(!)?$")
_SIZE_LIMIT = re.compile(rf"^{_N}([kKmM])(!)?$")
_BLUR = re.compile(r"^(\d{1,9})x(\d{1,9}(?:\.\d{1,9})?)$")


def _side(value: str | None, token: str) -> int | None:
    """A width/height parameter: > 0; values above 10000 are clamped (CI's rule)."""
    if value is None or value == "":
        return None
    n = int(value)
    if n <= 0:
        raise out_of_range(f"size in {token!r} must be at least 1", token)
    return min(n, LIMITS.max_param)


def parse_thumbnail(value: str) -> Thumbnail:
    """Parse a ``thumbnail`` value into a Thumbnail op.

    Examples
    --------
    >>> from cinb.rules.mogr2 import parse_thumbnail
    >>> parse_thumbnail("!50p")
    Thumbnail(kind='percent', width=None, height=None, percent=50, area=None, pad=False, pad_color=None)
    """
    if "^" in value:
        raise bad(f"'^' is not a CI token in thumbnail {value!r}; write cover as '!<w>x<h>r'", value)
    for kind, rx in _THUMBNAIL_FORMS:
        m = rx.match(value)
        if not m:
            continue
        if kind.endswith("percent"):
            p = int(m.group(1))
            if not 0 < p < 1000:
                raise out_of_range(f"thumbnail percentage must be 1-999, got {value!r}", value)
            return Thumbnail(kind, percent=p)
        if kind == "area":
            a = int(m.group(1))
            if not 0 < a < 100_000_000:
                raise out_of_range(f"thumbnail area must be 1-99999999 pixels, got {value!r}", value)
            return Thumbnail(kind, area=a)
        if kind == "width":
            return Thumbnail(kind, width=_side(m.group(1), value))
        if kind == "height":
            return Thumbnail(kind, height=_side(m.group(1), value))
        w, h = _side(m.group(1), value), _side(m.group(2), value)
        if w is None and h is None:
            raise bad(f"thumbnail {value!r} needs a width or a height", value)
        return Thumbnail(kind, width=w, height=h)
    raise bad(f"unrecognised thumbnail value {value!r}", value)


def parse_crop(value: str, gravity: str) -> Crop:
    m = _CROP.match(value)
    if m:
        w, h = _side(m.group(1), value), _side(m.group(2), value)
        if w is None and h is None:
            raise bad(f"crop {value!r} needs a width or a height", value)
        return Crop(w, h, gravity=gravity)
    m = _CROP_OFFSET.match(value)
    if m:
        w, h = _side(m.group(1), value), _side(m.group(2), value)
        if w is None and h is None:
            raise bad(f"crop {value!r} needs a width or a height", value)
        dx = int(m.group(4)) * (-1 if m.group(3) == "-" else 1)
        dy = int(m.group(6)) * (-1 if m.group(5) == "-" else 1)
        return Crop(w, h, dx, dy, gravity=gravity, offset_form=True)
    raise bad(f"unrecognised crop value {value!r}", value)


def parse_quality(key: str, value: str) -> Quality:
    m = _QUALITY.match(value)
    if not m:
        raise bad(f"{key} must be 0-100 (optionally followed by '!'), got {value!r}", value)
    if int(m.group(1)) > 100:
        raise out_of_range(f"{key} must be 0-100 (optionally followed by '!'), got {value!r}", value)
    if m.group(2) and key != "quality":
        raise bad(f"only quality takes '!', got {key}/{value}", value)
    return Quality(key + (m.group(2) or ""), int(m.group(1)))


def parse_format(value: str) -> str:
    fmt = canonical_token(value)
    if fmt is None:
        known = sorted(t for f in formats() if f.writable for t in (*f.tokens[:1], *f.variants))
        raise bad(f"unsupported output format {value!r} ({' '.join(known)})", value)
    if fmt == "tpg":
        raise bad("tpg is Tencent's proprietary format; no encoder exists outside CI", value, code=UNSUPPORTED_TYPE)
    return fmt


#: The parameters an imageView2 stage without a mode may start with.
_VIEW2_ENCODER_KEYS = frozenset({"format", "q", "rq", "lq", "quality", "rquality", "lquality", "interlace",
                                 "ignore-error"})


def _encoder_param(key: str, value: str, enc: dict, view2: bool = False) -> bool:
    """Collect an encoder parameter into ``enc``; False when ``key`` is not one."""
    qkeys = {"q": "quality", "rq": "rquality", "lq": "lquality"} if view2 else {}
    if key == "format":
        enc["format"] = parse_format(value)
    elif key in ("quality", "rquality", "lquality") or key in qkeys:
        enc["quality"] = parse_quality(qkeys.get(key, key), value)
    elif key == "interlace":
        enc["interlace"] = parse_int(value, key, lo=0, hi=1)
    elif key == "ignore-error":
        enc["ignore_error"] = bool(parse_int(value, key, lo=0, hi=1))
    elif key == "strip" and not view2:
        enc["strip"] = True
    elif key == "cgif" and not view2:
        enc["cgif"] = parse_int(value, key, lo=1, hi=100)
    elif key == "size-limit" and not view2:
        m = _SIZE_LIMIT.match(value)
        if not m or int(m.group(1)) == 0:
            raise bad(f"size-limit must look like 100k, 2m or 100k!, got {value!r}", value)
        enc["size_limit"] = SizeLimit(int(m.group(1)), m.group(2).lower(), bool(m.group(3)))
    else:
        return False
    return True


@dataclass(frozen=True)
class Mogr2Stage(Stage):
    """One ``imageMogr2/...`` stage: geometry/filter ops in textual order + encoder options."""

    ops: tuple = ()
    encode: EncodeOptions = EncodeOptions()

    def __str__(self) -> str:
        tokens: list[str] = []
        gravity = "NorthWest"
        for op in self.ops:
            if isinstance(op, Crop) and op.gravity != gravity:
                tokens += ["gravity", op.gravity]
                gravity = op.gravity
            tokens += op.tokens()
        tokens += self.encode.tokens()
        # a stage of no-ops (e.g. pad/0) still needs one parameter to parse back
        return "/".join(["imageMogr2", *(tokens or ["ignore-error", "0"])])

    def apply(self, canvas: Canvas, ctx: Context) -> Canvas:
        for op in self.ops:
            canvas = op.apply(canvas, ctx)
        return canvas


_SIMPLE_OPS = {
    "rotate": lambda v: Rotate(parse_int(v, "rotate", lo=0, hi=360)),
    "flip": lambda v: _flip(v),
    "iradius": lambda v: IRadius(parse_int(v, "iradius", lo=1, hi=LIMITS.max_param)),
    "rradius": lambda v: RRadius(parse_int(v, "rradius", lo=1, hi=LIMITS.max_param)),
    "sharpen": lambda v: Sharpen(parse_int(v, "sharpen", lo=10, hi=300)),
    "bright": lambda v: Bright(parse_int(v, "bright", lo=-100, hi=100, signed=True)),
    "contrast": lambda v: Contrast(parse_int(v, "contrast", lo=-100, hi=100, signed=True)),
    "grayscale": lambda v: Grayscale(parse_int(v, "grayscale", lo=0, hi=1)),
    DENSITY_KEY: lambda v: parse_density(v),
    FRAME_KEY: lambda v: parse_frame(v),
}


class Op(Protocol):
    """What an imageMogr2 parameter parses into: an operation with canonical tokens."""

    def tokens(self) -> list[str]: ...

    def apply(self, canvas: Canvas, ctx: Context) -> Canvas: ...


#: Parses the value of ``key/<value>`` into an operation (raising CIError on a bad value).
OpParser = Callable[[str], Op]

#: The parameters parse_mogr2 reads itself; plugins cannot take them over.
_BUILTIN_KEYS = frozenset({
    "format", "quality", "rquality", "lquality", "interlace", "ignore-error", "strip", "cgif", "size-limit",
    "thumbnail", "pad", "color", "gravity", "crop", "cut", "auto-orient", "blur", "style", *_SIMPLE_OPS,
})
_PLUGIN_OPS: dict[str, OpParser] = {}


def register_op(key: str, parser: OpParser) -> None:
    """Teach imageMogr2 a parameter ``key/<value>`` (features call this on import, e.g. ``scrop``).

    Parameters
    ----------
    key : str
        The parameter name; it must not be one imageMogr2 already reads.
    parser : callable
        ``parser(value) -> op``: the operation, whose ``tokens()`` give back ``[key, value]`` in
        canonical form and whose ``apply(canvas, ctx)`` returns the new canvas.

    Raises
    ------
    ValueError
        When ``key`` is a built-in parameter or not a lower-case name.

    Examples
    --------
    >>> from dataclasses import dataclass
    >>> from cinb.rules.mogr2 import register_op, unregister_op
    >>> from cinb import process
    >>> from PIL import Image
    >>> @dataclass(frozen=True)
    ... class Invert:
    ...     on: str
    ...     def tokens(self): return ["invert", self.on]
    ...     def apply(self, canvas, ctx):
    ...         from PIL import ImageOps
    ...         return canvas.map_frames(ImageOps.invert)
    >>> register_op("invert", Invert)
    >>> process(Image.new("RGB", (2, 2), "white"), "imageMogr2/invert/1/format/png").image.getpixel((0, 0))
    (0, 0, 0)
    >>> unregister_op("invert")
    """
    if not isinstance(key, str) or not re.fullmatch(r"[a-z][a-z0-9-]*", key):
        raise ValueError(f"an imageMogr2 parameter is a lower-case name, got {key!r}")
    if key in _BUILTIN_KEYS:
        raise ValueError(f"imageMogr2 already reads {key!r}")
    if not callable(parser):
        raise ValueError(f"the parser for {key!r} must be callable")
    _PLUGIN_OPS[key] = parser
    clear_parsed()  # a rule text may parse differently now


def unregister_op(key: str) -> None:
    """Forget a parameter added by :func:`register_op` (for tests and notebooks)."""
    _PLUGIN_OPS.pop(key, None)
    clear_parsed()


def _flip(value: str) -> Flip:
    if value.lower() not in ("vertical", "horizontal"):
        raise bad(f"flip must be vertical or horizontal, got {value!r}", value)
    return Flip(value.lower())


def parse_density(value: str) -> Density:
    """Parse the value of ``density/<dpi>`` (CI's 图片 DPI page, 460/129119): a whole number 1-1200.

    Raises
    ------
    CIError
        -103 when the value is not a whole number; OutOfRangeError (-103) outside 1-1200.

    Examples
    --------
    >>> from cinb.rules.mogr2 import parse_density
    >>> parse_density("72")
    Density(dpi=72)
    >>> parse_density("0")
    Traceback (most recent call last):
    ...
    cinb.errors.OutOfRangeError: density must be between 1 and 1200, got '0' (X-ErrNo -103)
    """
    return Density(parse_int(value, DENSITY_KEY, lo=DENSITY_LOWEST, hi=DENSITY_HIGHEST))


def parse_frame(value: str) -> FrameExtract:
    """Parse the value of ``frame/<N>`` (CI's GIF Frame Extraction page, 436/75062): a whole number from 1.

    There is no upper bound: past the last frame CI takes the last one.

    Raises
    ------
    CIError
        -103 when the value is not a whole number; OutOfRangeError (-103) for 0.

    Examples
    --------
    >>> from cinb.rules.mogr2 import parse_frame
    >>> parse_frame("3")
    FrameExtract(n=3)
    >>> parse_frame("0")
    Traceback (most recent call last):
    ...
    cinb.errors.OutOfRangeError: frame counts from 1 (the first frame), got '0' (X-ErrNo -103)
    """
    n = parse_int(value, FRAME_KEY)
    if n < 1:
        raise out_of_range(f"frame counts from 1 (the first frame), got {value!r}", value)
    return FrameExtract(n)


def _blur(value: str) -> Blur:
    m = _BLUR.match(value)
    if not m:
        raise bad(f"blur must look like <radius>x<sigma>, got {value!r}", value)
    # name the whole token in errors: "blur radius in '51x2' must be ..."
    r = parse_int(m.group(1), f"blur radius in {value!r}", lo=1, hi=50)
    s = parse_float(m.group(2), f"blur sigma in {value!r}", lo=0.0)
    if s <= 0:
        raise out_of_range(f"blur sigma must be above 0, got {value!r}", value)
    return Blur(r, s)


def _take_aigc(segments: list[str]) -> tuple[list[str], AIGCMetadata | None]:
    """Lift ``AIGCMetadata/Label/<b64>/ContentProducer/<b64>/...`` out of the segments: its value is
    a run of sub-parameters (CI 460/122024), which ``pairs`` cannot split. The label goes into the
    output's metadata, so where it stands among the other operations does not matter."""
    rest: list[str] = []
    op = None
    i = 0
    while i < len(segments):
        key = segments[i]
        if key != AIGC_KEY:
            step = 1 if key in ("strip", "auto-orient") else 2
            rest += segments[i:i + step]
            i += step
            continue
        if op is not None:
            raise bad(f"{AIGC_KEY} is given twice", key)
        i += 1
        fields = []
        while i < len(segments) and segments[i] in AIGC_FIELDS:
            name = segments[i]
            if i + 1 >= len(segments) or segments[i + 1] == "":
                raise bad(f"{AIGC_KEY} field {name!r} has no value", name)
            fields.append((name, b64u_text(segments[i + 1], f"{AIGC_KEY}/{name}")))
            i += 2
        if not fields:
            raise bad(f"{AIGC_KEY} must be followed by Label/<URL-safe Base64> (fields: {', '.join(AIGC_FIELDS)})",
                      segments[i] if i < len(segments) else key)
        op = AIGCMetadata(tuple(fields))
    return rest, op


def parse_mogr2(segments: list[str]) -> Stage:
    """Parse the segments after ``imageMogr2/``."""
    if not segments or segments == [""]:
        raise bad("imageMogr2 needs at least one parameter", "imageMogr2")
    if segments[0] == "style":
        if len(segments) != 2 or not segments[1]:
            raise bad("imageMogr2/style/ takes exactly one style name", "/".join(segments))
        return StyleRef(segments[1])
    segments = pack_indexcrop(segments)  # indexcrop/width/<w>/index/<i>: one value (ops.indexcrop)
    segments, aigc = _take_aigc(segments)
    ops: list = []
    enc: dict = {}
    gravity = "NorthWest"
    # Crops written before any gravity take the first gravity that follows them: Tencent's own
    # examples write imageMogr2/crop/300x400/gravity/center (Qiniu writes the gravity first).
    gravity_seen = False
    crops_before_gravity: list[int] = []
    pad, pad_color = False, None
    for key, given in pairs(segments, frozenset({"strip", "auto-orient"}), "imageMogr2"):
        value = given or ""  # None only for the flags (strip, auto-orient), which read no value
        if _encoder_param(key, value, enc):
            continue
        if key == "thumbnail":
            ops.append(parse_thumbnail(value))
        elif key == "pad":
            pad = bool(parse_int(value, "pad", lo=0, hi=1))
        elif key == "color":
            pad_color = parse_color(value, "color")
        elif key == "gravity":
            gravity = parse_gravity(value)
            if not gravity_seen:
                for i in crops_before_gravity:
                    ops[i] = replace(ops[i], gravity=gravity)
            gravity_seen = True
        elif key == "crop":
            ops.append(parse_crop(value, gravity))
            if not gravity_seen:
                crops_before_gravity.append(len(ops) - 1)
        elif key == "cut":
            m = _CUT.match(value)
            if not m or int(m.group(1)) == 0 or int(m.group(2)) == 0:
                raise bad(f"cut must look like <w>x<h>x<dx>x<dy> with w, h >= 1, got {value!r}", value)
            ops.append(Cut(*(int(g) for g in m.groups())))
        elif key == "auto-orient":
            ops.append(AutoOrient())
        elif key == "blur":
            ops.append(_blur(value))
        elif key in _SIMPLE_OPS:
            ops.append(_SIMPLE_OPS[key](value))
        elif key in _PLUGIN_OPS:
            ops.append(_PLUGIN_OPS[key](value))
        elif key not in _BUILTIN_KEYS and families() and key in _PLUGIN_OPS:  # families() imports the
            ops.append(_PLUGIN_OPS[key](value))  # feature plugins, whose ops (scrop) register on import
        elif key == "rcrop":
            raise bad("rcrop is not supported: CI does not document its parameters", value)
        else:
            raise bad(f"unknown imageMogr2 parameter {key!r}", key)
    if pad:
        ops = [
            Thumbnail(op.kind, op.width, op.height, pad=True, pad_color=pad_color)
            if isinstance(op, Thumbnail) and op.kind == "fit" else op
            for op in ops
        ]
    if aigc is not None:
        ops.append(aigc)
    return Mogr2Stage(tuple(ops), EncodeOptions(**enc))


@dataclass(frozen=True)
class View2Stage(Stage):
    """One ``imageView2/<mode>/w/<w>/h/<h>/...`` stage; ``view`` None: encoder options only."""

    view: View2 | None = View2(2, 100, None)
    encode: EncodeOptions = EncodeOptions()

    def __str__(self) -> str:
        view = self.view.tokens() if self.view is not None else []
        return "/".join(["imageView2", *view, *self.encode.tokens(short_quality=True)])

    def apply(self, canvas: Canvas, ctx: Context) -> Canvas:
        return canvas if self.view is None else self.view.apply(canvas, ctx)


def parse_view2(segments: list[str]) -> Stage:
    """Parse the segments after ``imageView2/``.

    Without a mode (``imageView2/format/png``, as CI's upload-processing examples and SDK tests
    write it, and as CI answers with a full-size PNG) only the encoder options apply.

    Examples
    --------
    >>> from cinb.rules.mogr2 import parse_view2
    >>> str(parse_view2(["format", "png"])), str(parse_view2(["q", "50"]))
    ('imageView2/format/png', 'imageView2/q/50')
    """
    if not segments or not segments[0]:
        raise bad("imageView2 needs a mode 0-5 or encoder options (format, q, interlace)", "imageView2")
    if not segments[0].isdigit() and segments[0] in _VIEW2_ENCODER_KEYS:
        options: dict = {}
        for key, given in pairs(segments, frozenset(), "imageView2"):
            if not _encoder_param(key, given or "", options, view2=True):  # no flags: never None
                raise bad(f"imageView2 without a mode takes only encoder options "
                          f"({', '.join(sorted(_VIEW2_ENCODER_KEYS))}), got {key!r}", key)
        return View2Stage(None, EncodeOptions(**options))
    mode = parse_int(segments[0], "imageView2 mode", lo=0, hi=5)
    w = h = None
    enc: dict = {}
    for key, given in pairs(segments[1:], frozenset(), "imageView2"):
        value = given or ""  # no flags: never None
        if key == "w":
            w = _side(str(parse_int(value, "w")), value)
        elif key == "h":
            h = _side(str(parse_int(value, "h")), value)
        elif not _encoder_param(key, value, enc, view2=True):
            raise bad(f"unknown imageView2 parameter {key!r}", key)
    if w is None and h is None:
        raise bad(f"imageView2/{mode} needs w or h", f"imageView2/{mode}")
    return View2Stage(View2(mode, w, h), EncodeOptions(**enc))


register_op(INDEXCROP_KEY, parse_indexcrop)  # indexcrop/width|height/<n>/index/<i> (436/75060)
register_family("imageMogr2", parse_mogr2)
register_family("imageView2", parse_view2)
