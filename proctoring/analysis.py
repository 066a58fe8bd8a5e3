"""Analysis of proctoring media: faces in camera frames, identity, and speech in microphone audio.

Pure functions and small stateful helpers; nothing here touches the database or HTTP. Image work
is CPU-bound and meant to run in a thread pool:

- ``decode_image`` turns uploaded bytes into a BGR image, refusing what is not a JPEG or PNG
  photo of a sane size (a ``VaktError`` with status 422).
- ``HaarFaceDetector`` and ``DlibFaceDetector`` count faces (the ``FaceDetector`` protocol). An
  instance may be shared between threads: each thread lazily gets its own native detector.
- ``FaceIdentifier`` computes dlib's 128-number face descriptor; ``face_distance`` and ``match``
  compare two of them. The models are loaded once per process, on first use.
- ``analyze_frame`` does the per-frame check of a sampled video frame: how many faces, and the
  distance to the candidate's reference descriptor when exactly one face is seen.
- ``SpeechDetector`` follows a PCM audio stream and reports when speaking starts and stops.

OpenCV parallelises some calls over its own threads; a caller running many frames in a thread
pool may prefer ``cv2.setNumThreads(1)`` so that the two do not compete for the same cores.
"""

from __future__ import annotations

import math
import struct
import threading
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final, Protocol, cast

import cv2
import dlib
import face_recognition_models
import numpy as np
import webrtcvad
from numpy.typing import NDArray

from vakt.errors import VaktError
from vakt.i18n import _l

__all__ = [
    "DEFAULT_MATCH_THRESHOLD",
    "DESCRIPTOR_SIZE",
    "MAX_IMAGE_PIXELS",
    "DlibFaceDetector",
    "FaceBox",
    "FaceDescription",
    "FaceDetector",
    "FaceIdentifier",
    "FrameResult",
    "HaarFaceDetector",
    "SpeechChange",
    "SpeechDetector",
    "SpeechSegment",
    "analyze_frame",
    "decode_image",
    "detect_speech",
    "face_distance",
    "match",
]

Image = NDArray[np.uint8]
Descriptor = Sequence[float] | NDArray[np.floating[Any]]

# A 50-megapixel photo is 150 MB once decoded; anything larger is not a camera frame or an ID
# photo, and decoding it would only let an upload tie up memory.
MAX_IMAGE_PIXELS: Final = 50_000_000

DESCRIPTOR_SIZE: Final = 128

# dlib's documented operating point for its face descriptor: pairs of one person are at most this
# far apart (99.38 % on LFW). Test photos: same person 0.36-0.41, others 0.81-0.88.
DEFAULT_MATCH_THRESHOLD: Final = 0.6


# ---------------------------------------------------------------------------------------------
# Decoding


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


# ---------------------------------------------------------------------------------------------
# Image helpers


def _check_image(image: Image) -> None:
    if image.dtype != np.uint8 or not (
        image.ndim == 2 or (image.ndim == 3 and image.shape[2] == 3)
    ):
        raise ValueError("expected a BGR (height x width x 3) or grey uint8 image")
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise ValueError("the image is empty")


def _grey(image: Image) -> Image:
    if image.ndim == 2:
        return image
    return cast(Image, cv2.cvtColor(image, cv2.COLOR_BGR2GRAY))


def _rgb(image: Image) -> Image:
    code = cv2.COLOR_GRAY2RGB if image.ndim == 2 else cv2.COLOR_BGR2RGB
    return cast(Image, cv2.cvtColor(image, code))


def _shrink(image: Image, max_side: int) -> tuple[Image, float]:
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


# ---------------------------------------------------------------------------------------------
# Face detection


@dataclass(frozen=True, slots=True)
class FaceBox:
    """A face's bounding box in image pixels; ``right`` and ``bottom`` are exclusive."""

    left: int
    top: int
    right: int
    bottom: int

    @property
    def width(self) -> int:
        """Width in pixels."""
        return self.right - self.left

    @property
    def height(self) -> int:
        """Height in pixels."""
        return self.bottom - self.top

    def scaled(self, factor: float) -> FaceBox:
        """The box with every coordinate multiplied by ``factor`` (rounded)."""
        return FaceBox(
            round(self.left * factor),
            round(self.top * factor),
            round(self.right * factor),
            round(self.bottom * factor),
        )


class FaceDetector(Protocol):
    """Finds the faces in an image."""

    def detect(self, image_bgr: Image) -> list[FaceBox]:
        """The faces in a BGR (or grey) image, in its pixel coordinates."""
        ...


