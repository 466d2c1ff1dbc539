"""Sounds for the alignment tests and bench/bench_align.py: a model's sound, and takes of it
shifted by a known offset, quieter or louder, over noise, starting and ending elsewhere,
recorded against the model played slower; written into real videos by FFmpeg."""

from __future__ import annotations

import subprocess
import wave
from pathlib import Path

import numpy as np

RATE = 16000  # samples per second of the generated sound


def phrase(seconds: float, seed: int) -> np.ndarray:
    """A tune that never repeats: notes of random pitch, length and loudness, with the odd
    percussive click, as a model video of a dance or an instrument might sound."""
    rng = np.random.default_rng(seed)
    out = np.zeros(round(seconds * RATE), dtype=np.float64)
    at = 0.0
    while at < seconds:
        length = rng.uniform(0.08, 0.45)
        n = round(length * RATE)
        start = round(at * RATE)
        t = np.arange(n) / RATE
        pitch = 110 * 2 ** (rng.integers(0, 36) / 12)
        note = np.sin(2 * np.pi * pitch * t) + 0.4 * np.sin(4 * np.pi * pitch * t)
        note *= np.exp(-t * rng.uniform(3, 12)) * rng.uniform(0.3, 1.0)
        if rng.random() < 0.25:
            note[: RATE // 100] += rng.normal(0, 0.8, RATE // 100)[: len(note)]
        out[start : start + n] += note[: len(out) - start]
        at += length + rng.uniform(0.0, 0.15)
    return out / np.abs(out).max() * 0.5


def noise(seconds: float, seed: int, level: float) -> np.ndarray:
    return np.random.default_rng(seed).normal(0, level, round(seconds * RATE))


def take_of(
    source: np.ndarray,
    offset: float,
    seconds: float,
    *,
    gain: float = 1.0,
    noise_level: float = 0.0,
    seed: int = 0,
) -> np.ndarray:
    """``seconds`` of a take whose time 0 is the source's ``offset`` (before the source
    starts when negative: the student pressed record first), at ``gain``, over noise."""
    shift = round(offset * RATE)
    length = round(seconds * RATE)
    out = np.zeros(length)
    begin, end = max(shift, 0), min(shift + length, len(source))
    if end > begin:
        out[begin - shift : end - shift] = source[begin:end]
    return out * gain + noise(seconds, seed + 1, noise_level)


def write_wav(path: Path, samples: np.ndarray) -> Path:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())
    return path


def video_with_sound(
    path: Path, samples: np.ndarray | None, seconds: float, *, tempo: float = 1.0
) -> Path:
    """An H.264/AAC MP4 of ``seconds`` whose sound is ``samples`` (None: no sound track),
    slowed to ``tempo`` with its pitch kept (``atempo``, as a browser plays at 0.5x)."""
    picture = ["-f", "lavfi", "-i", f"testsrc2=size=320x240:rate=25:duration={seconds}"]
    sound, audio = [], ["-an"]
    if samples is not None:
        wav = write_wav(path.with_suffix(".wav"), samples)
        sound = ["-i", str(wav)]
        audio = [
            "-filter:a",
            f"atempo={tempo}",
            "-c:a",
            "aac",
            "-ar",
            "48000",
            "-b:a",
            "96k",
            "-t",
            str(seconds),
        ]
    subprocess.run(
        [
            *("ffmpeg", "-v", "error", "-y", "-nostdin", *picture, *sound),
            *("-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", *audio),
            str(path),
        ],
        check=True,
        timeout=120,
    )
    if samples is not None:
        path.with_suffix(".wav").unlink()
    return path
