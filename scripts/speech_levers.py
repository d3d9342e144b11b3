"""Two levers measured under leave-one-corpus-out that the shipped speech recipe does not use.

    python scripts/speech_levers.py corpus-norm            # each corpus standardised by its own statistics
    python scripts/speech_levers.py augment [--copies 2]   # channel-augmented copies of the training clips

Both run the shipped recipe (``ENCODER_MEMBERS``: masked softmax regressions on voice-encoder
statistics, functionals and Whisper-encoder statistics, averaged; no temperature) on RAVDESS, CASIA and EMOVO from
../shared/data, holding out each corpus in turn, and print UA per held-out corpus (over the
classes it shares with the others) and the mean. ``augment`` adds, for every training clip,
``--copies`` copies through a random channel: synthetic reverberation (half of them), a random
EQ curve or telephone band or low-pass, coloured noise at 5-30 dB SNR, and gain; their features are
cached in ``~/.cache/avemotion/augmented``. The README reports what these gave. Needs the
``train`` extra.
"""

from __future__ import annotations

import argparse
import hashlib
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from avemotion.media import SAMPLE_RATE, load_audio

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
CORPORA = ("ravdess_speech_16k", "casia_speech_16k", "emovo_speech_16k")


def channel(y: np.ndarray, rng: np.random.Generator, sr: int = SAMPLE_RATE) -> np.ndarray:
    """``y`` through a random recording channel: room, microphone/EQ, noise, level."""
    y = y.astype(np.float64)
    n = y.size
    if rng.random() < 0.5:  # a room: exponentially decaying noise, a direct path
        rt60 = rng.uniform(0.15, 0.8)
        length = int(sr * min(rt60 * 1.2, 1.0))
        t = np.arange(length) / sr
        rir = rng.standard_normal(length) * np.exp(-6.9 * t / rt60)
        rir[0] = 1.0 / rng.uniform(0.3, 1.5)
        rir /= np.sqrt((rir ** 2).sum())
        y = np.fft.irfft(np.fft.rfft(y, n + length) * np.fft.rfft(rir, n + length), n + length)[:n]
    f = np.fft.rfftfreq(n, 1 / sr)
    if rng.random() < 0.2:  # telephone band
        gain = np.convolve(((f >= 300) & (f <= 3400)).astype(float), np.ones(9) / 9, mode="same")
    else:  # a microphone's colour: a smooth random curve, sometimes a low-pass
        gain = 10 ** (np.interp(f, np.linspace(0, sr / 2, 9), rng.uniform(-8, 8, 9)) / 20)
        if rng.random() < 0.3:
            gain = gain / (1 + (f / rng.uniform(3000, 7000)) ** 8)
    y = np.fft.irfft(np.fft.rfft(y) * gain, n)
    if rng.random() < 0.8:  # coloured noise, 1/f^0..2
        noise = np.fft.irfft(np.fft.rfft(rng.standard_normal(n)) / np.maximum(f, 20) ** (rng.uniform(0, 2) / 2), n)
        snr = rng.uniform(5, 30)
        noise *= np.sqrt((np.mean(y ** 2) + 1e-12) / (np.mean(noise ** 2) + 1e-12) / 10 ** (snr / 10))
        y = y + noise
    y = y * 10 ** (rng.uniform(-20, 6) / 20)
    peak = np.abs(y).max()
    return (y / peak * 0.99 if peak > 0.99 else y).astype(np.float32)


KINDS = ("voice", "functionals", "whisper")


