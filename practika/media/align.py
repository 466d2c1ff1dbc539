"""Lining a take up with its model video by their sound.

FFmpeg decodes a short mono 8 kHz track of each (only the window that matters: the clip the
take was recorded against, with a margin, and the take's first minute), numpy turns each
into an onset envelope (spectral flux, 100 frames a second) and cross-correlates the two by
FFT. Envelopes rather than waveforms: a browser playing the model at 0.5x keeps its pitch,
so the take hears the model's onsets spread out in time but not its waveform; and onsets do
not care how loud either recording is, or about a steady hum or hiss under them.

A moment ``t`` of the take shows what the model shows at ``offset + rate * t``. The score is
the correlation peak's standard score over every lag tried: a take with the model's sound in
it stands far out of the spread, one without does not.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import ffmpeg
import numpy as np

from practika.media.inputs import open_input
from practika.media.probe import probe
from practika.media.run import run_tool_bytes

SAMPLE_RATE = 8000
FRAME_RATE = 100  # envelope frames per second: 10 ms steps, refined between them
WINDOW = 256  # samples per spectrum (32 ms)
BANDS = 24  # log-spaced bands of pitches from 62 Hz to 4 kHz
SMOOTH_FRAMES = 3
COMPRESSION = 100
MARGIN_SECONDS = 5.0  # of the model on either side of the clip: a take started early or late
MAX_TAKE_SECONDS = 60.0  # of the take: a minute finds the offset as well as an hour would
MAX_MODEL_SECONDS = 600.0  # of the model: its start, or the clip's window, at most
CHUNK_FRAMES = 2048  # spectra made at once: 2 MB of float32 samples, whatever the length
MIN_OVERLAP_SECONDS = 2.0  # lags where the two share less than this are not tried
SILENCE_RMS = 10 ** (-60 / 20)  # -60 dBFS: nothing to hear
DECODE_TIMEOUT = 60
# The standard score a match must reach to be trusted, from bench/bench_align.py: 40 takes
# with the model's sound (noise 6-20 dB under it, some at 0.5x) scored 9.7 and more (median
# 14), 10 with none of it at most 7.1 (median 4.9). A short take scores lower.
SURE_SCORE = 8.0


@dataclass(frozen=True)
class Match:
    """Where the take sits on the model: model seconds at take time 0, and the score."""

    offset_sec: float
    confidence: float

    @property
    def is_sure(self) -> bool:
        return self.confidence >= SURE_SCORE


def read_sound(
    path: Path,
    *,
    start: float = 0.0,
    seconds: float,
    ffmpeg_binary: str = "ffmpeg",
    ffprobe: str = "ffprobe",
    timeout: float = DECODE_TIMEOUT,
) -> np.ndarray | None:
    """``seconds`` of the file's first sound track from ``start``, mono at SAMPLE_RATE, as
    floats in -1..1; None when the file has no sound track."""
    if probe(path, ffprobe=ffprobe).audio_stream is None:
        return None
    source = open_input(path, ss=max(start, 0.0), t=seconds)
    args = (
        ffmpeg.output(source["a:0"], "pipe:1", f="s16le", ac=1, ar=SAMPLE_RATE)
        .global_args("-hide_banner", "-loglevel", "error", "-nostdin")
        .compile(cmd=ffmpeg_binary)
    )
    raw = run_tool_bytes(args, timeout=timeout)
    return np.frombuffer(raw[: len(raw) // 2 * 2], dtype="<i2").astype(np.float32) / 32768


def envelope(samples: np.ndarray) -> np.ndarray | None:
    """The onset envelope at FRAME_RATE: how much louder each band of pitches got from one
    frame to the next, summed over BANDS bands (wide enough to average hiss away), on a log
    scale (so loudness does not count), smoothed over SMOOTH_FRAMES, centred and scaled to
    unit spread. None for silence."""
    hop = SAMPLE_RATE // FRAME_RATE
    if len(samples) < WINDOW + hop or np.sqrt(np.mean(samples**2)) < SILENCE_RMS:
        return None
    frames = np.lib.stride_tricks.sliding_window_view(samples, WINDOW)[::hop]
    window = np.hanning(WINDOW).astype(np.float32)
    edges = np.unique(np.geomspace(2, WINDOW // 2 + 1, BANDS + 1).astype(int))[:-1]
    # A chunk of frames at a time: ten minutes of spectra at once would take 250 MB.
    bands = np.concatenate(
        [
            np.add.reduceat(np.abs(np.fft.rfft(chunk * window, axis=1)) ** 2, edges, axis=1)
            for chunk in (
                frames[first : first + CHUNK_FRAMES]
                for first in range(0, len(frames), CHUNK_FRAMES)
            )
        ]
    )
    level = np.log1p(COMPRESSION * bands / (np.percentile(bands, 99) or 1.0))
    flux = np.maximum(np.diff(level, axis=0), 0).sum(axis=1)
    flux = np.convolve(flux, np.ones(SMOOTH_FRAMES) / SMOOTH_FRAMES, mode="same")
    spread = flux.std()
    if spread == 0:
        return None
    return (flux - flux.mean()) / spread


def correlate(take: np.ndarray, model: np.ndarray, *, rate: float = 1.0) -> Match | None:
    """Where envelope ``take`` sits on envelope ``model`` (both at FRAME_RATE): model seconds
    from the model envelope's start at take time 0, scored; None when they cannot overlap by
    MIN_OVERLAP_SECONDS. ``rate`` is the speed the model played at while the take was made:
    the model's envelope is stretched by 1 / rate onto the take's clock first."""
    if rate != 1.0:
        clock = np.arange(0, (len(model) - 1) / rate, 1.0)
        model = np.interp(clock * rate, np.arange(len(model)), model)
    min_overlap = round(MIN_OVERLAP_SECONDS * FRAME_RATE)
    if min(len(take), len(model)) < min_overlap:
        return None
    size = 1 << (len(take) + len(model) - 1).bit_length()
    # scores[k] = sum over t of take[t] * model[t + k]; negative k wrap to the end.
    scores = np.fft.irfft(np.conj(np.fft.rfft(take, size)) * np.fft.rfft(model, size), size)
    lags = np.arange(-(len(take) - min_overlap), len(model) - min_overlap + 1)
    tried = scores[lags % size]
    best = int(np.argmax(tried))
    spread = tried.std()
    if spread == 0:
        return None
    lag = lags[best] + _parabola(tried, best)
    return Match(
        offset_sec=float(lag * rate / FRAME_RATE),
        confidence=float((tried[best] - tried.mean()) / spread),
    )


def _parabola(values: np.ndarray, peak: int) -> float:
    """The peak's position between samples, from the parabola through it and its neighbours."""
    if peak == 0 or peak == len(values) - 1:
        return 0.0
    left, centre, right = values[peak - 1], values[peak], values[peak + 1]
    bend = left - 2 * centre + right
    return float(0.5 * (left - right) / bend) if bend < 0 else 0.0


