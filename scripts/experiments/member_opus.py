"""Throwaway: per-member top-label agreement between each lossless clip's features and its Opus-32 copy's,
for members fitted as the shipped `speech` is (every clip + codec copies), and LOCO-5 UA of member subsets (T=1)."""
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
every = np.arange(len(items)); lossless = S.codec_rows(feats, every)
probs = S.fit_predict("encoder", feats, y, every, every, cfg, 0, len(labels), masks, corpus)
# the same members on the codec copies of the lossless clips
coded = {}
rows = np.concatenate([every, lossless]); w = S.balanced_weights(corpus[rows], y[rows])
for name, (kind, c) in S.ENCODER_MEMBERS.items():
    clf = S.MaskedSoftmax(c, len(labels), absent=S.absent_weights()).fit(S.with_codec_copies(feats, kind, every), y[rows], masks[rows], w)
    coded[name] = clf.predict_proba(np.stack([feats[f"{kind}@opus32"][i] for i in lossless]))
    orig = clf.predict_proba(np.stack([feats[kind][i] for i in lossless]))
    print(name, "agree", round(float((orig.argmax(1) == coded[name].argmax(1)).mean()), 4), flush=True)
    coded[name + "_orig"] = orig
names = list(S.ENCODER_MEMBERS)
for sub in [s for r in (1, 2, 3) for s in itertools.combinations(names, r)]:
    a = np.mean([coded[n + "_orig"] for n in sub], 0); b = np.mean([coded[n] for n in sub], 0)
    print(sub, "agree", round(float((a.argmax(1) == b.argmax(1)).mean()), 4), flush=True)
