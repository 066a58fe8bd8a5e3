"""Voice activity on synthesised audio: speech is synthesised in the test (voiced sound with a
wandering pitch, harmonics shaped by vowel formants and syllable-rate loudness), which WebRTC's
detector takes for speech exactly as it does a recorded voice. When ``espeak-ng`` is installed, a
spoken sentence is checked as well.
"""

from __future__ import annotations

import shutil
import subprocess
import wave
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray

from proctoring.voice import SpeechChange, SpeechDetector, SpeechSegment, detect_speech

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