class HaarFaceDetector:
    """OpenCV's Viola-Jones detector (``haarcascade_frontalface_default.xml``).

    The image is scaled down so that its longer side is at most ``max_side`` pixels (the cascade
    is no more accurate on more pixels, and its cost grows with them), and faces smaller than
    ``min_face`` times the shorter side are ignored. The defaults count every test photo right,
    as a 640x480 frame and at its own size, mirrored, darkened, blurred or re-compressed.
    Histogram equalisation is off by default: the cascade normalises each window's contrast
    itself, and equalising the whole frame made it see faces in shirt collars and ties.

    With the defaults a 640x480 frame is scanned at 400x300, and faces from about 58 pixels
    wide (an eighth of the frame's height) are found.

    An instance may be shared between threads: ``cv2.CascadeClassifier`` is not safe for
    concurrent use, so each thread loads its own (about 10 ms, once per thread).
    """

    def __init__(
        self,
        *,
        max_side: int = 400,
        scale_factor: float = 1.2,
        min_neighbors: int = 5,
        min_face: float = 0.12,
        equalize: bool = False,
        cascade_path: str | None = None,
    ) -> None:
        if max_side < 48 or scale_factor <= 1.0 or min_neighbors < 0 or not 0 < min_face < 1:
            raise ValueError("invalid Haar detector parameters")
        self.max_side = max_side
        self.scale_factor = scale_factor
        self.min_neighbors = min_neighbors
        self.min_face = min_face
        self.equalize = equalize
        self.cascade_path = cascade_path or (
            cv2.data.haarcascades  # type: ignore[attr-defined]
            + "haarcascade_frontalface_default.xml"
        )
        self._local = threading.local()
        self._cascade()  # fail here, not in a worker, when the file is missing

    def _cascade(self) -> cv2.CascadeClassifier:
        cascade: cv2.CascadeClassifier | None = getattr(self._local, "cascade", None)
        if cascade is None:
            cascade = cv2.CascadeClassifier(self.cascade_path)
            if cascade.empty():
                raise RuntimeError(f"cannot load the Haar cascade {self.cascade_path}")
            self._local.cascade = cascade
        return cascade

    def detect(self, image_bgr: Image) -> list[FaceBox]:
        """The faces in a BGR (or grey) image, in its pixel coordinates."""
        _check_image(image_bgr)
        # Scaling the grey image is cheaper than scaling three colour channels.
        grey, factor = _shrink(_grey(image_bgr), self.max_side)
        if self.equalize:
            grey = cast(Image, cv2.equalizeHist(grey))
        smallest = max(24, round(min(grey.shape[:2]) * self.min_face))
        if smallest > min(grey.shape[:2]):
            return []
        found = self._cascade().detectMultiScale(
            grey,
            scaleFactor=self.scale_factor,
            minNeighbors=self.min_neighbors,
            minSize=(smallest, smallest),
        )
        return [
            FaceBox(int(x), int(y), int(x + w), int(y + h)).scaled(factor) for x, y, w, h in found
        ]


_dlib_local = threading.local()


def _hog_detector() -> Any:
    # dlib's object detectors are not safe for concurrent use (their documentation says so), but
    # they release the GIL while scanning, so one per thread runs in parallel.
    detector = getattr(_dlib_local, "detector", None)
    if detector is None:
        detector = dlib.get_frontal_face_detector()
        _dlib_local.detector = detector
    return detector


class DlibFaceDetector:
    """dlib's HOG + linear SVM frontal face detector.

    Its 80x80 window finds faces from about 55 pixels wide in the image it scans; ``upsample``
    doubles the image that many times first (finding faces half as big each time, at about four
    times the cost). Images are first scaled down to at most ``max_side`` pixels on the longer
    side. With the defaults (640, no upsampling) a 640x480 frame is scanned as is, and every
    test photo is counted right.

    An instance may be shared between threads: each thread gets its own dlib detector, built on
    its first call (about 0.25 s). The scan releases the GIL, so threads run in parallel.
    """

    def __init__(self, *, max_side: int = 640, upsample: int = 0, threshold: float = 0.0) -> None:
        if max_side < 80 or upsample not in (0, 1, 2):
            raise ValueError("invalid dlib detector parameters")
        self.max_side = max_side
        self.upsample = upsample
        self.threshold = threshold

    def detect(self, image_bgr: Image) -> list[FaceBox]:
        """The faces in a BGR (or grey) image, in its pixel coordinates."""
        _check_image(image_bgr)
        small, factor = _shrink(image_bgr, self.max_side)
        return [box.scaled(factor) for box in self._detect_scaled(small)]

    def _detect_scaled(self, image_bgr: Image) -> list[FaceBox]:
        rectangles, _scores, _kinds = _hog_detector().run(
            _rgb(image_bgr), self.upsample, self.threshold
        )
        height, width = image_bgr.shape[:2]
        # dlib's rectangles are inclusive and may reach past the edges for faces at the border.
        return [
            FaceBox(
                max(0, int(r.left())),
                max(0, int(r.top())),
                min(width, int(r.right()) + 1),
                min(height, int(r.bottom()) + 1),
            )
            for r in rectangles
        ]


