"""Throwaway: learned-fusion feature sets and C, chosen on val faces only (two-way split of val faces x voice speaker halves)."""
import numpy as np, sys
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import recall_score
import avemotion.training.fusion as TF
from avemotion.evaluation.fusion import read_voice, read_faces, pair_faces, LABELS
from avemotion.fusion import FACE_EMOTIONS
K = len(FACE_EMOTIONS)
def feats(kind):
    def f(face, cf, voice, cv):
        parts = []
        for p, c in ((face, cf), (voice, cv)):
            extra = []
            if len(p) == 8:
                extra = [c * np.log(np.clip(p[7], 1e-6, 1.0))]; p = np.asarray(p[:7]).copy(); p[4] += 0  # neutral already holds calm
            lp = np.log(np.clip(np.asarray(p, np.float64), 1e-6, 1.0))
            pk = 1 + (np.clip(p,1e-12,1) * np.log(np.clip(p,1e-12,1))).sum() / np.log(K)
            row = [c * lp, [c, 1.0]] + ([extra] if len(extra) else [])
            if kind in ("peak", "gated"): row.append([c * pk])
            if kind == "gated": row.append(c * pk * lp)
            if kind == "ent": row.append([c * pk, c * pk * lp.max()])
            parts.append(np.concatenate(row))
        return np.concatenate(parts)
    return f
voice, vy, rows = read_voice(sys.argv[1])
if any(a.startswith("calm") for a in sys.argv[2:]):
    from avemotion.evaluation import read_held_out
    from avemotion.taxonomy import target_of
    hr, hp = read_held_out(sys.argv[1])
    keep = [i for i, r in enumerate(hr) if target_of(r["emotion"], LABELS) is not None]
    voice = np.concatenate([voice, hp[keep][:, 7:8]], axis=1)
crops, fy = read_faces("../shared/data/fer2013/val")
faces = TF.face_sets(crops, "face")
halves = TF.speaker_halves(rows)
rng = np.random.default_rng(1); fh = rng.integers(0, 2, len(fy))
def score(kind, C):
    TF.learned_features = feats(kind.replace("calm", "base")); TF.C = C
    uas = {}
    for cond in ("clean", "face30", "voice30", "blur", "small"):
        uas[cond] = []
    for h in (0, 1):
        tr_f = {k: v[fh == h] for k, v in faces.items()}
        clf = TF.fit_rule(tr_f, fy[fh == h], voice[halves == h], vy[halves == h], 0)
        te = halves != h; fte = np.flatnonzero(fh != h)
        idx = pair_faces(vy[te], fy[fte], 7)
        for cond, (ft, cf, cv) in {"clean": ("clean",1,1), "face30": ("clean",.3,1), "voice30": ("clean",1,.3), "blur": ("blur",1,1), "small": ("small",1,1)}.items():
            x = np.stack([TF.learned_features(faces[ft][fte][j], cf, v, cv) for j, v in zip(idx, voice[te])])
            pred = clf.predict(x)
            uas[cond].append(recall_score(vy[te], pred, average="macro"))
    # better lane: face alone on clean
    return {k: round(float(np.mean(v)), 4) for k, v in uas.items()}
for kind, C in [(k, float(c)) for k, c in (a.split(":") for a in sys.argv[2:])]:
    print(kind, C, score(kind, C), flush=True)
