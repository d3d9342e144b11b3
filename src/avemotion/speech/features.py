"""Speech features: the original system's 193 averaged descriptors (the baseline), log-mel
spectrograms, functionals, voice statistics.

All are pure functions of a 16 kHz mono signal, shared by training and inference so the two
cannot drift apart. Everything the shipped models read is computed with numpy (:mod:`.dsp`);
only the baseline's features, which need chroma and tonnetz, import librosa. Computing them over
a corpus (in parallel, cached on disk) is training-time work and lives in :mod:`avemotion.training.features`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from ..media import SAMPLE_RATE
from . import dsp

#: Sizes of the baseline's feature groups, in order: MFCC, chroma, mel, contrast, tonnetz.
BASELINE_GROUPS: tuple[tuple[str, int], ...] = (
    ("mfcc", 40),
    ("chroma", 12),
    ("mel", 128),
    ("contrast", 7),
    ("tonnetz", 6),
)
BASELINE_DIM = sum(n for _, n in BASELINE_GROUPS)  # 193


def baseline_features(y: np.ndarray, sr: int = SAMPLE_RATE) -> np.ndarray:
    """The original system's 193 numbers: 40 MFCC, 12 chroma, 128 mel, 7 contrast, 6 tonnetz, time-averaged.

    One STFT serves MFCC, chroma, mel and contrast; tonnetz, as in the original, is taken from the
    harmonic part of the signal. Needs librosa (the ``baseline`` extra).
    """
    from ..errors import require

    librosa = require("librosa", "baseline", "the baseline's speech features (speech_baseline)")

    y = _at_least(y, 2048)
    stft = np.abs(librosa.stft(y, n_fft=2048, hop_length=512))
    power = stft**2
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
    def from_dict(cls, d: dict) -> LogMelConfig:
        return cls(**{k: d[k] for k in cls.__dataclass_fields__ if k in d})


def _mel_basis(cfg: LogMelConfig) -> np.ndarray:
    return dsp.mel_filters(cfg.sample_rate, cfg.n_fft, cfg.n_mels, float(cfg.fmin), float(cfg.fmax))


def _power(y: np.ndarray, cfg: LogMelConfig) -> np.ndarray:
    """Power spectrogram (1 + n_fft/2, frames) of a signal already long enough for one frame."""
    return dsp.power_spectrogram(y, cfg.n_fft, cfg.hop_length, cfg.win_length)


def log_mel(y: np.ndarray, cfg: LogMelConfig = LogMelConfig()) -> np.ndarray:
    """Log-mel spectrogram, shape (n_mels, frames), natural log of power + 1e-6.

    One cached mel filter bank per configuration, so a 4-second clip takes about a millisecond.
    """
    y = _at_least(np.asarray(y, dtype=np.float32), max(cfg.n_fft, cfg.win_length))
    return np.log(_mel_basis(cfg) @ _power(y, cfg) + 1e-6).astype(np.float32)


def trim_silence(y: np.ndarray, top_db: float = 35.0) -> np.ndarray:
    """Cut leading and trailing parts quieter than ``top_db`` below the peak (keeps the middle)."""
    y = np.asarray(y, dtype=np.float32)
    if y.size < 2048 or not np.any(y):
        return y
    trimmed = dsp.trim(y, top_db, frame_length=800, hop_length=160)
    return trimmed if trimmed.size >= 1600 else y


def speech_log_mel(y: np.ndarray, cfg: LogMelConfig = LogMelConfig()) -> np.ndarray:
    """The neural speech models' input: log-mel of the signal with silent ends trimmed."""
    return log_mel(trim_silence(y), cfg)


# --- a large functional set (ComParE-like), written with numpy ----------------------------