# ---------------------------------------------------------------------------------------------
# Identity


@dataclass(frozen=True, slots=True)
class FaceDescription:
    """What ``FaceIdentifier.describe`` saw: how many faces, and for exactly one, its descriptor
    (128 numbers) and box."""

    face_count: int
    box: FaceBox | None = None
    descriptor: tuple[float, ...] | None = None

    def to_list(self) -> list[float] | None:
        """The descriptor as a JSON-friendly list, or None when there is none."""
        return None if self.descriptor is None else list(self.descriptor)


class _Models:
    def __init__(self) -> None:
        self.shape_predictor: Any = dlib.shape_predictor(
            face_recognition_models.pose_predictor_five_point_model_location()
        )
        self.encoder: Any = dlib.face_recognition_model_v1(
            face_recognition_models.face_recognition_model_location()
        )
        # The encoder is a dlib neural network, whose buffers are not safe for concurrent use; it
        # holds the GIL while it runs anyway, so serialising it costs no parallelism.
        self.encoder_lock = threading.Lock()


_models: _Models | None = None
_models_lock = threading.Lock()


def _load_models() -> _Models:
    global _models
    if _models is None:
        with _models_lock:
            if _models is None:
                _models = _Models()
    return _models


def _as_descriptor(value: Descriptor) -> NDArray[np.float64]:
    array = np.asarray(value, dtype=np.float64)
    if array.shape != (DESCRIPTOR_SIZE,):
        raise ValueError(f"a face descriptor has {DESCRIPTOR_SIZE} numbers, not {array.shape}")
    return array


def face_distance(a: Descriptor, b: Descriptor) -> float:
    """The Euclidean distance between two face descriptors (0 for the same picture)."""
    return float(np.linalg.norm(_as_descriptor(a) - _as_descriptor(b)))


def match(distance: float, threshold: float = DEFAULT_MATCH_THRESHOLD) -> bool:
    """Whether two descriptors this far apart are taken to be the same person."""
    return distance <= threshold


class FaceIdentifier:
    """Computes dlib's face descriptor (ResNet, 128 numbers) for the one face in an image.

    The face is found with dlib's HOG detector (the landmark model was trained on its boxes),
    the five landmarks align it, and the network describes it. The models (~30 MB) are loaded
    once per process, on the first ``describe`` or by ``load()`` (0.12 s on the benchmark
    machine; each thread's first detection also builds its HOG detector, 0.3 s).

    An instance may be shared between threads. The network runs one face at a time, and it holds
    the GIL while it does (about 75 ms a face on the benchmark machine): every other Python
    thread of the process, an event loop included, waits that long. Where that matters, describe
    faces in another process.
    """

    def __init__(self, *, detector: DlibFaceDetector | None = None, num_jitters: int = 0) -> None:
        # num_jitters > 0 describes that many randomly shifted copies and averages them: a
        # little more stable, proportionally slower.
        if num_jitters < 0:
            raise ValueError("num_jitters must not be negative")
        self.detector = detector or DlibFaceDetector()
        self.num_jitters = num_jitters

    @staticmethod
    def load() -> None:
        """Load the models now rather than on the first ``describe``."""
        _load_models()

    def describe(self, image_bgr: Image, box: FaceBox | None = None) -> FaceDescription:
        """Find the faces in a BGR image and describe the face when there is exactly one.

        ``box`` (in the image's coordinates) skips detection: it is taken as the only face.
        The landmark model was trained on dlib's boxes; boxes from ``HaarFaceDetector`` frame
        the face a little differently, which moved the test photos' descriptors by at most 0.07
        (against a 0.6 threshold), so they may be passed too.
        """
        _check_image(image_bgr)
        models = _load_models()
        small, factor = _shrink(image_bgr, self.detector.max_side)
        if box is None:
            boxes = self.detector._detect_scaled(small)
            if len(boxes) != 1:
                return FaceDescription(face_count=len(boxes))
            found = boxes[0]
            box = found.scaled(factor)
        else:
            found = box.scaled(1 / factor)
        rgb = _rgb(small)
        rectangle = dlib.rectangle(found.left, found.top, found.right - 1, found.bottom - 1)
        shape = models.shape_predictor(rgb, rectangle)
        with models.encoder_lock:
            vector = models.encoder.compute_face_descriptor(rgb, shape, self.num_jitters)
        return FaceDescription(
            face_count=1,
            box=box,
            descriptor=tuple(float(value) for value in vector),
        )


