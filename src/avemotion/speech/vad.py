"""Voice-activity detection: where in a signal someone is speaking.

Uses Silero VAD (MIT), a small recurrent network that ships with avemotion as ONNX. Unlike an
energy gate it tells speech from music, noise and silence, so a music-only soundtrack comes out
as "no speech" instead of being classified as an emotion.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..bundles import shared_bundle
from ..media import SAMPLE_RATE

FRAME = 512  # 32 ms at 16 kHz
CONTEXT = 64


@dataclass(frozen=True)
class VADConfig:
    """Thresholds that turn per-frame speech probabilities into segments."""

    threshold: float = 0.5  # a segment starts where the speech probability reaches this...
    hysteresis: float = 0.15  # ...and goes on while it stays above threshold - hysteresis (Silero's rule)
    min_speech: float = 0.25  # s; shorter bursts are dropped
    min_silence: float = 0.30  # s; shorter gaps are bridged
    pad: float = 0.10  # s added on both sides of a segment
    #: Silero's network under-rates loud, shouted speech (RAVDESS's strong angry, happy and fearful
    #: clips: peak probability 0.2-0.7, runs shorter than ``min_speech``). When nothing is found at the
    #: signal's own level, the frame-wise maximum over these quieter copies is used instead.
    retry_gains: tuple[float, ...] = (0.3, 0.1)
    #: Then slowed copies (×1.5, ×2: every frequency, the voice's pitch too, divided by that): a
    #: shout's 400-600 Hz fundamental falls into the range of the speech Silero learned from, and
    #: the shouted RAVDESS lines it missed are found; music and near-silence stayed "no speech"
    #: (benchmarks/vad_coverage.py). Segments are mapped back to the original timeline.
    retry_slower: tuple[float, ...] = (1.5, 2.0)
    retry_slower_max_s: float = 120.0  # only clips this long or shorter (the copies cost time and memory)


def _session():
    return shared_bundle("silero_vad", threads=1).session


def speech_probabilities(y: np.ndarray, block: int = 512) -> np.ndarray:
    """Speech probability per 32 ms frame of a 16 kHz signal (shape (ceil(len/512),))."""
    return VADStream(block).feed(y, last=True)


class VADStream:
    """Silero VAD over a signal that arrives in pieces: the same probabilities as one call on the
    whole signal, with memory bounded by the piece (the network's state and the last frame's
    context carry over; a piece's incomplete last frame waits for the next)."""

    def __init__(self, block: int = 512) -> None:
        self.block = block
        self.h = np.zeros((1, 1, 128), np.float32)
        self.c = np.zeros((1, 1, 128), np.float32)
        self.context = np.zeros(CONTEXT, np.float32)
        self.rest = np.zeros(0, np.float32)

    def feed(self, y: np.ndarray, last: bool = False) -> np.ndarray:
        """Probabilities of the whole frames now complete (with ``last``, the final one zero-padded)."""
        y = np.concatenate([self.rest, np.asarray(y, dtype=np.float32).reshape(-1)])
        n = (y.size + FRAME - 1) // FRAME if last else y.size // FRAME
        self.rest = np.zeros(0, np.float32) if last else y[n * FRAME :]
        if n == 0:
            return np.zeros(0, np.float32)
        frames = np.zeros((n, FRAME), np.float32)
        frames.reshape(-1)[: min(y.size, n * FRAME)] = y[: n * FRAME]
        context = np.empty((n, CONTEXT), np.float32)
        context[0] = self.context
        context[1:] = frames[:-1, -CONTEXT:]
        self.context = frames[-1, -CONTEXT:].copy()
        x = np.concatenate([context, frames], axis=1)
        sess = _session()
        out = []
        for s in range(0, n, self.block):
            probs, self.h, self.c = sess.run(None, {"input": x[s : s + self.block], "h": self.h, "c": self.c})
            out.append(probs.reshape(-1))
        return np.concatenate(out).astype(np.float32)


def speech_segments(
    y: np.ndarray, sr: int = SAMPLE_RATE, cfg: VADConfig = VADConfig(), probs: np.ndarray | None = None
) -> list[tuple[float, float]]:
    """Speech segments ``[(start_s, end_s), ...]`` of a 16 kHz signal; empty for no speech."""
    if sr != SAMPLE_RATE:
        raise ValueError(f"VAD runs at {SAMPLE_RATE} Hz, got {sr}")
    p = speech_probabilities(y) if probs is None else probs
    found = segments_of(p, len(y) / SAMPLE_RATE, cfg)
    if found or not cfg.retry_gains or not np.any(y):
        return found
    quieter = np.max([p, *(speech_probabilities(np.asarray(y, np.float32) * g) for g in cfg.retry_gains)], axis=0)
    found = segments_of(quieter, len(y) / SAMPLE_RATE, cfg)
    slower = cfg.retry_slower if not found and len(y) <= cfg.retry_slower_max_s * SAMPLE_RATE else ()
    for factor in slower:
        slow = slowed(y, factor)
        found = [
            (round(s / factor, 3), round(e / factor, 3))
            for s, e in segments_of(speech_probabilities(slow), len(slow) / SAMPLE_RATE, cfg)
        ]
        if found:
            break
    return found


def slowed(y: np.ndarray, factor: float) -> np.ndarray:
    """``y`` played ``factor`` times slower at the same sample rate: pitch and every frequency divided
    by ``factor``.

    Linear interpolation on purpose, not :func:`avemotion.media.resample`: its gentle roll-off of
    the top octave keeps the hiss of a near-silent track (loudness-normalised up to speech level)
    from reading as speech; with soxr's flat response the near-silence of single_face.mp4 became a
    segment in benchmarks/vad_coverage.py.
    """
    n = int(len(y) * factor)
    return np.interp(np.arange(n) / factor, np.arange(len(y)), np.asarray(y, np.float64)).astype(np.float32)


def segments_of(p: np.ndarray, duration: float, cfg: VADConfig) -> list[tuple[float, float]]:
    """Per-frame speech probabilities → padded segments in seconds."""
    hop = FRAME / SAMPLE_RATE
    segs: list[list[float]] = []
    start = None
    for i, v in enumerate(np.append(p, 0.0)):
        if start is None and v >= cfg.threshold:
            start = i
        elif start is not None and v < cfg.threshold - cfg.hysteresis:
            segs.append([start * hop, i * hop])
            start = None
    merged: list[list[float]] = []
    for s in segs:
        if merged and s[0] - merged[-1][1] < cfg.min_silence:
            merged[-1][1] = s[1]
        else:
            merged.append(s)
    return [
        (round(max(0.0, s - cfg.pad), 3), round(min(duration, e + cfg.pad), 3))
        for s, e in merged
        if e - s >= cfg.min_speech
    ]
