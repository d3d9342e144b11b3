"""Speech features: the seed's 193 averaged descriptors and log-mel spectrograms.

Both are pure functions of a 16 kHz mono signal, shared by training and inference so the two
cannot drift apart. :func:`extract_many` computes either over many files in parallel with a
progress bar and caches each result on disk, keyed by the file's content and the parameters.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ..media import SAMPLE_RATE, load_audio

#: Sizes of the seed's feature groups, in order: MFCC, chroma, mel, contrast, tonnetz.
SEED_GROUPS: tuple[tuple[str, int], ...] = (("mfcc", 40), ("chroma", 12), ("mel", 128),
                                             ("contrast", 7), ("tonnetz", 6))
SEED_DIM = sum(n for _, n in SEED_GROUPS)  # 193


def seed_features(y: np.ndarray, sr: int = SAMPLE_RATE) -> np.ndarray:
    """The seed's 193 numbers: 40 MFCC, 12 chroma, 128 mel, 7 contrast, 6 tonnetz, time-averaged.

    One STFT serves MFCC, chroma, mel and contrast; tonnetz, as in the seed, is taken from the
    harmonic part of the signal.
    """
    import librosa

    y = _at_least(y, 2048)
    stft = np.abs(librosa.stft(y, n_fft=2048, hop_length=512))
    power = stft ** 2
    mel = librosa.feature.melspectrogram(S=power, sr=sr, n_mels=128)
    mfcc = librosa.feature.mfcc(S=librosa.power_to_db(mel), n_mfcc=40)
    # tuning=0: librosa's tuning estimate (piptrack) crashes the interpreter with numba 0.68 on
    # numpy 2.4 here, and speech needs no tuning to a musical pitch standard anyway.
    chroma = librosa.feature.chroma_stft(S=power, sr=sr, tuning=0.0)
    contrast = librosa.feature.spectral_contrast(S=stft, sr=sr)
    harmonic = librosa.effects.harmonic(y)
    tonnetz = librosa.feature.tonnetz(chroma=librosa.feature.chroma_cqt(y=harmonic, sr=sr, tuning=0.0), sr=sr)
    parts = [mfcc, chroma, mel, contrast, tonnetz]
    return np.concatenate([p.mean(axis=1) for p in parts]).astype(np.float32)


@dataclass(frozen=True)
class LogMelConfig:
    """Parameters of the log-mel front end; stored in every neural model's card."""

    sample_rate: int = SAMPLE_RATE
    n_fft: int = 512
    win_length: int = 400  # 25 ms
    hop_length: int = 160  # 10 ms
    n_mels: int = 64
    fmin: float = 50.0
    fmax: float = 8000.0

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "LogMelConfig":
        return cls(**{k: d[k] for k in cls.__dataclass_fields__ if k in d})


_MEL_BASIS: dict[LogMelConfig, np.ndarray] = {}


def log_mel(y: np.ndarray, cfg: LogMelConfig = LogMelConfig()) -> np.ndarray:
    """Log-mel spectrogram, shape (n_mels, frames), natural log of power + 1e-6.

    Uses one cached mel filter bank per configuration and a plain numpy STFT window so that a
    4-second clip takes a few milliseconds.
    """
    import librosa

    if cfg not in _MEL_BASIS:
        _MEL_BASIS[cfg] = librosa.filters.mel(sr=cfg.sample_rate, n_fft=cfg.n_fft, n_mels=cfg.n_mels,
                                              fmin=cfg.fmin, fmax=cfg.fmax).astype(np.float32)
    y = _at_least(np.asarray(y, dtype=np.float32), max(cfg.n_fft, cfg.win_length))
    spec = librosa.stft(y, n_fft=cfg.n_fft, hop_length=cfg.hop_length, win_length=cfg.win_length,
                        center=True)
    power = (spec.real ** 2 + spec.imag ** 2).astype(np.float32)
    return np.log(_MEL_BASIS[cfg] @ power + 1e-6).astype(np.float32)


def trim_silence(y: np.ndarray, top_db: float = 35.0) -> np.ndarray:
    """Cut leading and trailing parts quieter than ``top_db`` below the peak (keeps the middle)."""
    import librosa

    y = np.asarray(y, dtype=np.float32)
    if y.size < 2048 or not np.any(y):
        return y
    trimmed, _ = librosa.effects.trim(y, top_db=top_db, frame_length=800, hop_length=160)
    return trimmed if trimmed.size >= 1600 else y


def speech_log_mel(y: np.ndarray, cfg: LogMelConfig = LogMelConfig()) -> np.ndarray:
    """The neural speech models' input: log-mel of the signal with silent ends trimmed."""
    return log_mel(trim_silence(y), cfg)


def _at_least(y: np.ndarray, n: int) -> np.ndarray:
    y = np.asarray(y, dtype=np.float32)
    return y if y.size >= n else np.pad(y, (0, n - y.size))


# ---------------------------------------------------------------------------------------------
# Cached, parallel extraction over many files

FEATURE_KINDS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "seed": seed_features,
    "logmel": speech_log_mel,
}


def default_cache_dir() -> Path:
    """Where features are cached: ``$AVEMOTION_CACHE`` or ``~/.cache/avemotion``."""
    root = os.environ.get("AVEMOTION_CACHE") or Path.home() / ".cache" / "avemotion"
    return Path(root) / "features"


def _cache_key(path: Path, kind: str) -> str:
    h = hashlib.sha1()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    params = {"kind": kind, "sr": SAMPLE_RATE, "version": 2}
    if kind == "logmel":
        params["logmel"] = LogMelConfig().to_dict()
    h.update(json.dumps(params, sort_keys=True).encode())
    return h.hexdigest()


def _extract_one(args: tuple[str, str, str | None]) -> np.ndarray:
    path, kind, cache = args
    p = Path(path)
    target = None
    if cache:
        target = Path(cache) / kind / f"{_cache_key(p, kind)}.npy"
        if target.exists():
            return np.load(target, allow_pickle=False)
    feats = FEATURE_KINDS[kind](load_audio(p))
    if target is not None:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(f".{os.getpid()}.tmp.npy")
        np.save(tmp, feats, allow_pickle=False)
        os.replace(tmp, target)
    return feats


def extract_many(paths: Sequence[str | os.PathLike[str]], kind: str = "seed", *,
                 cache_dir: str | os.PathLike[str] | None = "default", workers: int | None = None,
                 progress: bool = True) -> list[np.ndarray]:
    """Features of ``kind`` ("seed" or "logmel") for every path, in order.

    Runs ``workers`` processes (default: all cores), shows a rich progress bar, and caches each
    result under ``cache_dir`` (None: no cache) keyed by file content and parameters, so a
    rerun reads instead of recomputing.
    """
    if kind not in FEATURE_KINDS:
        raise ValueError(f"unknown feature kind {kind!r}; choose from {sorted(FEATURE_KINDS)}")
    cache = str(default_cache_dir()) if cache_dir == "default" else (str(cache_dir) if cache_dir else None)
    jobs = [(str(p), kind, cache) for p in paths]
    workers = workers or os.cpu_count() or 1
    from ..report.progress import progress_bar

    results: list[np.ndarray] = []
    with progress_bar(f"{kind} features", total=len(jobs), enabled=progress) as advance:
        if workers <= 1 or len(jobs) < 8:
            for job in jobs:
                results.append(_extract_one(job))
                advance()
        else:
            with ProcessPoolExecutor(max_workers=workers) as pool:
                for feats in pool.map(_extract_one, jobs, chunksize=8):
                    results.append(feats)
                    advance()
    return results
