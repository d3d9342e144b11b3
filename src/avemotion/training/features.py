"""Features over many files: computed in parallel with a progress bar, cached on disk.

Training-time work: the per-signal features themselves live in :mod:`avemotion.speech.features`
(inference uses them too); this computes them for a whole corpus, caches each result keyed by the
file's content and the parameters, and makes the speed-perturbed copies used for augmentation.
"""

from __future__ import annotations

import gc
import hashlib
import json
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from ..media import SAMPLE_RATE, load_audio
from ..speech.features import (
    ENCODERS,
    LogMelConfig,
    baseline_features,
    functional_features,
    speech_log_mel,
    voice_statistics,
    whisper_frames,
    whisper_statistics,
)

FEATURE_KINDS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "baseline": baseline_features,
    "logmel": speech_log_mel,
    "functionals": functional_features,
    "voice": voice_statistics,
    "whisper": whisper_statistics,
    # frames are many (25 a second x 1,024): cached as float16, half the disk; read back as float32
    "whisperframes": lambda y: whisper_frames(y).astype(np.float16),
}


def default_cache_dir() -> Path:
    """Where features are cached: ``$AVEMOTION_CACHE`` or ``~/.cache/avemotion``."""
    root = os.environ.get("AVEMOTION_CACHE") or Path.home() / ".cache" / "avemotion"
    return Path(root) / "features"


def _cache_key(path: Path, kind: str, speed: float = 1.0, codec: str | None = None) -> str:
    h = hashlib.sha1()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    params = {"kind": kind, "sr": SAMPLE_RATE, "version": 3}  # 3: numpy front end (speech/dsp.py)
    if speed != 1.0:
        params["speed"] = speed
    if codec:
        params["codec"] = codec
    if kind == "logmel":
        params["logmel"] = LogMelConfig().to_dict()
    if kind in ENCODERS:
        params["encoder"] = ENCODERS[kind]().card.get("sha256")
    h.update(json.dumps(params, sort_keys=True).encode())
    return h.hexdigest()


def speed_perturb(y: np.ndarray, factor: float, sr: int = SAMPLE_RATE) -> np.ndarray:
    """Play ``y`` ``factor`` times faster: tempo, pitch and formants all scale (Kaldi's speed
    perturbation), which imitates a shorter or longer vocal tract — another speaker, roughly."""
    from ..media import resample

    return y if factor == 1.0 else resample(y, int(round(sr * factor)), sr)


#: Codec augmentations: what a recording goes through before the features are computed.
CODECS = {"opus32": 32_000}


def codec_roundtrip(y: np.ndarray, codec: str | None, sr: int = SAMPLE_RATE) -> np.ndarray:
    """``y`` encoded and decoded again (``"opus32"``: Ogg Opus at 32 kbps, 16 kHz mono, libopus through
    PyAV), as a voice message or a call would carry it; ``None`` returns it unchanged. Two of the
    corpora are stored so, and many users' recordings are: training on lossless clips alone would
    learn the codec's absence."""
    if not codec:
        return y
    import io

    import av

    buf = io.BytesIO()
    with av.open(buf, "w", format="ogg") as out:
        stream = out.add_stream("libopus", rate=sr, layout="mono")
        stream.bit_rate = CODECS[codec]
        frame = av.AudioFrame.from_ndarray(np.asarray(y, np.float32)[None, :], format="flt", layout="mono")
        frame.sample_rate = sr
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            out.mux(packet)
    buf.seek(0)
    with av.open(buf, "r") as inp:
        resampler = av.AudioResampler(format="flt", layout="mono", rate=sr)
        chunks = [r.to_ndarray().reshape(-1) for f in inp.decode(audio=0) for r in resampler.resample(f)]
    out_y = np.concatenate(chunks) if chunks else np.zeros(0, np.float32)
    return out_y[: len(y)].astype(np.float32)


def _extract_one(args: tuple) -> np.ndarray:
    path, kind, cache, speed, codec = (*args, 1.0, None)[:5] if len(args) < 5 else args
    p = Path(path)
    target = None
    if cache:
        target = Path(cache) / kind / f"{_cache_key(p, kind, speed, codec)}.npy"
        if target.exists():
            return np.load(target, allow_pickle=False)
    feats = FEATURE_KINDS[kind](codec_roundtrip(speed_perturb(load_audio(p), speed), codec))
    if target is not None:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(f".{os.getpid()}.tmp.npy")
        np.save(tmp, feats, allow_pickle=False)
        os.replace(tmp, target)
    return feats


def extract_many(
    paths: Sequence[str | os.PathLike[str]],
    kind: str = "baseline",
    *,
    cache_dir: str | os.PathLike[str] | None = "default",
    workers: int | None = None,
    progress: bool = True,
    speed: float = 1.0,
    codec: str | None = None,
) -> list[np.ndarray]:
    """Features of ``kind`` (a key of :data:`FEATURE_KINDS`) for every path, in order.

    ``speed`` other than 1 computes them on a speed-perturbed copy (:func:`speed_perturb`), and
    ``codec`` on a copy that went through that codec (:func:`codec_roundtrip`), for training-set
    augmentation.

    Runs ``workers`` processes (default: all cores), shows a rich progress bar, and caches each
    result under ``cache_dir`` (None: no cache) keyed by file content and parameters, so a
    rerun reads instead of recomputing.
    """
    if kind not in FEATURE_KINDS:
        raise ValueError(f"unknown feature kind {kind!r}; choose from {sorted(FEATURE_KINDS)}")
    cache = str(default_cache_dir()) if cache_dir == "default" else (str(cache_dir) if cache_dir else None)
    jobs = [(str(p), kind, cache, float(speed), codec) for p in paths]
    workers = workers or os.cpu_count() or 1
    from ..report.progress import progress_bar

    results: list[np.ndarray] = []
    label = f"{kind} features" + (f" (speed x{speed:g})" if speed != 1.0 else "") + (f" ({codec})" if codec else "")
    with progress_bar(label, total=len(jobs), enabled=progress) as advance:
        if workers <= 1 or len(jobs) < 8:
            for job in jobs:
                results.append(_extract_one(job))
                advance()
        else:
            # The workers are forked. Garbage the parent left behind (torch tensors, ONNX Runtime
            # sessions) must not be collected in a child: its finalisers can wait on a lock held by a
            # parent thread that the fork did not copy (a hung worker, seen after training in the same
            # process). Collect it here and freeze what is left out of the children's collections.
            gc.collect()
            gc.freeze()
            try:
                with ProcessPoolExecutor(max_workers=workers) as pool:
                    for feats in pool.map(_extract_one, jobs, chunksize=8):
                        results.append(feats)
                        advance()
            finally:
                gc.unfreeze()
    return results
