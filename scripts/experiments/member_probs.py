"""Throwaway: each member's out-of-corpus probabilities, cached for combos.py to combine.

For every member given (NAME KIND C CONSISTENCY DESCRIPTORS; DESCRIPTORS "all" or first-last, e.g.
84-100): the five leave-one-corpus-out folds, the ten leave-two-out models a nested temperature
needs (each corpus predicted without itself and the held-out one), and the model fitted on every clip
read on each lossless clip and on its Opus copy. Into runs/exp/probs/NAME*.npz.

    python scripts/experiments/member_probs.py whisper whisper 0.003 0 all functionals functionals 0.003 10 84-100
"""
import sys, time, itertools, numpy as np
from pathlib import Path
import avemotion.training.speech as S
from avemotion.datasets import read_corpora
from avemotion.taxonomy import SPEECH_EMOTIONS
D = "../shared/data/"
OUT = Path("runs/exp/probs"); OUT.mkdir(parents=True, exist_ok=True)
items = read_corpora([D + c for c in ["ravdess_speech_16k", "casia_speech_16k", "emovo_speech_16k", "nemo_speech_16k", "ased_speech_16k"]])
labels = list(SPEECH_EMOTIONS); n = len(labels)
y = np.array([labels.index(it.label) for it in items]); corpus = np.array([it.corpus for it in items])
masks = S.corpus_masks(items); feats = S.model_features(items, "encoder", progress=False)
np.savez(OUT / "meta.npz", y=y, corpus=corpus, masks=masks, paths=np.array([it.path for it in items]))
cs = sorted(set(corpus)); a = sys.argv[1:]
for name, kind, C, lam, desc in zip(a[0::5], a[1::5], a[2::5], a[3::5], a[4::5]):
    lo_hi = None if desc == "all" else tuple(int(v) for v in desc.split("-"))
    m = S.Member(kind, float(C), float(lam), None if lo_hi is None else tuple(range(lo_hi[0], lo_hi[1] + 1)))
    x = m.read(np.stack(feats[kind])); res = {}; t0 = time.time()
    fit = lambda keep: S.fit_member(m, feats, y, np.flatnonzero(np.isin(corpus, keep)), n, masks, corpus)
    for c in cs:
        res[f"outer|{c}"] = fit([o for o in cs if o != c]).predict_proba(x[corpus == c])
    for p, q in itertools.combinations(cs, 2):
        clf = fit([o for o in cs if o not in (p, q)])
        res[f"inner|{p}|{q}"] = clf.predict_proba(x[corpus == q]); res[f"inner|{q}|{p}"] = clf.predict_proba(x[corpus == p])
    np.savez(OUT / f"{name}.npz", **res)
    clf = fit(cs); lossless = S.codec_rows(feats, np.arange(len(items)))
    np.savez(OUT / f"{name}_codec.npz", lossless=clf.predict_proba(x[lossless]),
             opus=clf.predict_proba(m.read(np.stack([feats[f"{kind}@opus32"][i] for i in lossless]))))
    print("done", name, round(time.time() - t0), flush=True)
