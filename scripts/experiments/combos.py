"""Score member combinations from cached probabilities (member_probs.py): LOCO-5 UA, ECE with the
nested temperature (fitted on the leave-two-out predictions, as the shipped recipe), arousal AUC."""
import sys, json, numpy as np
from avemotion.evaluation.protocols import _score_held_out
from avemotion.training.export import fit_temperature
from avemotion.training.speech import with_temperature
from avemotion.taxonomy import SPEECH_EMOTIONS
from avemotion.affect import valence_arousal
import avemotion.evaluation.affect as affect_eval
P = "runs/exp/probs/"
meta = np.load(P + "meta.npz"); y, corpus, paths = meta["y"], meta["corpus"], meta["paths"]
labels = list(SPEECH_EMOTIONS); cs = sorted(set(corpus))
cache = {}
def load(m):
    if m not in cache: cache[m] = dict(np.load(P + m + ".npz"))
    return cache[m]
def log(p): return np.log(np.clip(p, 1e-7, 1))
def combine(ps, ws, how):
    ws = np.asarray(ws, float) / np.sum(ws)
    if how == "arith": return sum(w * p for w, p in zip(ws, ps))
    z = sum(w * log(p) for w, p in zip(ws, ps)); z = np.where(ps[0] > 0, z, -np.inf)
    z -= z.max(1, keepdims=True); e = np.exp(z); return e / e.sum(1, keepdims=True)
def arousal_auc(held):
    """The library's arousal AUC (evaluation.affect) on held-out probabilities."""
    rows = []
    for p, c, k, q in zip(paths, corpus, y, held):
        va = valence_arousal(dict(zip(labels, q.tolist()))) or {"valence": 0.0, "arousal": 0.0}
        rows.append({"path": str(p), "corpus": str(c), "emotion": labels[k], "arousal": va["arousal"]})
    return affect_eval.arousal_auc(rows)["mean"]
from avemotion.evaluation import expected_calibration_error
GRID = np.exp(np.linspace(np.log(0.5), np.log(4.0), 121))
def fit_T(lg, tr, how):
    if how == "nll": return fit_temperature(np.concatenate(lg), np.concatenate(tr))
    def sm(z, t):
        z = z / t; z = z - z.max(1, keepdims=True); e = np.exp(z); return e / e.sum(1, keepdims=True)
    if how == "eq":
        cost = [np.mean([-np.log(sm(z, t)[np.arange(len(yy)), yy] + 1e-12).mean() for z, yy in zip(lg, tr)]) for t in GRID]
    elif how == "ece":
        cost = [np.mean([expected_calibration_error(sm(z, t), yy) for z, yy in zip(lg, tr)]) for t in GRID]
    return float(GRID[int(np.argmin(cost))])
def run(spec):
    members, ws, how = spec["members"], spec.get("weights", [1] * len(spec["members"])), spec.get("how", "arith")
    held = np.zeros((len(y), len(labels))); out = {}
    for c in cs:
        te = corpus == c
        p = combine([load(m)[f"outer|{c}"] for m in members], ws, how)
        lg, tr = [], []
        for o in cs:
            if o == c: continue
            q = combine([load(m)[f"inner|{c}|{o}"] for m in members], ws, how); yo = y[corpus == o]
            ok = q[np.arange(len(yo)), yo] > 0; lg.append(log(q[ok])); tr.append(yo[ok])
        T = fit_T(lg, tr, spec.get("calib", "nll")) if spec.get("calibrate", True) else 1.0
        r = _score_held_out({"m": p}, "m", y[~te], y[te], T)["metrics"]
        out[c] = (r["unweighted_accuracy"], r["expected_calibration_error"], round(T, 2)); held[te] = with_temperature(p, T)
    import os
    codec = None
    if all(os.path.exists(P + m + "_codec.npz") for m in members):
        a = combine([np.load(P + m + "_codec.npz")["lossless"] for m in members], ws, how)
        b = combine([np.load(P + m + "_codec.npz")["opus"] for m in members], ws, how)
        codec = round(float((a.argmax(1) == b.argmax(1)).mean()), 4)
    ua = [v[0] for v in out.values()]; ece = [v[1] for v in out.values()]
    print(json.dumps({**spec, "mean": round(np.mean(ua), 4), "min": round(min(ua), 4), "ece": round(np.mean(ece), 4),
                      "arousal": arousal_auc(held), "codec": codec, "per": {c: v for c, v in out.items()}}), flush=True)
for s in sys.argv[1:]: run(json.loads(s))