def align(
    take: Path,
    model: Path,
    *,
    rate: float = 1.0,
    clip: tuple[float, float] | None = None,
    ffmpeg_binary: str = "ffmpeg",
    ffprobe: str = "ffprobe",
) -> Match | None:
    """Where ``take`` sits on ``model`` (model seconds at take time 0, in the model's own
    timeline), recorded against ``clip`` (start, end seconds of the model) at ``rate``; None
    when either has no sound, or only silence."""
    take_seconds = MAX_TAKE_SECONDS
    if clip is None:
        start, seconds = 0.0, MAX_MODEL_SECONDS
    else:
        start = max(clip[0] - MARGIN_SECONDS, 0.0)
        seconds = min(clip[1] + MARGIN_SECONDS - start, MAX_MODEL_SECONDS)
        # A take recorded against a looping clip holds it several times over, each an
        # equally good match: its first pass is the one the take's clock starts with.
        take_seconds = min(take_seconds, (clip[1] - clip[0]) / rate + MARGIN_SECONDS)
    tools = {"ffmpeg_binary": ffmpeg_binary, "ffprobe": ffprobe}
    take_sound = read_sound(take, seconds=take_seconds, **tools)
    if take_sound is None or (take_envelope := envelope(take_sound)) is None:
        return None
    model_sound = read_sound(model, start=start, seconds=seconds, **tools)
    if model_sound is None or (model_envelope := envelope(model_sound)) is None:
        return None
    match = correlate(take_envelope, model_envelope, rate=rate)
    if match is None:
        return None
    return Match(match.offset_sec + start, match.confidence)
