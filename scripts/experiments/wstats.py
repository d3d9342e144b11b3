"""Throwaway: Whisper-regression variants on statistics of the library's cached frames (blocks 2 and 3,
pairs averaged; `whisperframes`), their out-of-corpus probabilities cached for combos.py like
member_probs.py's. Statistics per clip: mean, std, std of the frame-to-frame differences, 10th and 90th
percentiles. Variants pick columns: "ms" (mean, std: the Whisper member's own statistics, on the
pair-averaged frames), "msd" (and the differences' spread), "msq" (and the percentiles).

    python scripts/experiments/wstats.py SCOPE C VARIANT...   (SCOPE: outer | all)
"""
import sys, time, itertools, numpy as np
from pathlib import Path
import avemotion.training.speech as S
from avemotion.datasets import read_corpora
P = Path("runs/exp/probs"); D = "../shared/data/"
scope, C = sys.argv[1], float(sys.argv[2]); variants = sys.argv[3:]
meta = np.load(P / "meta.npz"); y, corpus, masks = meta["y"], meta["corpus"], meta["masks"]
n = masks.shape[1]; cs = sorted(set(corpus))
items = read_corpora([D + c for c in ["ravdess_speech_16k", "casia_speech_16k", "emovo_speech_16k", "nemo_speech_16k", "ased_speech_16k"]])
feats = S.model_features(items, "encoder", progress=False)
def stats(f):
    f = np.asarray(f, np.float32); d = np.diff(f, axis=0) if len(f) > 1 else np.zeros_like(f)
    return np.concatenate([f.mean(0), f.std(0), d.std(0), np.percentile(f, 10, 0), np.percentile(f, 90, 0)])
key = f"whisperframes@{S.ENCODER_CODEC}"
t0 = time.time()
ws = {"ws": [stats(f) for f in feats["whisperframes"]], f"ws@{S.ENCODER_CODEC}": [None if f is None else stats(f) for f in feats[key]]}
del feats
print("stats", round(time.time() - t0), flush=True)
COLS = {"m": range(0, 1024), "ms": range(0, 2048), "msd": range(0, 3072), "msq": list(range(0, 2048)) + list(range(3072, 5120))}
for v in variants:
    m = S.Member("ws", C, 0.0, None); cols = np.array(COLS[v]); x = np.stack(ws["ws"])[:, cols]
    def fit(keep):
        f = {"ws": [r[cols] for r in ws["ws"]], f"ws@{S.ENCODER_CODEC}": [None if r is None else r[cols] for r in ws[f"ws@{S.ENCODER_CODEC}"]]}
        return S.fit_member(m, f, y, np.flatnonzero(np.isin(corpus, keep)), n, masks, corpus)
    res = {}; t0 = time.time()
    for c in cs:
        res[f"outer|{c}"] = fit([o for o in cs if o != c]).predict_proba(x[corpus == c]); print(v, c, round(time.time() - t0), flush=True)
    for p, q in itertools.combinations(cs, 2) if scope == "all" else []:
        clf = fit([o for o in cs if o not in (p, q)])
        res[f"inner|{p}|{q}"] = clf.predict_proba(x[corpus == q]); res[f"inner|{q}|{p}"] = clf.predict_proba(x[corpus == p])
    name = f"w{v}_C{C:g}"; np.savez(P / f"{name}.npz", **res); print("done", name, round(time.time() - t0), flush=True)