#: Names of the functionals :func:`functionals` computes for every low-level descriptor.
FUNCTIONALS = (
    "mean",
    "std",
    "skew",
    "kurtosis",
    "p01",
    "p10",
    "p25",
    "p50",
    "p75",
    "p90",
    "p99",
    "iqr",
    "range",
    "slope",
    "resid",
    "up25",
    "up50",
    "up75",
    "argmax",
    "argmin",
)
#: The frame descriptors of :func:`functional_features`, in order: 64 log-mel bands, 20 MFCC, then
#: 17 of spectral shape, energy, voicing and pitch.
DESCRIPTORS: tuple[str, ...] = (
    *(f"logmel_{i}" for i in range(64)),
    *(f"mfcc_{i}" for i in range(20)),
    "spectral_centroid",
    "spectral_spread",
    "spectral_flatness",
    "rolloff_25",
    "rolloff_50",
    "rolloff_75",
    "rolloff_90",
    "spectral_flux",
    "spectral_entropy",
    "spectral_skewness",
    "spectral_kurtosis",
    "spectral_slope",
    "high_low_ratio",
    "energy",
    "zero_crossing_rate",
    "voicing",
    "pitch_semitones",
)
N_DESCRIPTORS = len(DESCRIPTORS)  # 101
FUNCTIONAL_DIM = 2 * N_DESCRIPTORS * len(FUNCTIONALS)  # 4040
FUNCTIONAL_MIN_SAMPLES = 4000  # shorter trimmed signals are zero-padded (pitch needs 1024-sample frames)


def functionals(x: np.ndarray) -> np.ndarray:
    """Twenty statistics of each row of ``x`` (D, T) over time → (D, 20).

    Moments, percentiles and their ranges, the slope and residual of a linear fit, the fraction
    of time above 25/50/75 % of the row's (p01..p99) range, and where its max and min fall.
    """
    x = np.asarray(x, dtype=np.float64)
    _d, t = x.shape
    mean = x.mean(axis=1, keepdims=True)
    c = x - mean
    var = (c**2).mean(axis=1)
    std = np.sqrt(var) + 1e-8
    skew = (c**3).mean(axis=1) / std**3
    kurt = (c**4).mean(axis=1) / std**4 - 3
    q = np.percentile(x, [1, 10, 25, 50, 75, 90, 99], axis=1)  # (7, D)
    rng = q[6] - q[0]
    tt = np.linspace(-1, 1, t) if t > 1 else np.zeros(1)
    denom = float((tt**2).sum()) or 1.0
    slope = (c * tt).sum(axis=1) / denom
    resid = np.sqrt(((c - slope[:, None] * tt) ** 2).mean(axis=1))
    ups = [((x - q[0][:, None]) > f * rng[:, None]).mean(axis=1) for f in (0.25, 0.5, 0.75)]
    pos = np.linspace(0, 1, t) if t > 1 else np.zeros(1)
    out = np.stack(
        [
            mean[:, 0],
            std,
            skew,
            kurt,
            *q,
            q[4] - q[2],
            rng,
            slope,
            resid,
            *ups,
            pos[x.argmax(axis=1)],
            pos[x.argmin(axis=1)],
        ],
        axis=1,
    )
    return np.nan_to_num(out).astype(np.float32)


