"""Photos and frames as images: decoding an upload safely, and the small conversions the face
analysis shares (checking, grey, RGB, scaling down)."""

from __future__ import annotations

import struct
from typing import Final, cast

import cv2
import numpy as np
from numpy.typing import NDArray

from vakt.errors import VaktError
from vakt.i18n import _l

Image = NDArray[np.uint8]

# A 50-megapixel photo is 150 MB once decoded; anything larger is not a camera frame or an ID
# photo, and decoding it would only let an upload tie up memory.
MAX_IMAGE_PIXELS: Final = 50_000_000


_PNG_SIGNATURE: Final = b"\x89PNG\r\n\x1a\n"
_JPEG_SIGNATURE: Final = b"\xff\xd8\xff"
# Start-of-frame markers carry the image size; C4 (Huffman tables), C8 (reserved) and CC
# (arithmetic coding conditioning) share the range but are not frames.
_JPEG_SOF_MARKERS: Final = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
# Markers without a length field.
_JPEG_STANDALONE_MARKERS: Final = frozenset(range(0xD0, 0xDA)) | {0x01}

_NOT_AN_IMAGE = _l(
    "The file could not be read as a photo: it is not a JPEG or PNG image, or it is damaged."
)
"""Why ``decode_image`` refuses bytes that are not a readable JPEG or PNG image."""

_TOO_LARGE = _l("The photo is too large: at most {megapixels} megapixels are accepted.")
"""Why ``decode_image`` refuses an image with too many pixels."""


def _png_size(data: bytes) -> tuple[int, int] | None:
    # The first chunk of a PNG must be IHDR, whose first fields are width and height.
    if len(data) < 24 or data[12:16] != b"IHDR":
        return None
    width, height = struct.unpack(">II", data[16:24])
    return int(width), int(height)


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    position = 2
    while position + 4 <= len(data):
        if data[position] != 0xFF:
            return None
        marker = data[position + 1]
        if marker == 0xFF:  # fill byte before a marker
            position += 1
            continue
        if marker in _JPEG_STANDALONE_MARKERS:
            position += 2
            continue
        if marker == 0xD9:  # end of image before any frame header
            return None
        (length,) = struct.unpack(">H", data[position + 2 : position + 4])
        if marker in _JPEG_SOF_MARKERS:
            if position + 9 > len(data):
                return None
            height, width = struct.unpack(">HH", data[position + 5 : position + 9])
            return int(width), int(height)
        position += 2 + length
    return None


def decode_image(data: bytes, *, max_pixels: int = MAX_IMAGE_PIXELS) -> Image:
    """Decode a JPEG or PNG photo into a BGR ``uint8`` array (height x width x 3).

    The size is read from the file's header before anything is decoded, so a small file that
    claims a huge picture costs nothing. Raises ``VaktError`` (422) for anything that is not a
    readable JPEG or PNG, or that has more than ``max_pixels`` pixels.
    """
    if data.startswith(_PNG_SIGNATURE):
        size = _png_size(data)
    elif data.startswith(_JPEG_SIGNATURE):
        size = _jpeg_size(data)
    else:
        size = None
    if size is None or size[0] <= 0 or size[1] <= 0:
        raise VaktError(_NOT_AN_IMAGE, status_code=422)
    if size[0] * size[1] > max_pixels:
        raise VaktError(_TOO_LARGE, status_code=422, megapixels=f"{max_pixels / 1_000_000:g}")
    buffer = np.frombuffer(data, dtype=np.uint8)
    image = cast(Image | None, cv2.imdecode(buffer, cv2.IMREAD_COLOR))
    if image is None or image.size == 0:
        raise VaktError(_NOT_AN_IMAGE, status_code=422)
    return image


def check_image(image: Image) -> None:
    """Refuse what is not a BGR or grey ``uint8`` image with pixels (a programming error)."""
    if image.dtype != np.uint8 or not (
        image.ndim == 2 or (image.ndim == 3 and image.shape[2] == 3)
    ):
        raise ValueError("expected a BGR (height x width x 3) or grey uint8 image")
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise ValueError("the image is empty")


def to_grey(image: Image) -> Image:
    """The image in grey (as it is, when it already is)."""
    if image.ndim == 2:
        return image
    return cast(Image, cv2.cvtColor(image, cv2.COLOR_BGR2GRAY))


def to_rgb(image: Image) -> Image:
    """The image in RGB order (dlib's)."""
    code = cv2.COLOR_GRAY2RGB if image.ndim == 2 else cv2.COLOR_BGR2RGB
    return cast(Image, cv2.cvtColor(image, code))


def shrink(image: Image, max_side: int) -> tuple[Image, float]:
    """The image scaled down so that its longer side is at most ``max_side``, and the factor
    that maps its coordinates back to the original."""
    height, width = image.shape[:2]
    longer = max(height, width)
    if longer <= max_side:
        return image, 1.0
    scale = max_side / longer
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    small = cast(Image, cv2.resize(image, size, interpolation=cv2.INTER_AREA))
    return small, width / size[0]
