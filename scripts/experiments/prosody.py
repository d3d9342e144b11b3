"""Throwaway: a prosodic slice of the functionals (energy, zcr, voicing, pitch and their deltas) as the third member.
LOCO-5 (T=1) UA, arousal AUC (RAVDESS strong vs normal within emotion) and clip-level Opus agreement."""
import sys, json, numpy as np
import avemotion.training.speech as S
from avemotion.datasets import read_corpora
from avemotion.evaluation.protocols import _score_held_out
from avemotion.taxonomy import SPEECH_EMOTIONS
from avemotion.affect import valence_arousal
from sklearn.metrics import roc_auc_score
D = "../shared/data/"
items = read_corpora([D + c for c in ["ravdess_speech_16k", "casia_speech_16k", "emovo_speech_16k", "nemo_speech_16k", "ased_speech_16k"]])
labels = list(SPEECH_EMOTIONS)
y = np.array([labels.index(it.label) for it in items]); corpus = np.array([it.corpus for it in items])
masks = S.corpus_masks(items); feats = S.model_features(items, "encoder", progress=False); cfg = S.cnn_config(0, None)
idx = np.concatenate([np.arange(d * 20, d * 20 + 20) for d in (97, 98, 99, 100)])
idx = np.concatenate([idx, idx + 2020])
for k in list(feats):
    if k.startswith("functionals"):
        feats[k.replace("functionals", "prosody")] = [None if f is None else f[idx] for f in feats[k]]
intensity = np.array([int(it.path.split("/")[-1].split("-")[3]) if it.corpus == "ravdess" else 0 for it in items])
def arousal_auc(P):
    r = np.flatnonzero(corpus == "ravdess"); aucs = []
    ar = np.array([valence_arousal(dict(zip(labels, p)))["arousal"] for p in P[r]])
    for k in set(y[r]):
        m = y[r] == k
        if len(set(intensity[r][m])) == 2: aucs.append(roc_auc_score(intensity[r][m] == 2, ar[m]))
    return round(float(np.mean(aucs)), 4)
for spec in sys.argv[1:]:
    members = json.loads(spec)
    S.ENCODER_MEMBERS.clear(); S.ENCODER_MEMBERS.update({k: tuple(v) for k, v in members.items()})
    held = np.zeros((len(items), len(labels))); uas = {}
    for c in sorted(set(corpus)):
        te, tr = np.flatnonzero(corpus == c), np.flatnonzero(corpus != c)
        probs = S.fit_predict("encoder", feats, y, tr, te, cfg, 0, len(labels), masks, corpus)
        held[te] = probs["encoder"]
        uas[c] = round(_score_held_out(probs, "encoder", y[tr], y[te], 1.0)["metrics"]["unweighted_accuracy"], 3)
    # clip-level codec agreement, members fitted on everything
    every = np.arange(len(items)); lossless = S.codec_rows(feats, every)
    rows = np.concatenate([every, lossless]); w = S.balanced_weights(corpus[rows], y[rows]); a = []; b = []
    for name, (kind, C) in S.ENCODER_MEMBERS.items():
        clf = S.MaskedSoftmax(C, len(labels), absent=S.absent_weights()).fit(S.with_codec_copies(feats, kind, every), y[rows], masks[rows], w)
        a.append(clf.predict_proba(np.stack([feats[kind][i] for i in lossless]))); b.append(clf.predict_proba(np.stack([feats[f"{kind}@opus32"][i] for i in lossless])))
    agree = float((np.mean(a, 0).argmax(1) == np.mean(b, 0).argmax(1)).mean())
    print(json.dumps({"members": members, "mean": round(np.mean(list(uas.values())), 4), "min": min(uas.values()), "per": uas, "arousal_auc": arousal_auc(held), "codec_agree": round(agree, 4)}), flush=True)
