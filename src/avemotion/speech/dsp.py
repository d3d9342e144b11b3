"""The few signal-processing steps inference needs, in numpy: STFT, mel filters, MFCC, deltas, trimming.

They reproduce librosa's definitions (librosa 0.11: ``stft`` with a periodic Hann window and zero
padding, Slaney mel filters, ``effects.trim``, ``feature.mfcc``, ``feature.delta``,
``feature.zero_crossing_rate``) so the models trained on librosa features read the same numbers,
without importing librosa, scipy or numba at inference: those cost seconds of start-up and
hundreds of megabytes of install. ``tests/test_features.py`` compares each with librosa on real
clips; training may still use librosa for features the shipped models do not read.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np


def frame(y: np.ndarray, length: int, hop: int) -> np.ndarray:
    """Overlapping frames of a 1-D signal as a read-only view, shape (n_frames, length)."""
    return np.lib.stride_tricks.sliding_window_view(y, length)[::hop]


@lru_cache(maxsize=8)
def hann(win_length: int, n_fft: int) -> np.ndarray:
    """Periodic Hann window of ``win_length``, zero-padded to ``n_fft`` in the centre (librosa's)."""
    w = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(win_length) / win_length)
    left = (n_fft - win_length) // 2
    out = np.zeros(n_fft)
    out[left : left + win_length] = w
    out.setflags(write=False)
    return out


def power_spectrogram(y: np.ndarray, n_fft: int, hop_length: int, win_length: int | None = None) -> np.ndarray:
    """|STFT|² of ``y``, shape (1 + n_fft // 2, frames), frames centred (zero padding at the ends)."""
    y = np.pad(np.asarray(y, dtype=np.float32), n_fft // 2)
    frames = frame(y, n_fft, hop_length) * hann(win_length or n_fft, n_fft).astype(np.float32)
    spec = np.fft.rfft(frames, axis=1)
    return (spec.real**2 + spec.imag**2).T.astype(np.float32)


def _hz_to_mel(f: np.ndarray) -> np.ndarray:
    """Slaney's mel scale: linear below 1 kHz, logarithmic above."""
    f = np.asarray(f, dtype=np.float64)
    mel = f / (200.0 / 3)
    log_part = f >= 1000.0
    return np.where(log_part, 15.0 + np.log(np.maximum(f, 1e-9) / 1000.0) / (np.log(6.4) / 27.0), mel)


def _mel_to_hz(m: np.ndarray) -> np.ndarray:
    m = np.asarray(m, dtype=np.float64)
    return np.where(m >= 15.0, 1000.0 * np.exp((np.log(6.4) / 27.0) * (m - 15.0)), m * (200.0 / 3))


@lru_cache(maxsize=8)
def mel_filters(sr: int, n_fft: int, n_mels: int, fmin: float = 0.0, fmax: float | None = None) -> np.ndarray:
    """Triangular Slaney-normalised mel filter bank, shape (n_mels, 1 + n_fft // 2), float32."""
    fmax = sr / 2 if fmax is None else fmax
    fft_hz = np.linspace(0, sr / 2, 1 + n_fft // 2)
    lo, hi = _hz_to_mel(np.array([fmin, fmax], np.float64))
    mel_hz = _mel_to_hz(np.linspace(lo, hi, n_mels + 2))
    width = np.diff(mel_hz)
    ramps = mel_hz[:, None] - fft_hz[None, :]
    lower = -ramps[:-2] / width[:-1, None]
    upper = ramps[2:] / width[1:, None]
    weights = np.maximum(0, np.minimum(lower, upper)) * (2.0 / (mel_hz[2:] - mel_hz[:-2]))[:, None]
    weights = weights.astype(np.float32)
    weights.setflags(write=False)
    return weights


@lru_cache(maxsize=4)
def _dct_matrix(n_in: int, n_out: int) -> np.ndarray:
    """Orthonormal DCT-II basis, shape (n_out, n_in)."""
    k = np.arange(n_out)[:, None]
    n = np.arange(n_in)[None, :]
    basis = np.cos(np.pi * k * (2 * n + 1) / (2 * n_in)) * np.sqrt(2.0 / n_in)
    basis[0] /= np.sqrt(2.0)
    return basis


def mfcc(log_mel: np.ndarray, n_mfcc: int = 20) -> np.ndarray:
    """MFCC of a log-mel spectrogram (n_mels, T): its orthonormal DCT-II over the bands."""
    return (_dct_matrix(log_mel.shape[0], n_mfcc) @ log_mel).astype(log_mel.dtype)


def delta(x: np.ndarray, width: int = 5) -> np.ndarray:
    """First-order deltas along time (rows of ``x``): the slope of a least-squares line through
    ``width`` frames, ends extended with the nearest frame (Savitzky-Golay, order 1)."""
    half = width // 2
    padded = np.pad(x, ((0, 0), (half, half)), mode="edge")
    k = np.arange(-half, half + 1)
    t = x.shape[1]
    out = np.zeros(padded[:, :t].shape, padded.dtype)
    for j in k[k != 0]:
        out += float(j) * padded[:, half + j : half + j + t]
    return (out / float((k**2).sum())).astype(x.dtype)


def zero_crossing_rate(y: np.ndarray, frame_length: int, hop_length: int) -> np.ndarray:
    """Fraction of sign changes in each centred frame (edges padded by repetition), shape (frames,)."""
    y = np.pad(np.asarray(y, dtype=np.float32), frame_length // 2, mode="edge")
    y = np.where(np.abs(y) <= 1e-10, 0.0, y)
    frames = frame(y >= 0, frame_length, hop_length)
    return np.concatenate([np.zeros((len(frames), 1)), frames[:, 1:] != frames[:, :-1]], axis=1).mean(axis=1)


def trim(y: np.ndarray, top_db: float, frame_length: int, hop_length: int) -> np.ndarray:
    """``y`` without the leading and trailing frames quieter than ``top_db`` below its loudest frame."""
    padded = np.pad(np.asarray(y, dtype=np.float32), frame_length // 2)
    rms = np.sqrt(np.mean(frame(padded, frame_length, hop_length).astype(np.float64) ** 2, axis=1))
    db = 20 * np.log10(np.maximum(rms, 1e-5)) - 20 * np.log10(max(float(rms.max(initial=0.0)), 1e-5))
    loud = np.flatnonzero(db > -top_db)
    if not loud.size:
        return y[:0]
    return y[loud[0] * hop_length : min(y.size, (loud[-1] + 1) * hop_length)]
