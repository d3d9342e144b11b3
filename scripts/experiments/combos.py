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
    if how in ("lib_eq", "lib_ece"):  # the library's (training.export.fit_temperature, each corpus alike)
        return fit_temperature(np.concatenate(lg), np.concatenate(tr), np.concatenate([np.full(len(t), k) for k, t in enumerate(tr)]),
                               target="nll" if how == "lib_eq" else "ece")
    if how == "eq":
        cost = [np.mean([-np.log(sm(z, t)[np.arange(len(yy)), yy] + 1e-12).mean() for z, yy in zip(lg, tr)]) for t in GRID]
    elif how == "ece":
        cost = [np.mean([expected_calibration_error(sm(z, t), yy) for z, yy in zip(lg, tr)]) for t in GRID]
    return float(GRID[int(np.argmin(cost))])
def fit_bias(lg, tr, reg):
    """Temperature and a bias per class on inner out-of-corpus log-probabilities: each corpus's
    class-balanced NLL weighs alike, plus reg * |b|^2."""
    from scipy.optimize import minimize
    k = lg[0].shape[1]
    def cost(v):
        t, b = np.exp(v[0]), v[1:]; tot = 0.0; g = np.zeros_like(v)
        for z, yy in zip(lg, tr):
            fin = np.isfinite(z); u = np.where(fin, z / t + b, -np.inf)
            u = u - u.max(1, keepdims=True); e = np.where(fin, np.exp(u), 0); q = e / e.sum(1, keepdims=True)
            cls = np.unique(yy); w = np.zeros(len(yy))
            for c in cls: w[yy == c] = 1.0 / (len(cls) * (yy == c).sum())
            w /= len(lg)
            tot -= np.sum(w * np.log(q[np.arange(len(yy)), yy] + 1e-12))
            d = q.copy(); d[np.arange(len(yy)), yy] -= 1; d *= w[:, None]
            g[1:] += d.sum(0)
            zz = np.where(fin, z, 0); g[0] += np.sum(d * (-zz / t))
        tot += reg * np.sum(b ** 2); g[1:] += 2 * reg * b
        return tot, g
    r = minimize(cost, np.zeros(k + 1), jac=True, method="L-BFGS-B")
    return float(np.exp(r.x[0])), r.x[1:]
def apply_bias(p, t, b):
    z = log(p) / t + b; z = np.where(p > 0, z, -np.inf); z -= z.max(1, keepdims=True); e = np.exp(z); return e / e.sum(1, keepdims=True)
def run(spec):
    members, ws, how = spec["members"], spec.get("weights", [1] * len(spec["members"])), spec.get("how", "arith")
    held = np.zeros((len(y), len(labels))); out = {}
    for c in cs:
        te = corpus == c
        mts = [1.0] * len(members)
        if spec.get("member_T"):
            mts = []
            for m in members:
                l2, t2 = [], []
                for o in cs:
                    if o == c: continue
                    q = load(m)[f"inner|{c}|{o}"]; yo = y[corpus == o]; ok = q[np.arange(len(yo)), yo] > 0
                    l2.append(log(q[ok])); t2.append(yo[ok])
                mts.append(fit_T(l2, t2, "eq"))
        T_ = lambda p, t: with_temperature(p, t) if t != 1.0 else p
        p = combine([T_(load(m)[f"outer|{c}"], t) for m, t in zip(members, mts)], ws, how)
        lg, tr, qs = [], [], []
        for o in (cs if spec.get("calibrate", True) else []):
            if o == c: continue
            q = combine([T_(load(m)[f"inner|{c}|{o}"], t) for m, t in zip(members, mts)], ws, how); yo = y[corpus == o]
            ok = q[np.arange(len(yo)), yo] > 0; lg.append(log(q[ok])); tr.append(yo[ok]); qs.append(q[ok])
        T = fit_T(lg, tr, spec.get("calib", "nll")) if spec.get("calibrate", True) else 1.0
        if "bias" in spec:
            t, b = fit_bias([np.where(q > 0, log(q), -np.inf) for q in qs], tr, spec["bias"])
            lab = [labels[i] for i in range(len(labels))]
            print(c, "T", round(t, 2), " ".join(f"{l}:{v:+.2f}" for l, v in zip(lab, b)), file=sys.stderr)
            p = apply_bias(p, t, b); T = 1.0
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