def _pitch_and_voicing(
    y: np.ndarray, sr: int, hop: int, frame: int = 1024, fmin: float = 60.0, fmax: float = 500.0
) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame F0 (Hz) and voicing (peak normalised autocorrelation), one FFT pass.

    The autocorrelation of each windowed frame comes from the inverse FFT of its power spectrum;
    its highest peak between the lags of ``fmax`` and ``fmin`` gives the period, and that peak's
    height relative to lag 0 says how periodic (voiced) the frame is.
    """
    frames = dsp.frame(np.pad(y, frame // 2), frame, hop) * np.hanning(frame)[None, :]  # (T, frame)
    spec = np.fft.rfft(frames, n=2 * frame, axis=1)
    ac = np.fft.irfft(np.abs(spec) ** 2, axis=1)[:, :frame]
    win_ac = np.fft.irfft(np.abs(np.fft.rfft(np.hanning(frame), n=2 * frame)) ** 2)[:frame]
    ac = ac / np.maximum(win_ac[None, :], 1e-9)  # undo the window's own taper
    lo, hi = int(sr / fmax), int(sr / fmin)
    seg = ac[:, lo:hi]
    lag = seg.argmax(axis=1) + lo
    voicing = seg.max(axis=1) / np.maximum(ac[:, 0], 1e-9)
    return (sr / lag).astype(np.float32), np.clip(voicing, 0, 1).astype(np.float32)


def functional_features(y: np.ndarray, cfg: LogMelConfig = LogMelConfig()) -> np.ndarray:
    """A large functional set in the spirit of ComParE: 101 descriptors and their deltas × 20.

    Descriptors per 10 ms frame of the trimmed signal: 64 log-mel bands (with the utterance's
    mean level removed), 20 MFCC, spectral centroid, spread, flatness, roll-off (25/50/75/90 %),
    flux, entropy, skewness, kurtosis, slope, low/high band energy ratio, frame energy, zero-
    crossing rate, voicing, and pitch in semitones (voiced frames only, around the utterance's
    median, so it describes intonation rather than the speaker's register). Each descriptor and
    its delta is summarised by :func:`functionals`: 4,040 numbers.
    """
    y = _at_least(trim_silence(y), FUNCTIONAL_MIN_SAMPLES)
    return _functionals_of(y, _power(y, cfg), cfg)


def _functionals_of(y: np.ndarray, power: np.ndarray, cfg: LogMelConfig) -> np.ndarray:
    """:func:`functional_features` of a trimmed, padded signal and its power spectrogram."""
    sr, hop = cfg.sample_rate, cfg.hop_length
    lm = np.log(_mel_basis(cfg) @ power + 1e-6)
    lm_rel = lm - lm.mean()
    mfcc = dsp.mfcc(lm, 20)
    mag = np.sqrt(power) + 1e-10
    freqs = np.linspace(0, sr / 2, power.shape[0])[:, None] / 1000.0
    p = mag / mag.sum(axis=0, keepdims=True)
    centroid = (freqs * p).sum(axis=0)
    spread = np.sqrt(((freqs - centroid) ** 2 * p).sum(axis=0))
    skewness = ((freqs - centroid) ** 3 * p).sum(axis=0) / (spread**3 + 1e-9)
    kurtosis = ((freqs - centroid) ** 4 * p).sum(axis=0) / (spread**4 + 1e-9)
    entropy = -(p * np.log(p)).sum(axis=0)
    flatness = np.log(np.exp(np.log(mag).mean(axis=0)) / mag.mean(axis=0))
    cum = np.cumsum(power, axis=0) / (power.sum(axis=0, keepdims=True) + 1e-10)
    rolloffs = [freqs[np.minimum((cum < r).sum(axis=0), power.shape[0] - 1), 0] for r in (0.25, 0.5, 0.75, 0.9)]
    flux = np.r_[0.0, np.sqrt((np.diff(p, axis=1) ** 2).sum(axis=0))]
    logmag = np.log(mag)
    fc = freqs[:, 0] - freqs[:, 0].mean()
    slope = (fc[:, None] * (logmag - logmag.mean(axis=0))).sum(axis=0) / (fc**2).sum()
    f = freqs[:, 0]
    low = power[(f >= 0.05) & (f < 1.0)].sum(axis=0)
    high = power[(f >= 1.0) & (f < 8.0)].sum(axis=0)
    ratio = np.log((high + 1e-10) / (low + 1e-10))
    energy = np.log(power.sum(axis=0) + 1e-10)
    zcr = dsp.zero_crossing_rate(y, cfg.win_length, hop)
    f0, voicing = _pitch_and_voicing(y, sr, hop)
    t = min(lm.shape[1], zcr.size, f0.size)
    voiced = (voicing[:t] > 0.5) & (energy[:t] > energy[:t].max() - 12)
    if voiced.sum() >= 3:
        semis = 12 * np.log2(f0[:t] / np.median(f0[:t][voiced]))
        semis = np.where(voiced, semis, 0.0)  # unvoiced frames sit at the median
    else:
        semis = np.zeros(t)
    lld = np.vstack(
        [
            lm_rel[:, :t],
            mfcc[:, :t],
            centroid[:t],
            spread[:t],
            flatness[:t],
            *[r[:t] for r in rolloffs],
            flux[:t],
            entropy[:t],
            skewness[:t],
            kurtosis[:t],
            slope[:t],
            ratio[:t],
            energy[:t],
            zcr[:t],
            voicing[:t],
            semis,
        ]
    ).astype(np.float32)
    delta = dsp.delta(lld, 5) if t >= 5 else np.zeros_like(lld)
    return np.concatenate([functionals(lld).ravel(), functionals(delta).ravel()])


# --- statistics of a pretrained voice encoder ------------------------------------------------

#: The voice encoder's front end (Resemblyzer's): 25 ms / 10 ms frames, 40 mel bands of power,
#: the signal scaled to -30 dBFS RMS first.
VOICE_MEL: dict[str, Any] = {
    "sample_rate": SAMPLE_RATE,
    "n_fft": 400,
    "win_length": 400,
    "hop_length": 160,
    "n_mels": 40,
    "level_dbfs": -30.0,
    "trim_top_db": 35,
}
VOICE_DIM = 1536


def voice_mel(y: np.ndarray) -> np.ndarray:
    """The voice encoder's input for a signal already trimmed: mel power frames (T, 40), float32."""
    y = _at_least(np.asarray(y, dtype=np.float32), VOICE_MEL["n_fft"])
    rms = float(np.sqrt(np.mean(y.astype(np.float64) ** 2)))
    y = y * (10 ** (VOICE_MEL["level_dbfs"] / 20) / max(rms, 1e-9))
    basis = dsp.mel_filters(SAMPLE_RATE, VOICE_MEL["n_fft"], VOICE_MEL["n_mels"])
    power = dsp.power_spectrogram(y, VOICE_MEL["n_fft"], VOICE_MEL["hop_length"], VOICE_MEL["win_length"])
    return np.ascontiguousarray((basis @ power).T)


def voice_encoder():
    """The shipped voice encoder (:mod:`avemotion.bundles`), loaded once per process."""
    from ..bundles import shared_bundle

    return shared_bundle("voice_encoder")


def voice_statistics(y: np.ndarray) -> np.ndarray:
    """1,536 numbers describing the voice: the pretrained encoder's layer statistics of the trimmed signal."""
    return _voice_of(trim_silence(y))


def _voice_of(trimmed: np.ndarray) -> np.ndarray:
    return voice_encoder().run_feeds({"voicemel": voice_mel(trimmed)[None]})[0].astype(np.float32)


WHISPER_MEL: dict[str, Any] = {
    "sample_rate": SAMPLE_RATE,
    "n_fft": 400,
    "win_length": 400,
    "hop_length": 160,
    "n_mels": 80,
    "log": "log10, floored 8 below the maximum, (x + 4) / 4",
    "trim_top_db": 35,
    "max_frames": 3000,
}
WHISPER_DIM = 2048


def whisper_mel(y: np.ndarray) -> np.ndarray:
    """Whisper's input for a signal already trimmed: 80-band log-mel (80, T), scaled as Whisper scales it."""
    y = _at_least(np.asarray(y, dtype=np.float32), WHISPER_MEL["n_fft"])
    basis = dsp.mel_filters(SAMPLE_RATE, WHISPER_MEL["n_fft"], WHISPER_MEL["n_mels"])
    power = dsp.power_spectrogram(y, WHISPER_MEL["n_fft"], WHISPER_MEL["hop_length"], WHISPER_MEL["win_length"])
    m = np.log10(np.maximum(basis @ power, 1e-10))
    return ((np.maximum(m, m.max() - 8.0) + 4.0) / 4.0).astype(np.float32)


def whisper_encoder():
    """The shipped Whisper encoder statistics (:mod:`avemotion.bundles`), loaded once per process."""
    from ..bundles import shared_bundle

    return shared_bundle("whisper_encoder")


def whisper_statistics(y: np.ndarray) -> np.ndarray:
    """2,048 numbers on how the speech sounds: Whisper's middle encoder blocks pooled over the trimmed signal."""
    return _whisper_of(trim_silence(y))


def whisper_frames(y: np.ndarray) -> np.ndarray:
    """(T, 1,024): Whisper's block-2 and block-3 outputs of the trimmed signal, 25 frames a second
    (what the speech model's attention member reads, :data:`WHISPER_FRAMES`)."""
    return _whisper_both(trim_silence(y))[1]


#: The frames the attention member reads: the encoder's ``frames`` output averaged over pairs of
#: Whisper's positions (25 a second, half the length; the member's attention needs no finer step).
WHISPER_FRAMES: dict[str, Any] = {"dim": 1024, "frames_per_second": 25, "pooled_positions": 2}


def _whisper_of(trimmed: np.ndarray) -> np.ndarray:
    """Whisper's encoder sees at most 30 s (its 1,500 positions); longer audio is read in 30-s pieces
    and their statistics averaged, weighted by length."""
    return _whisper_both(trimmed, frames=False)[0]


def _whisper_both(trimmed: np.ndarray, frames: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Whisper statistics (2,048) and, with ``frames``, its frames (T, 1,024) from one pass of the encoder."""
    mel = whisper_mel(trimmed)
    step = WHISPER_MEL["max_frames"]
    pieces = [mel[:, i : i + step] for i in range(0, mel.shape[1], step)]
    pieces = [p for p in pieces if p.shape[1] >= 4] or pieces[:1]
    names = ["statistics", "frames"] if frames else ["statistics"]
    outs = [whisper_encoder().run_outputs({"mel": p[None]}, names) for p in pieces]
    stats = np.average([o[0][0] for o in outs], axis=0, weights=[p.shape[1] for p in pieces]).astype(np.float32)
    if not frames:
        return stats, np.zeros((0, WHISPER_FRAMES["dim"]), np.float32)
    f = np.concatenate([o[1][0] for o in outs]).astype(np.float32)
    k = WHISPER_FRAMES["pooled_positions"]
    n = len(f) // k * k
    if n:
        f = f[:n].reshape(-1, k, f.shape[1]).mean(axis=1)
    return stats, f


#: The pretrained encoders whose pooled statistics are feature kinds (their cards' sha256 keys caches).
ENCODERS = {"voice": voice_encoder, "whisper": whisper_encoder, "whisperframes": whisper_encoder}
#: Every feature kind :func:`speech_inputs` computes; a model card's inputs name some of them.
INPUT_KINDS = ("baseline", "logmel", "functionals", *ENCODERS)


def _at_least(y: np.ndarray, n: int) -> np.ndarray:
    y = np.asarray(y, dtype=np.float32)
    return y if y.size >= n else np.pad(y, (0, n - y.size))


def speech_inputs(y: np.ndarray, kinds: Sequence[str], cfg: LogMelConfig = LogMelConfig()) -> dict[str, np.ndarray]:
    """Several feature kinds of one signal, trimming once and sharing the STFT between them.

    Gives exactly what :func:`speech_log_mel`, :func:`functional_features` and
    :func:`baseline_features` give one by one (tested), in the time of little more than one.
    """
    out: dict[str, np.ndarray] = {}
    if "baseline" in kinds:
        out["baseline"] = baseline_features(y)
    if set(kinds) <= {"baseline"}:
        return out
    trimmed = trim_silence(y)
    if "voice" in kinds:
        out["voice"] = _voice_of(trimmed)
    if "whisper" in kinds or "whisperframes" in kinds:
        stats, frames = _whisper_both(trimmed, frames="whisperframes" in kinds)
        if "whisper" in kinds:
            out["whisper"] = stats
        if "whisperframes" in kinds:
            out["whisperframes"] = frames
    powers: dict[int, np.ndarray] = {}

    def padded(n: int) -> tuple[np.ndarray, np.ndarray]:
        z = _at_least(trimmed, n)
        if z.size not in powers:
            powers[z.size] = _power(z, cfg)
        return z, powers[z.size]

    if "logmel" in kinds:
        _, power = padded(max(cfg.n_fft, cfg.win_length))
        out["logmel"] = np.log(_mel_basis(cfg) @ power + 1e-6).astype(np.float32)
    if "functionals" in kinds:
        out["functionals"] = _functionals_of(*padded(FUNCTIONAL_MIN_SAMPLES), cfg)
    return out
