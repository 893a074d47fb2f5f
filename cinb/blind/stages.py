"""The ``watermark/3`` (embed) and ``watermark/4`` (extract) rule families (spec §12).

Examples
--------
>>> from cinb import parse_rule
>>> str(parse_rule("watermark/3/type/3/text/Y2luYg/level/2"))
'watermark/3/type/3/text/Y2luYg/level/2'
>>> str(parse_rule("watermark/4/type/3"))
'watermark/4/type/3'
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from ..errors import BAD_PARAMETER, UNSUPPORTED_TYPE, CIError
from ..rules.grammar import b64u_encode, b64u_text, keyed_values, parse_int
from ..rules.model import Stage
from ..rules.registry import register_family
from ..settings import get_settings
from ..watermark.source import check_location, load_watermark, resolve_location
from .api import DEFAULT_LEVEL, embed, extract
from .pattern import DEFAULT_KEY
from .payload import text_bits

#: Versions CI documents; cinb has one algorithm and records the version only for the canonical text.
VERSIONS = ("1.0", "2.0", "3.0")


def rule_key(ctx=None) -> str:
    """The key rules use: the ``blind_key`` setting of ``ctx`` (default: the current settings, first
    read from ``$CINB_BLIND_KEY``), else the default key.

    Examples
    --------
    >>> from cinb.blind.stages import rule_key
    >>> from cinb.settings import using
    >>> with using(blind_key="secret"):
    ...     rule_key()
    'secret'
    """
    settings = getattr(ctx, "settings", None) or get_settings()
    return settings.blind_key or DEFAULT_KEY


def _bad(message: str, token: str | None) -> CIError:
    return CIError(message, code=BAD_PARAMETER, token=token)


def _check_location(location: str) -> None:
    check_location(location, "image")


def _load_image(location: str, ctx):
    return load_watermark(resolve_location(location, base_dir=getattr(ctx, "base_dir", None),
                                           settings=getattr(ctx, "settings", None)))


@dataclass(frozen=True)
class BlindEmbed(Stage):
    """``watermark/3``: add a blind watermark.

    Examples
    --------
    >>> from cinb.blind.stages import BlindEmbed
    >>> BlindEmbed(type=3, text="cinb", level=1)
    BlindEmbed(type=3, text='cinb', image=None, level=1, version=None)
    >>> str(BlindEmbed(type=3, text="cinb", level=1))
    'watermark/3/type/3/text/Y2luYg/level/1'
    """

    type: int
    text: str | None = None
    image: str | None = None
    level: int | None = None
    version: str | None = None
    #: Not part of CI's grammar (never printed): the secret key, default ``rule_key()``.
    key: str | None = field(default=None, repr=False, compare=False)

    family: ClassVar[str] = "watermark/3"

    def __post_init__(self) -> None:
        if self.type not in (1, 2, 3):
            raise _bad(f"watermark/3 type must be 1, 2 or 3, got {self.type!r}", str(self.type))
        if self.type == 3:
            if self.text is None:
                raise _bad("watermark/3 type 3 needs /text/<b64u>", "text")
            if self.image is not None:
                raise _bad("watermark/3 type 3 takes text, not image", "image")
            text_bits(self.text, key=DEFAULT_KEY)  # length and content checks, at parse time
        else:
            if self.image is None:
                raise _bad(f"watermark/3 type {self.type} needs /image/<b64u url>", "image")
            if self.text is not None:
                raise _bad(f"watermark/3 type {self.type} takes image, not text", "text")
            _check_location(self.image)
        if self.level is not None and self.level not in (0, 1, 2, 3):
            raise _bad(f"watermark/3 level must be 0, 1, 2 or 3, got {self.level!r}", str(self.level))
        if self.version is not None and self.version not in VERSIONS:
            raise _bad(f"watermark/3 version must be one of {', '.join(VERSIONS)}, got {self.version!r}",
                       self.version)

    def __str__(self) -> str:
        out = [self.family, "type", str(self.type)]
        if self.text is not None:
            out += ["text", b64u_encode(self.text)]
        if self.image is not None:
            out += ["image", b64u_encode(self.image)]
        if self.level is not None:
            out += ["level", str(self.level)]
        if self.version is not None:
            out += ["version", self.version]
        return "/".join(out)

    def apply(self, canvas, ctx):
        if canvas.is_animated:
            raise CIError("blind watermarks do not support animated images", code=UNSUPPORTED_TYPE, token="watermark/3")
        image = _load_image(self.image, ctx) if self.image is not None else None
        level = DEFAULT_LEVEL if self.level is None else self.level
        frame = canvas.frames[0]
        marked = embed(frame, text=self.text, image=image, type=self.type, level=level, key=self.key or rule_key(ctx))
        return canvas.replace(frames=[marked])


@dataclass(frozen=True)
class BlindExtract(Stage):
    """``watermark/4``: look for a blind watermark.

    The result's ``response`` gets ``WatermarkStatus`` (0-100, > 75 present) and, for type 3, ``Text``.
    For types 1 and 2 the output image becomes the recovered watermark (CI's derived object).

    Examples
    --------
    >>> from cinb.blind.stages import BlindExtract
    >>> str(BlindExtract(type=2, image="wm.png"))
    'watermark/4/type/2/image/d20ucG5n'
    """

    type: int
    image: str | None = None
    version: str | None = None
    #: Not part of CI's grammar (never printed): the secret key, default ``rule_key()``.
    key: str | None = field(default=None, repr=False, compare=False)

    family: ClassVar[str] = "watermark/4"

    def __post_init__(self) -> None:
        if self.type not in (1, 2, 3):
            raise _bad(f"watermark/4 type must be 1, 2 or 3, got {self.type!r}", str(self.type))
        if self.type == 3 and self.image is not None:
            raise _bad("watermark/4 type 3 takes no image (the text is returned)", "image")
        if self.type in (1, 2):
            if self.image is None:
                what = "original image" if self.type == 1 else "watermark image"
                raise _bad(f"watermark/4 type {self.type} needs /image/<b64u url> of the {what}", "image")
            _check_location(self.image)
        if self.version is not None and self.version not in VERSIONS:
            raise _bad(f"watermark/4 version must be one of {', '.join(VERSIONS)}, got {self.version!r}",
                       self.version)

    def __str__(self) -> str:
        out = [self.family, "type", str(self.type)]
        if self.image is not None:
            out += ["image", b64u_encode(self.image)]
        if self.version is not None:
            out += ["version", self.version]
        return "/".join(out)

    def apply(self, canvas, ctx):
        if canvas.is_animated:
            raise CIError("blind watermarks do not support animated images", code=UNSUPPORTED_TYPE, token="watermark/4")
        frame = canvas.frames[0]
        kwargs = {}
        if self.type == 1:
            kwargs["original"] = _load_image(self.image, ctx)
        elif self.type == 2:
            kwargs["image"] = _load_image(self.image, ctx)
        found = extract(frame, type=self.type, key=self.key or rule_key(ctx), **kwargs)
        response = {**canvas.response, **found.as_ci()}
        # cinb's diagnostics (Result.info): where the mark was found, when it was.
        info = {**canvas.info, **{f"blind_{k}": v for k, v in found.details.items() if k in ("orientation", "layout")}}
        if found.image is None:
            return canvas.replace(response=response, info=info)
        return canvas.replace(frames=[found.image.convert("RGB")], response=response, exif=None, icc=None,
                              nominal_size=None, info=info)


_PARSERS = {
    "type": lambda v: parse_int(v, "type", lo=1, hi=3),
    "level": lambda v: parse_int(v, "level", lo=0, hi=3),
    "text": lambda v: b64u_text(v, "text"),
    "image": lambda v: b64u_text(v, "image"),
    "version": lambda v: v,
}


def _parse(segments: list[str], family: str, allowed: tuple[str, ...]) -> dict:
    values = keyed_values(segments, family, {k: _PARSERS[k] for k in allowed}, needs="parameters (type/<1|2|3>)")
    if "type" not in values:
        raise _bad(f"{family} needs type/<1|2|3>", family)
    return values


def parse_blind_embed(segments: list[str]) -> BlindEmbed:
    """Parse the segments after ``watermark/3/``.

    Examples
    --------
    >>> from cinb.blind.stages import parse_blind_embed
    >>> parse_blind_embed(["type", "3", "text", "Y2luYg"]).text
    'cinb'
    """
    return BlindEmbed(**_parse(segments, "watermark/3", ("type", "text", "image", "level", "version")))


def parse_blind_extract(segments: list[str]) -> BlindExtract:
    """Parse the segments after ``watermark/4/``.

    Examples
    --------
    >>> from cinb.blind.stages import parse_blind_extract
    >>> parse_blind_extract(["type", "3"]).type
    3
    """
    return BlindExtract(**_parse(segments, "watermark/4", ("type", "image", "version")))


register_family("watermark/3", parse_blind_embed)
register_family("watermark/4", parse_blind_extract)
