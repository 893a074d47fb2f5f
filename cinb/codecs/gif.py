"""GIF output: adaptive palette per frame, transparency, durations and loop kept, a source's XMP kept.

XMP goes where XMP Specification Part 3 (§1.1.2) puts it in a GIF89a file: an Application Extension
with identifier ``XMP Data`` and authentication code ``XMP``, the UTF-8 packet as is, then a 258-byte
"magic trailer" (0x01, 0xFF, 0xFE ... 0x00, then the block terminator) that lets a decoder reading the
packet as data sub-blocks land on the terminator wherever it starts: every GIF reader skips it (Pillow,
browsers), and ExifTool and Adobe's XMP toolkit read it. Pillow's GIF saver writes no XMP, so the block
is spliced in before the first frame. A source's TC260 AIGC label thus survives ``format/gif`` as it does
every other conversion (GB 45438-2025 forbids removing it); ``imageMogr2/AIGCMetadata`` asking for a GIF
output stays -113, as CI lists it (:mod:`cinb.ops.aigc`), and ``strip`` keeps the label alone.
"""

from __future__ import annotations

from PIL import Image

from ..canvas import Canvas
from ..formats import Format, register_format
from ..ops.aigc import label_only
from .options import EncodeOptions
from .registry import Codec, pil_save, register_codec

#: The Application Extension header of XMP in GIF: introducer, label, block size 11, "XMP Data" + "XMP".
XMP_HEADER = b"\x21\xff\x0bXMP DataXMP"
#: The magic trailer after the packet, block terminator included (258 bytes).
XMP_TRAILER = bytes([1]) + bytes(range(255, -1, -1)) + b"\x00"


def _to_palette(frame: Image.Image) -> Image.Image:
    if frame.mode in ("RGBA", "LA"):
        rgba = frame.convert("RGBA")
        alpha = rgba.getchannel("A")
        p = rgba.convert("RGB").quantize(colors=255, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
        mask = alpha.point(lambda a: 255 if a < 128 else 0)
        p.paste(255, mask=mask)
        p.info["transparency"] = 255
        return p
    return frame.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)


def save_gif(canvas: Canvas, quality: int | None, opts: EncodeOptions) -> bytes:
    frames = [_to_palette(f) for f in canvas.frames]
    kw: dict = {}
    if canvas.is_animated:
        kw.update(duration=canvas.durations, loop=canvas.loop or 0, disposal=2)
    if "transparency" in frames[0].info:
        kw["transparency"] = 255
    data = pil_save(frames, "GIF", optimize=False, **kw)
    xmp = label_only(canvas.xmp) if opts.strip else canvas.xmp
    return with_xmp(data, xmp) if xmp else data


def with_xmp(data: bytes, xmp: bytes) -> bytes:
    """A GIF with an XMP Application Extension inserted after its leading extensions (the loop count).

    A packet holding a NUL byte cannot be carried this way (a sub-block reader would stop on it) and
    is left out; so is anything when ``data`` is no GIF89a stream.

    Examples
    --------
    >>> import io
    >>> from PIL import Image
    >>> from cinb.codecs.gif import with_xmp
    >>> from cinb.codecs.registry import pil_save
    >>> out = with_xmp(pil_save([Image.new("P", (4, 4))], "GIF"), b"<x:xmpmeta xmlns:x='adobe:ns:meta/'/>")
    >>> b"XMP DataXMP<x:xmpmeta" in out, Image.open(io.BytesIO(out)).size
    (True, (4, 4))
    """
    xmp = xmp.rstrip(b"\x00 \t\r\n")
    if not xmp or b"\x00" in xmp or data[:6] not in (b"GIF89a", b"GIF87a") or len(data) < 13:
        return data
    pos = 13 + ((3 << ((data[10] & 7) + 1)) if data[10] & 0x80 else 0)  # header, screen, global colours
    while pos + 2 <= len(data) and data[pos] == 0x21 and data[pos + 1] in (0xFF, 0xFE):  # application, comment
        pos += 2
        while pos < len(data) and data[pos]:
            pos += data[pos] + 1
        pos += 1
    if pos > len(data):
        return data
    return b"GIF89a" + data[6:pos] + XMP_HEADER + xmp + XMP_TRAILER + data[pos:]


register_codec(Codec("gif", save_gif, lossy=False, animated=True, alpha=True))
register_format(Format("gif", tokens=("gif",), pil_names=("GIF",), extensions=(".gif",), extension=".gif",
                       mime="image/gif", writable=True))