def _augmented(args: tuple[str, int]) -> dict[str, np.ndarray]:
    from avemotion.speech.features import speech_inputs
    from avemotion.training.features import default_cache_dir

    path, copy = args
    key = hashlib.sha1(f"{os.path.getsize(path)}|{path}|{copy}|v1".encode()).hexdigest()
    target = default_cache_dir().parent / "augmented" / f"{key}.npz"
    have: dict[str, np.ndarray] = {}
    if target.exists():
        with np.load(target, allow_pickle=False) as z:
            have = {k: z[k] for k in z.files}
    if all(k in have for k in KINDS):
        return have
    seed = int(key[:8], 16)  # the same channel as when the cache was written
    have |= speech_inputs(channel(load_audio(Path(path)), np.random.default_rng(seed)),
                          [k for k in KINDS if k not in have])
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f"{target.stem}.{os.getpid()}.tmp.npz")
    np.savez(tmp, **have)
    os.replace(tmp, target)
    return have


def main() -> None:
    from avemotion.datasets import read_corpora
    from avemotion.evaluation import score
    from avemotion.taxonomy import SPEECH_EMOTIONS, align, modelled, target_of
    from avemotion.training.speech import (ENCODER_MEMBERS, MaskedSoftmax, balanced_weights, corpus_masks,
                                           features_for, standardise_by_speaker)

    ap = argparse.ArgumentParser()
    ap.add_argument("lever", choices=["corpus-norm", "augment"])
    ap.add_argument("--copies", type=int, default=2)
    args = ap.parse_args()
    items = read_corpora([SHARED / c for c in CORPORA])
    labels = list(SPEECH_EMOTIONS)
    y = np.array([labels.index(it.label) for it in items])
    corpus = np.array([it.corpus for it in items])
    masks = corpus_masks(items)
    feats = {kind: np.stack(features_for(items, kind)) for kind in KINDS}
    copies: dict[str, list[np.ndarray]] = {kind: [] for kind in KINDS}
    if args.lever == "augment":
        with ProcessPoolExecutor(os.cpu_count()) as pool:
            for c in range(args.copies):
                got = list(pool.map(_augmented, [(str(it.path), c) for it in items], chunksize=8))
                for kind in KINDS:
                    copies[kind].append(np.stack([g[kind] for g in got]))
    uas = []
    for held in sorted(set(corpus.tolist())):
        te, tr = np.flatnonzero(corpus == held), np.flatnonzero(corpus != held)
        probs = []
        for m in ENCODER_MEMBERS.values():
            kind, c = m.kind, m.C
            xtr, xte = m.read(feats[kind][tr]), m.read(feats[kind][te])
            ytr, mtr, groups = y[tr], masks[tr], corpus[tr]
            if copies[kind]:
                xtr = np.concatenate([xtr] + [a[tr] for a in copies[kind]])
                ytr, mtr = np.tile(ytr, args.copies + 1), np.tile(mtr, (args.copies + 1, 1))
                groups = np.tile(groups, args.copies + 1)
            if args.lever == "corpus-norm":
                # each corpus by its own mean and spread: the speaker standardisation with corpora as
                # the groups and no shrinkage
                xtr = standardise_by_speaker(xtr, groups, np.ones(xtr.shape[1]), shrink=0.0)
                xte = standardise_by_speaker(xte, corpus[te], np.ones(xte.shape[1]), shrink=0.0)
            w = balanced_weights(groups, ytr)  # the shipped recipe's (corpus, class) balance
            probs.append(MaskedSoftmax(c, len(labels)).fit(xtr, ytr, mtr, w).predict_proba(xte))
        p = np.mean(probs, axis=0)
        target = modelled([labels[i] for i in sorted(set(y[tr].tolist()))], sorted({labels[i] for i in y[te]}))
        truth = [target_of(labels[i], target) for i in y[te]]
        keep = np.array([t is not None for t in truth])
        m = score([target.index(t) for t in truth if t is not None], align(p, labels, target)[keep].argmax(1).tolist(),
                  target)
        uas.append(m["unweighted_accuracy"])
        print(f"held out {held}: UA {m['unweighted_accuracy']:.3f}", flush=True)
    print(f"{args.lever}: mean UA {np.mean(uas):.3f}, lowest {min(uas):.3f}")


if __name__ == "__main__":
    main()
