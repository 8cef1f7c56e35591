"""What ALT checks of an image before Meta sees it, in pure Python (Pillow is not installed, so
PNG cannot be converted: it is refused with a clear message).

Meta accepts JPEG only for image posts and stories (EXTERNAL_APIS.md §3.8), up to 8 MB, and feed
posts between 4:5 (portrait) and 1.91:1 (landscape). The size comes from the JPEG's frame header
(SOFn marker), so a file that only claims to be a JPEG is refused.
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_IMAGE_BYTES = 8 * 1024 * 1024
MIN_FEED_RATIO = 4 / 5
MAX_FEED_RATIO = 1.91
# Start-of-frame markers: baseline, extended, progressive, lossless (not DHT C4, JPG C8, DAC CC).
_SOF_MARKERS = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
_STANDALONE = {0x01, *range(0xD0, 0xD8)}  # TEM, RST0-7: no length field


class ImageRefused(ValueError):
    """The image cannot go to Instagram; the message says why in plain words."""


@dataclass(frozen=True)
class JpegImage:
    data: bytes
    width: int
    height: int


def jpeg_dimensions(data: bytes) -> tuple[int, int] | None:
    """(width, height) read from a JPEG's frame header, or None when `data` is not a readable
    JPEG (wrong signature, truncated, or no frame header)."""
    if not data.startswith(b"\xff\xd8\xff"):
        return None
    i = 2
    length = len(data)
    while i + 4 <= length:
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker in _STANDALONE:
            i += 2
            continue
        if marker in (0xD9, 0xDA):  # end of image, or the scan started before any frame header
            return None
        segment = int.from_bytes(data[i + 2 : i + 4], "big")
        if segment < 2:
            return None
        if marker in _SOF_MARKERS:
            if i + 9 > length:
                return None
            height = int.from_bytes(data[i + 5 : i + 7], "big")
            width = int.from_bytes(data[i + 7 : i + 9], "big")
            return (width, height) if width and height else None
        i += 2 + segment
    return None


def image_check(data: bytes, *, story: bool) -> JpegImage:
    """The upload as a JPEG Instagram will take, or ImageRefused saying what to change."""
    if len(data) > MAX_IMAGE_BYTES:
        raise ImageRefused(
            f"This image is {len(data) / 1024 / 1024:.1f} MB; Instagram takes images up to 8 MB."
        )
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        raise ImageRefused(
            "This is a PNG image. Instagram accepts JPEG only, and ALT cannot convert it here: "
            "save or export it as JPEG (.jpg) and upload that."
        )
    size = jpeg_dimensions(data)
    if size is None:
        raise ImageRefused("This file is not a JPEG image ALT can read. Upload a .jpg photo.")
    width, height = size
    ratio = width / height
    if not story and not (MIN_FEED_RATIO - 1e-3 <= ratio <= MAX_FEED_RATIO + 1e-3):
        shape = "tall" if ratio < MIN_FEED_RATIO else "wide"
        raise ImageRefused(
            f"This image is {width} x {height} pixels, too {shape} for an Instagram post: its "
            "width must be between 4:5 (portrait) and 1.91:1 (landscape) of its height. Crop it, "
            "or post it as a story."
        )
    return JpegImage(data=data, width=width, height=height)


def tiny_jpeg(width: int, height: int) -> bytes:
    """The smallest JPEG header with a frame of `width` x `height` (tests and the sandbox)."""
    sof = (
        b"\xff\xc0\x00\x11\x08"
        + height.to_bytes(2, "big")
        + width.to_bytes(2, "big")
        + b"\x03\x01\x22\x00\x02\x11\x01\x03\x11\x01"
    )
    app0 = b"\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    return b"\xff\xd8" + app0 + sof + b"\xff\xda\x00\x08\x01\x01\x00\x00\x3f\x00" + b"\x00\xff\xd9"
