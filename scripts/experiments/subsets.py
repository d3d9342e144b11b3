"""Throwaway: LOCO-5 (T=1) UA of member subsets of today's recipe."""
import itertools, json, numpy as np
import avemotion.training.speech as S
from avemotion.datasets import read_corpora
from avemotion.evaluation.protocols import _score_held_out
from avemotion.taxonomy import SPEECH_EMOTIONS
D = "../shared/data/"
items = read_corpora([D + c for c in ["ravdess_speech_16k", "casia_speech_16k", "emovo_speech_16k", "nemo_speech_16k", "ased_speech_16k"]])
labels = list(SPEECH_EMOTIONS)
y = np.array([labels.index(it.label) for it in items]); corpus = np.array([it.corpus for it in items])
masks = S.corpus_masks(items); feats = S.model_features(items, "encoder", progress=False); cfg = S.cnn_config(0, None)
names = list(S.ENCODER_MEMBERS); res = {}
for c in sorted(set(corpus)):
    te, tr = np.flatnonzero(corpus == c), np.flatnonzero(corpus != c)
    probs = S.fit_predict("encoder", feats, y, tr, te, cfg, 0, len(labels), masks, corpus)
    for sub in [s for r in (1, 2, 3) for s in itertools.combinations(names, r)]:
        p = np.mean([probs[n] for n in sub], 0)
        m = _score_held_out({"encoder": p}, "encoder", y[tr], y[te], 1.0)["metrics"]
        res.setdefault("+".join(sub), {})[c] = (m["unweighted_accuracy"], m["expected_calibration_error"])
    print(c, flush=True)
for k, v in res.items():
    print(k, "mean", round(np.mean([a for a, _ in v.values()]), 4), "min", round(min(a for a, _ in v.values()), 4), "ece", round(np.mean([e for _, e in v.values()]), 4), {c: round(a, 3) for c, (a, _) in v.items()}, flush=True)
