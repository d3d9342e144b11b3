"""Throwaway: the Whisper regression (mean and std of the cached frames, as wstats.py's "ms") trained
on each training clip whole and on K random stretches of at least SHARE of its frames (their
statistics as extra rows, every (corpus, class) cell still weighing alike), read on whole clips.
Out-of-corpus probabilities cached for combos.py.

    python scripts/experiments/wcrop.py SCOPE C K SHARE   (SCOPE: outer | all)
"""
import sys, time, itertools, numpy as np
from pathlib import Path
import avemotion.training.speech as S
from avemotion.datasets import read_corpora
P = Path("runs/exp/probs"); D = "../shared/data/"
scope, C, K, share = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
meta = np.load(P / "meta.npz"); y, corpus, masks = meta["y"], meta["corpus"], meta["masks"]
n = masks.shape[1]; cs = sorted(set(corpus)); rng = np.random.default_rng(0)
items = read_corpora([D + c for c in ["ravdess_speech_16k", "casia_speech_16k", "emovo_speech_16k", "nemo_speech_16k", "ased_speech_16k"]])
feats = S.model_features(items, "encoder", progress=False)
def ms(f): f = np.asarray(f, np.float32); return np.concatenate([f.mean(0), f.std(0)])
def crop(f):
    t = len(f); k = max(2, int(np.ceil(rng.uniform(share, 1.0) * t))) if t > 2 else t; s = rng.integers(0, t - k + 1); return ms(f[s:s + k])
fr = feats["whisperframes"]; op = feats[f"whisperframes@{S.ENCODER_CODEC}"]
x = np.stack([ms(f) for f in fr]); xo = {i: ms(f) for i, f in enumerate(op) if f is not None}
xc = np.stack([np.stack([crop(f) for f in fr]) for _ in range(K)])  # K x clips x 2048
del feats, fr, op
def fit(keep):
    rows = np.flatnonzero(np.isin(corpus, keep)); cop = np.array([i for i in rows if i in xo])
    X = np.concatenate([x[rows], np.stack([xo[i] for i in cop])] + [xc[k, rows] for k in range(K)])
    idx = np.concatenate([rows, cop] + [rows] * K)
    w = S.balanced_weights(corpus[idx], y[idx])
    return S.MaskedSoftmax(C, n, absent=S.absent_weights(), consistency=0.0).fit(X, y[idx], masks[idx], w, None)
res = {}; t0 = time.time()
for c in cs:
    res[f"outer|{c}"] = fit([o for o in cs if o != c]).predict_proba(x[corpus == c]); print(c, round(time.time() - t0), flush=True)
for p, q in itertools.combinations(cs, 2) if scope == "all" else []:
    clf = fit([o for o in cs if o not in (p, q)])
    res[f"inner|{p}|{q}"] = clf.predict_proba(x[corpus == q]); res[f"inner|{q}|{p}"] = clf.predict_proba(x[corpus == p])
name = f"wcrop{K}_{share:g}_C{C:g}"; np.savez(P / f"{name}.npz", **res); print("done", name, round(time.time() - t0), flush=True)
