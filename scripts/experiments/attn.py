"""Throwaway: the attention member (training.speech.AttentionMember, fitted by the library's
fit_attention) over Whisper's frames (the library's cached `whisperframes` features and their Opus
copies, as `--model encoder` reads them), its out-of-corpus probabilities cached as
runs/exp/probs/NAME.npz for combos.py (outer folds; with "all", the leave-two-out fits and the codec
pairs too; "inner": the leave-two-out fits only, added to an existing NAME.npz).

    python scripts/experiments/attn.py NAME [outer|codec|all|inner] [epochs] [hidden] [seed] [unused] [consistency] [seeds] [crop]
"""
import sys, time, itertools, numpy as np
from pathlib import Path
import avemotion.training.speech as S
from avemotion.datasets import read_corpora
P = Path("runs/exp/probs")
D = "../shared/data/"
name = sys.argv[1]; scope = sys.argv[2] if len(sys.argv) > 2 else "outer"
m = S.AttentionMember(epochs=int(sys.argv[3]) if len(sys.argv) > 3 else 6,
                      hidden=int(sys.argv[4]) if len(sys.argv) > 4 else 32, seed=int(sys.argv[5]) if len(sys.argv) > 5 else 0,
                      consistency=float(sys.argv[7]) if len(sys.argv) > 7 else 0.0,
                      seeds=int(sys.argv[8]) if len(sys.argv) > 8 else 1, crop=float(sys.argv[9]) if len(sys.argv) > 9 else 1.0)
meta = np.load(P / "meta.npz"); y, corpus, masks = meta["y"], meta["corpus"], meta["masks"]
n = masks.shape[1]; cs = sorted(set(corpus))
items = read_corpora([D + c for c in ["ravdess_speech_16k", "casia_speech_16k", "emovo_speech_16k", "nemo_speech_16k", "ased_speech_16k"]])
feats = S.model_features(items, "encoder", progress=False)
fr = feats[m.kind]; op = {int(i): feats[f"{m.kind}@{S.ENCODER_CODEC}"][i] for i in S.codec_rows(feats, np.arange(len(y)))}
del feats
def fit(rows):
    copies = [i for i in rows if i in op]; both = np.concatenate([rows, copies]).astype(int)
    w = S.balanced_weights(corpus[both], y[both])
    pos = {int(r): k for k, r in enumerate(rows)}
    pairs = (np.array([pos[i] for i in copies], int), len(rows) + np.arange(len(copies)))
    return S.fit_attention(m, [fr[i] for i in rows] + [op[i] for i in copies], y[both], masks[both], w, n,
                           S.absent_weights(), pairs)
res = dict(np.load(P / f"{name}.npz")) if scope == "inner" else {}; t0 = time.time()
for c in cs if scope != "inner" else []:
    res[f"outer|{c}"] = fit(np.flatnonzero(corpus != c)).predict_proba([fr[i] for i in np.flatnonzero(corpus == c)])
    print(c, round(time.time() - t0), flush=True)
if scope in ("all", "codec", "inner"):
    for p, q in itertools.combinations(cs, 2) if scope in ("all", "inner") else []:
        clf = fit(np.flatnonzero(~np.isin(corpus, [p, q])))
        res[f"inner|{p}|{q}"] = clf.predict_proba([fr[i] for i in np.flatnonzero(corpus == q)])
        res[f"inner|{q}|{p}"] = clf.predict_proba([fr[i] for i in np.flatnonzero(corpus == p)])
        print(p, q, round(time.time() - t0), flush=True)
    clf = fit(np.arange(len(y))) if scope != "inner" else None; ll = sorted(op)
    if clf is not None: np.savez(P / f"{name}_codec.npz", lossless=clf.predict_proba([fr[i] for i in ll]), opus=clf.predict_proba([op[i] for i in ll]))
np.savez(P / f"{name}.npz", **res)
print("done", round(time.time() - t0))