@dataclass(frozen=True, slots=True)
class FrameResult:
    """The check of one video frame: the number of faces, and when exactly one face was seen
    and a reference was given, its distance to the reference descriptor."""

    face_count: int
    distance: float | None = None


def analyze_frame(
    image_bgr: Image,
    detector: FaceDetector,
    identifier: FaceIdentifier | None = None,
    reference_descriptor: Descriptor | None = None,
) -> FrameResult:
    """Count the faces in a frame and, when asked, compare the one face with a reference.

    The distance is computed only when ``identifier`` and ``reference_descriptor`` are given
    and ``detector`` sees exactly one face. The box of a ``DlibFaceDetector`` or a
    ``HaarFaceDetector`` is reused; with another detector the identifier looks for the face
    itself, and the distance stays None unless it finds exactly one. Safe to call from worker
    threads.
    """
    boxes = detector.detect(image_bgr)
    if identifier is None or reference_descriptor is None or len(boxes) != 1:
        return FrameResult(face_count=len(boxes))
    hint = boxes[0] if isinstance(detector, DlibFaceDetector | HaarFaceDetector) else None
    description = identifier.describe(image_bgr, box=hint)
    if description.descriptor is None:
        return FrameResult(face_count=len(boxes))
    return FrameResult(
        face_count=len(boxes),
        distance=face_distance(description.descriptor, reference_descriptor),
    )


# ---------------------------------------------------------------------------------------------
# Voice activity


_VAD_SAMPLE_RATES: Final = (8000, 16000, 32000, 48000)


@dataclass(frozen=True, slots=True)
class SpeechChange:
    """Speaking started (``speaking`` True) or stopped, at ``at`` seconds on the caller's clock."""

    speaking: bool
    at: float


@dataclass(frozen=True, slots=True)
class SpeechSegment:
    """A stretch of speech, in seconds on the caller's clock."""

    start: float
    end: float

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return self.end - self.start


