"""Face counting, identity and voice activity on real photos and on synthesised audio.

The photos are the shared test data (two people, two photos each, a two-person photo and a
small one). Speech is synthesised in the test: voiced sound with a wandering pitch, harmonics
shaped by vowel formants and syllable-rate loudness, which WebRTC's detector takes for speech
exactly as it does a recorded voice. When ``espeak-ng`` is installed, a spoken sentence is
checked as well.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import wave
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from pathlib import Path

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
    SpeechChange,
    SpeechDetector,
    SpeechSegment,
    analyze_frame,
    decode_image,
    detect_speech,
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


# ---------------------------------------------------------------------------------------------
# Voice activity

# Formants (F1, F2, F3 in Hz) of a few vowels: a, i, u, e, o, ae.
VOWELS = np.array(
    [(730, 1090, 2440), (270, 2290, 3010), (300, 870, 2240), (530, 1840, 2480), (570, 840, 2410)],
    dtype=np.float64,
)
BANDWIDTHS = np.array([80.0, 100.0, 150.0])


def voice(
    sample_rate: int, seconds: float, *, pitch: float = 120.0, seed: int = 0, level: float = 0.3
) -> NDArray[np.float64]:
    """Synthesised voiced speech: a pitch that wanders around ``pitch``, its harmonics shaped
    by the formants of a vowel that glides to the next at four syllables a second, and a
    loudness that rises and falls with each syllable. Peak at ``level`` of full scale."""
    rng = np.random.default_rng(seed)
    t = np.arange(round(sample_rate * seconds)) / sample_rate
    f0 = pitch * (1 + 0.1 * np.sin(2 * np.pi * 0.5 * t + rng.uniform(0, 6)))
    f0 *= 1 + 0.02 * np.sin(2 * np.pi * 5.5 * t)
    phase = 2 * np.pi * np.cumsum(f0) / sample_rate
    position = t * 4.0
    syllable = position.astype(int)
    vowels = VOWELS[rng.integers(0, len(VOWELS), syllable.max() + 2)]
    glide = ((position % 1.0) ** 2)[:, None]
    formants = vowels[syllable] * (1 - glide) + vowels[syllable + 1] * glide
    signal = np.zeros_like(t)
    for harmonic in range(1, int(3800 / (pitch * 0.85))):
        frequency = harmonic * f0
        envelope = sum(
            0.5**j / (1 + ((frequency - formants[:, j]) / BANDWIDTHS[j]) ** 2) for j in range(3)
        )
        envelope = envelope * (frequency < sample_rate / 2 - 200)
        signal += envelope * np.sin(harmonic * phase) / np.sqrt(harmonic)
    signal *= np.sin(np.pi * (position % 1.0)) ** 0.6
    return np.asarray(signal / np.abs(signal).max() * level * 32767)


def silence(sample_rate: int, seconds: float) -> NDArray[np.float64]:
    return np.zeros(round(sample_rate * seconds))


def noise(sample_rate: int, seconds: float, rms: float, seed: int = 1) -> NDArray[np.float64]:
    return np.random.default_rng(seed).normal(0, rms, round(sample_rate * seconds))


def pcm(*channels: NDArray[np.float64]) -> bytes:
    """Interleaved s16le samples of one or more equally long channels."""
    samples = np.stack(channels, axis=1) if len(channels) > 1 else channels[0]
    return np.clip(np.round(samples), -32768, 32767).astype("<i2").tobytes()


def segments(changes: list[SpeechChange]) -> list[SpeechSegment]:
    result: list[SpeechSegment] = []
    for started, stopped in zip(changes[::2], changes[1::2], strict=False):
        assert started.speaking and not stopped.speaking
        result.append(SpeechSegment(started.at, stopped.at))
    assert len(changes) == 2 * len(result)
    return result


def feed_in_chunks(
    detector: SpeechDetector,
    data: bytes,
    sample_rate: int,
    channels: int,
    chunk_samples: int,
    at: float,
) -> list[SpeechChange]:
    """Feed the audio in chunks of ``chunk_samples`` (not a whole number of VAD frames)."""
    step = chunk_samples * channels * 2
    changes: list[SpeechChange] = []
    for offset in range(0, len(data), step):
        changes += detector.feed(
            data[offset : offset + step],
            sample_rate,
            channels,
            at + offset / step * chunk_samples / sample_rate,
        )
    return changes + detector.finish()


@pytest.mark.parametrize("sample_rate", [8000, 16000, 32000, 48000])
def test_continuous_speech_is_one_segment(sample_rate: int) -> None:
    audio = np.concatenate(
        [silence(sample_rate, 2), voice(sample_rate, 5), silence(sample_rate, 2)]
    )
    (segment,) = detect_speech(pcm(audio), sample_rate)
    assert segment.start == pytest.approx(2.0, abs=0.1)
    assert segment.end == pytest.approx(7.0, abs=0.2)


def test_speech_start_and_end_on_the_callers_clock() -> None:
    audio = np.concatenate([silence(16000, 1.5), voice(16000, 3, pitch=210), silence(16000, 2)])
    detector = SpeechDetector()
    changes = feed_in_chunks(detector, pcm(audio), 16000, 1, 320, at=1_000.0)
    (segment,) = segments(changes)
    assert segment.start == pytest.approx(1_001.5, abs=0.1)
    assert segment.end == pytest.approx(1_004.5, abs=0.2)
    assert not detector.speaking


def test_stereo_48k_in_uneven_chunks() -> None:
    # A voice on the left channel only (a headset microphone), a little hiss on the right.
    left = np.concatenate([silence(48000, 1), voice(48000, 4, seed=3), silence(48000, 1.5)])
    right = noise(48000, 6.5, rms=100)
    changes = feed_in_chunks(SpeechDetector(), pcm(left, right), 48000, 2, 1234, at=0.0)
    (segment,) = segments(changes)
    assert segment.start == pytest.approx(1.0, abs=0.1)
    assert segment.end == pytest.approx(5.0, abs=0.2)


def test_pauses_between_words_do_not_split_but_long_pauses_do() -> None:
    rate = 16000
    audio = np.concatenate(
        [
            silence(rate, 1),
            voice(rate, 1.5, seed=1),
            silence(rate, 0.25),  # between words
            voice(rate, 1.5, seed=2),
            silence(rate, 2),  # the speaker stops, then speaks again
            voice(rate, 1, seed=4),
            silence(rate, 1),
        ]
    )
    found = detect_speech(pcm(audio), rate)
    assert [(round(s.start), round(s.end)) for s in found] == [(1, 4), (6, 7)]


@pytest.mark.parametrize("sample_rate", [16000, 48000])
@pytest.mark.parametrize("rms", [0, 30, 300], ids=["digital-silence", "-60dBFS", "-40dBFS"])
def test_silence_and_low_noise_are_not_speech(sample_rate: int, rms: float) -> None:
    audio = noise(sample_rate, 20, rms) if rms else silence(sample_rate, 20)
    detector = SpeechDetector()
    assert feed_in_chunks(detector, pcm(audio), sample_rate, 1, sample_rate // 50, at=0.0) == []


def test_speech_over_low_noise() -> None:
    audio = np.concatenate([silence(16000, 2), voice(16000, 4, level=0.2), silence(16000, 2)])
    audio += noise(16000, 8, rms=300)
    (segment,) = detect_speech(pcm(audio), 16000)
    assert segment.start == pytest.approx(2.0, abs=0.15)
    assert segment.end == pytest.approx(6.0, abs=0.25)


def test_stream_ending_mid_speech_and_gaps() -> None:
    detector = SpeechDetector()
    changes = detector.feed(pcm(voice(16000, 2)), 16000, 1, at=10.0)
    assert [c.speaking for c in changes] == [True]
    assert detector.speaking
    (stop,) = detector.finish()
    assert not stop.speaking and stop.at == pytest.approx(12.0, abs=0.1)

    # Audio resumes after a 5 s gap (a dropped connection): the speech before it ends there.
    detector.feed(pcm(voice(16000, 2)), 16000, 1, at=20.0)
    changes = detector.feed(pcm(silence(16000, 0.5)), 16000, 1, at=27.0)
    assert [(c.speaking, round(c.at)) for c in changes] == [(False, 22)]


def test_invalid_audio_is_a_programming_error() -> None:
    detector = SpeechDetector()
    with pytest.raises(ValueError):
        detector.feed(b"\x00" * 882, 44100, 1, at=0.0)
    with pytest.raises(ValueError):
        detector.feed(b"\x00" * 3, 16000, 1, at=0.0)
    with pytest.raises(ValueError):
        detector.feed(b"\x00" * 6, 16000, 2, at=0.0)
    with pytest.raises(ValueError):
        SpeechDetector(aggressiveness=4)
    with pytest.raises(ValueError):
        SpeechDetector(frame_ms=25)


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed")
def test_spoken_sentence(tmp_path: Path) -> None:
    wav = tmp_path / "sentence.wav"
    subprocess.run(
        [
            "espeak-ng",
            "-w",
            str(wav),
            "Please show the room to the camera, then put your phone away and begin the exam.",
        ],
        check=True,
    )
    with wave.open(str(wav)) as reader:
        rate = reader.getframerate()
        spoken = np.frombuffer(reader.readframes(reader.getnframes()), "<i2").astype(np.float64)
    # espeak-ng speaks at 22,050 Hz, which WebRTC does not take: resample to 16 kHz.
    length = len(spoken) * 16000 // rate
    spoken = np.interp(np.arange(length) * rate / 16000, np.arange(len(spoken)), spoken)
    loud = np.flatnonzero(np.abs(spoken) > 0.02 * np.abs(spoken).max())
    begins, ends = 2 + loud[0] / 16000, 2 + loud[-1] / 16000
    audio = np.concatenate([silence(16000, 2), spoken, silence(16000, 2)])
    audio += noise(16000, len(audio) / 16000, rms=100)
    (segment,) = detect_speech(pcm(audio), 16000)
    assert segment.start == pytest.approx(begins, abs=0.1)
    assert segment.end == pytest.approx(ends, abs=0.2)
