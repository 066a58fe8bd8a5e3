"""Decoding, face counting and identity on real photos (voice activity is in test_voice.py).

The photos are the shared test data (two people, two photos each, a two-person photo and a
small one).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import cache

import cv2
import numpy as np
import pytest
from numpy.typing import NDArray

from proctoring.analysis import (
    DEFAULT_MATCH_THRESHOLD,
    DlibFaceDetector,
    FaceBox,
    FaceDetector,
    FaceIdentifier,
    HaarFaceDetector,
    analyze_frame,
    decode_image,
    face_distance,
    match,
)
from tests.conftest import shared_testdata
from vakt.errors import VaktError

Image = NDArray[np.uint8]

PHOTO_FACES = {
    "obama.jpg": 1,
    "obama2.jpg": 1,
    "obama_small.jpg": 1,
    "biden.jpg": 1,
    "biden2.jpg": 1,
    "two_people.jpg": 2,
}


# ---------------------------------------------------------------------------------------------
# Helpers


@cache
def _photo_bytes(name: str) -> bytes:
    return shared_testdata("faces", name).read_bytes()


def photo(name: str) -> Image:
    """A test photo, decoded (a fresh copy: tests may draw on it)."""
    return decode_image(_photo_bytes(name)).copy()


def frame(image: Image, width: int = 640, height: int = 480) -> Image:
    """The image scaled to fit a ``width`` x ``height`` camera frame, padded with black."""
    scale = min(width / image.shape[1], height / image.shape[0])
    size = (round(image.shape[1] * scale), round(image.shape[0] * scale))
    resized = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    padded = np.zeros((height, width, 3), dtype=np.uint8)
    top, left = (height - size[1]) // 2, (width - size[0]) // 2
    padded[top : top + size[1], left : left + size[0]] = resized
    return padded


DETECTORS: dict[str, Callable[[], FaceDetector]] = {
    "haar": HaarFaceDetector,
    "dlib": DlibFaceDetector,
}


@pytest.fixture(scope="module")
def identifier() -> FaceIdentifier:
    return FaceIdentifier()


@cache
def _descriptor(name: str, as_frame: bool) -> tuple[float, ...]:
    image = photo(name)
    description = FaceIdentifier().describe(frame(image) if as_frame else image)
    assert description.face_count == 1, name
    assert description.descriptor is not None
    return description.descriptor


# ---------------------------------------------------------------------------------------------
# Decoding


def test_decode_jpeg_and_png() -> None:
    image = photo("obama_small.jpg")
    assert image.dtype == np.uint8
    assert image.shape == (240, 320, 3)
    ok, png = cv2.imencode(".png", image)
    assert ok
    assert np.array_equal(decode_image(png.tobytes()), image)  # lossless


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"hello, this is not a picture",
        b"GIF89a\x01\x00\x01\x00\x00\x00\x00;",
        b"\xff\xd8\xff\xe0\x00\x10JFIF\x00",  # a JPEG cut off before its frame header
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR\x00\x00\x00\x10\x00\x00\x00\x10garbage",
    ],
    ids=["empty", "text", "gif", "truncated-jpeg", "broken-png"],
)
def test_decode_refuses_what_is_not_a_photo(data: bytes) -> None:
    with pytest.raises(VaktError) as raised:
        decode_image(data)
    assert raised.value.status_code == 422
    assert "JPEG or PNG" in str(raised.value.message)


def test_decode_refuses_too_many_pixels_before_decoding() -> None:
    # A header claiming 100,000 x 100,000 pixels: refused from the header alone.
    header = b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR" + (100_000).to_bytes(4, "big") * 2
    with pytest.raises(VaktError) as raised:
        decode_image(header + b"\x08\x02\x00\x00\x00")
    assert raised.value.status_code == 422
    assert raised.value.params == {"megapixels": "50"}

    with pytest.raises(VaktError) as raised:
        decode_image(_photo_bytes("obama.jpg"), max_pixels=1_000_000)  # 910 x 1137
    assert raised.value.status_code == 422
    assert raised.value.params == {"megapixels": "1"}


# ---------------------------------------------------------------------------------------------
# Face detection


@pytest.mark.parametrize("detector_name", DETECTORS)
@pytest.mark.parametrize("name", PHOTO_FACES)
def test_faces_counted_in_photos_and_frames(detector_name: str, name: str) -> None:
    detector = DETECTORS[detector_name]()
    image = photo(name)
    mirrored = np.ascontiguousarray(frame(image)[:, ::-1])  # as a webcam preview shows it
    for variant in (image, frame(image), mirrored):
        boxes = detector.detect(variant)
        assert len(boxes) == PHOTO_FACES[name]
        for box in boxes:
            assert 0 <= box.left < box.right <= variant.shape[1]
            assert 0 <= box.top < box.bottom <= variant.shape[0]
            assert box.width > 0.05 * variant.shape[1]


@pytest.mark.parametrize("detector_name", DETECTORS)
def test_two_people_are_two_separate_faces(detector_name: str) -> None:
    boxes = sorted(DETECTORS[detector_name]().detect(frame(photo("two_people.jpg"))), key=str)
    assert len(boxes) == 2
    left, right = sorted(boxes, key=lambda box: box.left)
    assert left.right < right.left  # side by side, not one face found twice


def _blank_face(image: Image) -> Image:
    (box,) = DlibFaceDetector().detect(image)
    margin_x, margin_y = box.width // 2, box.height // 2
    blanked = image.copy()
    blanked[
        max(0, box.top - margin_y) : box.bottom + margin_y,
        max(0, box.left - margin_x) : box.right + margin_x,
    ] = 0
    return blanked


NO_FACE: dict[str, Callable[[], Image]] = {
    "grey": lambda: np.full((480, 640, 3), 128, dtype=np.uint8),
    "black": lambda: np.zeros((480, 640, 3), dtype=np.uint8),
    "noise": lambda: np.random.default_rng(7).integers(0, 256, (480, 640, 3), dtype=np.uint8),
    "face-blacked-out": lambda: _blank_face(frame(photo("obama.jpg"))),
    "faces-blacked-out": lambda: _blank_face(_blank_face_right(frame(photo("two_people.jpg")))),
    "tiny": lambda: np.full((8, 8, 3), 200, dtype=np.uint8),
}


def _blank_face_right(image: Image) -> Image:
    blanked = image.copy()
    blanked[:, image.shape[1] // 2 :] = 0
    return blanked


@pytest.mark.parametrize("detector_name", DETECTORS)
@pytest.mark.parametrize("case", NO_FACE)
def test_no_face(detector_name: str, case: str) -> None:
    assert DETECTORS[detector_name]().detect(NO_FACE[case]()) == []


def test_grey_images_are_accepted() -> None:
    grey = np.asarray(cv2.cvtColor(frame(photo("two_people.jpg")), cv2.COLOR_BGR2GRAY), np.uint8)
    assert len(HaarFaceDetector().detect(grey)) == 2
    assert len(DlibFaceDetector().detect(grey)) == 2


def test_boxes_are_scaled_back_to_the_original_image() -> None:
    image = photo("obama.jpg")  # 910 x 1137: both detectors work on a smaller copy
    for detector in (HaarFaceDetector(), DlibFaceDetector()):
        (box,) = detector.detect(image)
        # The face is in the upper middle of the portrait, a quarter of its width or more.
        assert 250 < (box.left + box.right) / 2 < 650
        assert 100 < (box.top + box.bottom) / 2 < 450
        assert box.width > 200


def test_detector_parameters_are_checked() -> None:
    with pytest.raises(ValueError):
        HaarFaceDetector(scale_factor=1.0)
    with pytest.raises(ValueError):
        DlibFaceDetector(upsample=5)
    with pytest.raises(ValueError):
        DlibFaceDetector().detect(np.zeros((10, 10, 4), dtype=np.uint8))


# ---------------------------------------------------------------------------------------------
# Identity


def test_description_of_one_face(identifier: FaceIdentifier) -> None:
    image = photo("obama.jpg")
    description = identifier.describe(image)
    assert description.face_count == 1
    assert description.descriptor is not None and len(description.descriptor) == 128
    assert description.box is not None
    assert 0 <= description.box.left < description.box.right <= image.shape[1]
    stored = json.loads(json.dumps(description.to_list()))
    assert face_distance(stored, description.descriptor) == 0.0


@pytest.mark.parametrize(
    ("name", "faces"), [("two_people.jpg", 2), ("grey", 0), ("blacked-out", 0)]
)
def test_no_descriptor_unless_exactly_one_face(
    identifier: FaceIdentifier, name: str, faces: int
) -> None:
    if name == "grey":
        image = np.full((480, 640, 3), 128, dtype=np.uint8)
    elif name == "blacked-out":
        image = _blank_face(frame(photo("biden2.jpg")))
    else:
        image = photo(name)
    description = identifier.describe(image)
    assert description.face_count == faces
    assert description.descriptor is None and description.box is None
    assert description.to_list() is None


@pytest.mark.parametrize("as_frame", [False, True], ids=["photo", "640x480"])
@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("obama.jpg", "obama2.jpg"),
        ("obama.jpg", "obama_small.jpg"),
        ("obama2.jpg", "obama_small.jpg"),
        ("biden.jpg", "biden2.jpg"),
    ],
)
def test_same_person_matches(a: str, b: str, as_frame: bool) -> None:
    distance = face_distance(_descriptor(a, as_frame), _descriptor(b, False))
    assert distance <= DEFAULT_MATCH_THRESHOLD
    assert match(distance)


@pytest.mark.parametrize("as_frame", [False, True], ids=["photo", "640x480"])
@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("obama.jpg", "biden.jpg"),
        ("obama.jpg", "biden2.jpg"),
        ("obama2.jpg", "biden2.jpg"),
        ("obama_small.jpg", "biden.jpg"),
    ],
)
def test_other_person_does_not_match(a: str, b: str, as_frame: bool) -> None:
    distance = face_distance(_descriptor(a, as_frame), _descriptor(b, False))
    assert distance > DEFAULT_MATCH_THRESHOLD
    assert not match(distance)


def test_distance_and_match_semantics() -> None:
    a = np.zeros(128)
    b = np.zeros(128)
    b[0] = 0.6
    assert face_distance(a, a) == 0.0
    assert face_distance(a, b) == pytest.approx(0.6)
    assert match(0.6) and match(0.0)
    assert not match(0.6000001)
    assert match(0.45, threshold=0.5) and not match(0.55, threshold=0.5)
    with pytest.raises(ValueError):
        face_distance([0.0] * 127, a)


@pytest.mark.parametrize("as_frame", [False, True], ids=["photo", "640x480"])
def test_describe_with_a_given_box(identifier: FaceIdentifier, as_frame: bool) -> None:
    image = frame(photo("biden2.jpg")) if as_frame else photo("biden2.jpg")  # 1200 x 1200
    found = identifier.describe(image)
    assert found.box is not None and found.descriptor is not None
    (haar_box,) = HaarFaceDetector().detect(image)
    for box in (found.box, haar_box):
        given = identifier.describe(image, box=box)
        assert given.box == box
        assert given.descriptor is not None
        assert face_distance(given.descriptor, found.descriptor) < 0.1


# ---------------------------------------------------------------------------------------------
# Frame analysis


@pytest.mark.parametrize("detector_name", DETECTORS)
def test_analyze_frame(identifier: FaceIdentifier, detector_name: str) -> None:
    detector = DETECTORS[detector_name]()
    reference = _descriptor("obama2.jpg", False)

    same = analyze_frame(frame(photo("obama.jpg")), detector, identifier, reference)
    assert same.face_count == 1
    assert same.distance is not None and match(same.distance)

    other = analyze_frame(frame(photo("biden.jpg")), detector, identifier, reference)
    assert other.face_count == 1
    assert other.distance is not None and not match(other.distance)

    two = analyze_frame(frame(photo("two_people.jpg")), detector, identifier, reference)
    assert (two.face_count, two.distance) == (2, None)

    empty = analyze_frame(_blank_face(frame(photo("obama.jpg"))), detector, identifier, reference)
    assert (empty.face_count, empty.distance) == (0, None)

    counted_only = analyze_frame(frame(photo("obama.jpg")), detector)
    assert (counted_only.face_count, counted_only.distance) == (1, None)


class _EverywhereDetector:
    """A detector of another kind: claims one face covering the whole image."""

    def detect(self, image_bgr: Image) -> list[FaceBox]:
        return [FaceBox(0, 0, image_bgr.shape[1], image_bgr.shape[0])]


def test_analyze_frame_finds_the_face_itself_for_other_detectors(
    identifier: FaceIdentifier,
) -> None:
    reference = _descriptor("obama2.jpg", False)
    result = analyze_frame(frame(photo("obama.jpg")), _EverywhereDetector(), identifier, reference)
    assert result.face_count == 1
    assert result.distance is not None and match(result.distance)
    # The identifier sees two faces where the detector claimed one: no distance.
    two = analyze_frame(
        frame(photo("two_people.jpg")), _EverywhereDetector(), identifier, reference
    )
    assert (two.face_count, two.distance) == (1, None)


def test_detectors_and_identifier_shared_between_threads(identifier: FaceIdentifier) -> None:
    reference = _descriptor("obama2.jpg", False)
    frames = [frame(photo(name)) for name in ("obama.jpg", "biden.jpg", "two_people.jpg")]
    detectors: list[FaceDetector] = [HaarFaceDetector(), DlibFaceDetector()]
    jobs = [(image, detector) for image in frames for detector in detectors] * 4

    def run(job: tuple[Image, FaceDetector]) -> tuple[int, float | None]:
        result = analyze_frame(job[0], job[1], identifier, reference)
        return result.face_count, result.distance

    expected = [run(job) for job in jobs]
    with ThreadPoolExecutor(max_workers=4) as pool:
        assert list(pool.map(run, jobs)) == expected