class SpeechDetector:
    """Follows one audio stream and reports when someone starts and stops speaking.

    WebRTC's voice activity detector classifies short frames (``frame_ms``: 10, 20 or 30 ms);
    single frames flicker, so speech starts only when at least ``start_ratio`` of the frames in
    the last ``start_window`` seconds are speech, and stops only after ``hangover`` seconds in
    which at most ``stop_ratio`` of the frames were (so that the pauses between words do not
    split a segment). A start is dated at the first speech frame of the window that started it,
    a stop at the end of the last speech frame before the quiet stretch.

    ``aggressiveness`` (0-3) is how readily WebRTC rejects non-speech. The default, 3, rejects
    low noise and still finds speech in over 90 % of the frames of a spoken sentence; louder
    broadband noise (from about -20 dBFS) passes as speech at every setting.

    One instance per stream, used by one thread at a time.
    """

    def __init__(
        self,
        *,
        aggressiveness: int = 3,
        frame_ms: int = 30,
        start_window: float = 0.3,
        start_ratio: float = 0.6,
        hangover: float = 0.6,
        stop_ratio: float = 0.1,
    ) -> None:
        if aggressiveness not in (0, 1, 2, 3):
            raise ValueError("aggressiveness is 0, 1, 2 or 3")
        if frame_ms not in (10, 20, 30):
            raise ValueError("frame_ms is 10, 20 or 30")
        if not (0 < start_ratio <= 1 and 0 <= stop_ratio < start_ratio):
            raise ValueError("need 0 <= stop_ratio < start_ratio <= 1")
        self.aggressiveness = aggressiveness
        self.frame_ms = frame_ms
        self._vad = webrtcvad.Vad(aggressiveness)
        frame_seconds = frame_ms / 1000
        self._start_frames = max(1, round(start_window / frame_seconds))
        self._start_needed = max(1, math.ceil(self._start_frames * start_ratio - 1e-9))
        self._stop_frames = max(1, round(hangover / frame_seconds))
        self._stop_allowed = math.floor(self._stop_frames * stop_ratio + 1e-9)
        self.hangover = hangover
        # (start, end, voiced) of recent frames, enough for both windows.
        self._recent: deque[tuple[float, float, bool]] = deque(
            maxlen=max(self._start_frames, self._stop_frames)
        )
        self._speaking = False
        self._last_speech_end = 0.0
        self._sample_rate = 0
        self._pending = np.zeros(0, dtype=np.int16)
        self._expected_at: float | None = None

    @property
    def speaking(self) -> bool:
        """Whether speech is going on (as of the last frame fed)."""
        return self._speaking

    def feed(self, pcm: bytes, sample_rate: int, channels: int, at: float) -> list[SpeechChange]:
        """Add audio and return the changes it reveals, in order.

        ``pcm`` is signed 16-bit little-endian samples, interleaved when ``channels`` > 1 (they
        are mixed down to mono); ``sample_rate`` is 8000, 16000, 32000 or 48000; ``at`` is when
        the first sample of ``pcm`` was captured, in seconds on the caller's clock. Samples left
        over from the last call are taken to come just before ``at``. A gap longer than the
        hangover ends any speech at its last frame and starts afresh.
        """
        if sample_rate not in _VAD_SAMPLE_RATES:
            raise ValueError(f"the sample rate must be one of {_VAD_SAMPLE_RATES}")
        if channels < 1:
            raise ValueError("channels must be at least 1")
        if len(pcm) % (2 * channels):
            raise ValueError("the audio must hold whole 16-bit samples for every channel")
        samples = np.frombuffer(pcm, dtype="<i2")
        if channels > 1:
            samples = (
                samples.reshape(-1, channels).astype(np.int32).sum(axis=1) // channels
            ).astype(np.int16)

        changes: list[SpeechChange] = []
        gap = self._expected_at is not None and at - self._expected_at > self.hangover
        if gap or sample_rate != self._sample_rate:
            # Leftover samples cannot be joined to audio from after a gap or at another rate.
            changes.extend(self._interrupt())
            self._pending = np.zeros(0, dtype=np.int16)
            self._sample_rate = sample_rate

        buffered = np.concatenate((self._pending, samples.astype(np.int16, copy=False)))
        first = at - len(self._pending) / sample_rate
        frame_length = sample_rate * self.frame_ms // 1000
        frames = len(buffered) // frame_length
        for index in range(frames):
            chunk = buffered[index * frame_length : (index + 1) * frame_length]
            start = first + index * frame_length / sample_rate
            voiced = self._vad.is_speech(chunk.astype("<i2").tobytes(), sample_rate)
            change = self._step(start, start + frame_length / sample_rate, bool(voiced))
            if change is not None:
                changes.append(change)
        self._pending = buffered[frames * frame_length :].copy()
        self._expected_at = at + len(samples) / sample_rate
        return changes

    def finish(self) -> list[SpeechChange]:
        """End of the stream: report the end of any speech still going on, and reset."""
        changes = self._interrupt()
        self._pending = np.zeros(0, dtype=np.int16)
        self._expected_at = None
        return changes

    def _interrupt(self) -> list[SpeechChange]:
        self._recent.clear()
        if not self._speaking:
            return []
        self._speaking = False
        return [SpeechChange(speaking=False, at=self._last_speech_end)]

    def _step(self, start: float, end: float, voiced: bool) -> SpeechChange | None:
        self._recent.append((start, end, voiced))
        if voiced and self._speaking:
            self._last_speech_end = end
        recent = list(self._recent)
        if not self._speaking:
            window = recent[-self._start_frames :]
            if sum(frame[2] for frame in window) < self._start_needed:
                return None
            self._speaking = True
            self._last_speech_end = end
            began = next(frame[0] for frame in window if frame[2])
            return SpeechChange(speaking=True, at=began)
        window = recent[-self._stop_frames :]
        if len(window) < self._stop_frames:
            return None
        if sum(frame[2] for frame in window) > self._stop_allowed:
            return None
        # The window has just turned quiet, so the frame before it was speech; speech frames at
        # its start continue that speech, later ones are strays and do not delay the end.
        ended = window[0][0]
        for _frame_start, frame_end, frame_voiced in window:
            if not frame_voiced:
                break
            ended = frame_end
        self._speaking = False
        self._last_speech_end = ended
        return SpeechChange(speaking=False, at=ended)


def detect_speech(
    pcm: bytes,
    sample_rate: int,
    channels: int = 1,
    *,
    at: float = 0.0,
    aggressiveness: int = 3,
) -> list[SpeechSegment]:
    """The speech segments in a whole recording (PCM s16le), in seconds from ``at``."""
    detector = SpeechDetector(aggressiveness=aggressiveness)
    changes = detector.feed(pcm, sample_rate, channels, at) + detector.finish()
    segments: list[SpeechSegment] = []
    began: float | None = None
    for change in changes:
        if change.speaking:
            began = change.at
        elif began is not None:
            segments.append(SpeechSegment(began, change.at))
            began = None
    return segments
