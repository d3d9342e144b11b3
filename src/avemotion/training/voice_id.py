"""Who is speaking: a projection of the voice encoder's statistics in which speakers differ and emotions do not.

The voice encoder's layer statistics (:func:`avemotion.speech.features.voice_statistics`) move
more with emotion than with the speaker, so a recording of one angry-then-calm voice looks like
two voices in them. A linear discriminant analysis over the training corpora's speakers, with
every emotion of each speaker in its within-class scatter, keeps the directions along which
speakers differ and emotions do not. It ships as ``voice_id.onnx`` (standardise, project, unit
length) and is what :mod:`avemotion.speech.voices` reads to decide whether a recording's segments
are one voice before they are standardised against each other.

The threshold is chosen here, on recordings built from held-out corpora (leave one corpus out):
ten clips of one speaker against five and five of two speakers of the same corpus.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..datasets import Item

DIM = 64
SHRINKAGE = 0.1


def fit_projection(x: np.ndarray, speakers: np.ndarray, dim: int = DIM) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(mean, scale, W (features x dim)) of a shrunk LDA over ``speakers``; embeddings are ((x - mean) / scale) @ W."""
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

    mean, scale = x.mean(0), x.std(0) + 1e-6
    dim = min(dim, len(set(speakers)) - 1)
    lda = LinearDiscriminantAnalysis(n_components=dim, solver="eigen", shrinkage=SHRINKAGE)
    lda.fit((x - mean) / scale, speakers)
    return mean.astype(np.float32), scale.astype(np.float32), lda.scalings_[:, :dim].astype(np.float32)


def embed(x: np.ndarray, mean: np.ndarray, scale: np.ndarray, w: np.ndarray) -> np.ndarray:
    z = ((x - mean) / scale) @ w
    return z / np.maximum(np.linalg.norm(z, axis=1, keepdims=True), 1e-9)


def recordings(speakers: np.ndarray, rng: np.random.Generator, n: int = 400, size: int = 10):
    """Index sets of made-up recordings: (one voice, ``size`` clips) and (two voices, half each)."""
    names = np.unique(speakers)
    by = {s: np.flatnonzero(speakers == s) for s in names}
    one, two = [], []
    for _ in range(n):
        s = rng.choice(names)
        if len(by[s]) < size:
            continue
        one.append(rng.choice(by[s], size, replace=False))
        t = rng.choice([x for x in names if x != s and len(by[x]) >= size // 2])
        two.append(
            np.concatenate([rng.choice(by[s], size // 2, replace=False), rng.choice(by[t], size // 2, replace=False)])
        )
    return one, two


def held_out_separation(x: np.ndarray, speakers: np.ndarray, corpus: np.ndarray, seed: int = 0) -> dict:
    """Per held-out corpus: the one-voice score of made-up one- and two-voice recordings (the projection
    fitted without it)."""
    from ..speech.voices import one_voice_score

    rng = np.random.default_rng(seed)
    out = {}
    for held in sorted(set(corpus)):
        tr = corpus != held
        params = fit_projection(x[tr], speakers[tr])
        z = embed(x[~tr], *params)
        one, two = recordings(speakers[~tr], rng)
        out[held] = {
            "one_voice": [one_voice_score(z[i]) for i in one],
            "two_voices": [one_voice_score(z[i]) for i in two],
        }
    return out


def choose_threshold(separation: dict, keep: float = 0.8) -> float:
    """The highest threshold that still lets at least ``keep`` of one-voice recordings adapt in every
    held-out corpus."""
    return float(min(np.quantile(v["one_voice"], 1 - keep) for v in separation.values()))


def export_voice_id(params: tuple[np.ndarray, np.ndarray, np.ndarray], path: Path) -> Path:
    """``statistics`` (N, 1536) → ``embedding`` (N, dim), unit length: an ONNX graph of four operators."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    mean, scale, w = params
    graph = helper.make_graph(
        [
            helper.make_node("Sub", ["statistics", "mean"], ["centred"]),
            helper.make_node("Div", ["centred", "scale"], ["standard"]),
            helper.make_node("MatMul", ["standard", "w"], ["projected"]),
            helper.make_node("LpNormalization", ["projected"], ["embedding"], axis=1, p=2),
        ],
        "voice_id",
        [helper.make_tensor_value_info("statistics", TensorProto.FLOAT, ["N", int(mean.size)])],
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["N", int(w.shape[1])])],
        [
            numpy_helper.from_array(mean, "mean"),
            numpy_helper.from_array(scale, "scale"),
            numpy_helper.from_array(w, "w"),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(model)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    return path


def train_voice_id(items: Sequence[Item], out: Path, command: str, keep: float = 0.8) -> Path:
    """Fit on every item's speaker, choose the threshold under leave one corpus out, write ONNX and card."""
    from ..bundles import write_card
    from .cards import corpus_licence
    from .speech import features_for

    x = np.stack(features_for(items, "voice", progress=False))
    speakers = np.array([it.speaker for it in items])
    corpus = np.array([it.corpus for it in items])
    separation = held_out_separation(x, speakers, corpus)
    threshold = choose_threshold(separation, keep)
    params = fit_projection(x, speakers)
    path = export_voice_id(params, out / "voice_id.onnx")
    measured = {
        c: {
            "one_voice_recordings_adapted": round(float(np.mean(np.array(v["one_voice"]) >= threshold)), 3),
            "two_voice_recordings_refused": round(float(np.mean(np.array(v["two_voices"]) < threshold)), 3),
        }
        for c, v in separation.items()
    }
    card = {
        "name": "voice_id",
        "task": "encoder",
        "labels": [],
        "inputs": {"statistics": {"kind": "voice", "layout": "N,1536: the voice encoder's statistics (voice_encoder)"}},
        "outputs": {"embedding": f"N,{params[2].shape[1]}: unit-length speaker embedding"},
        "architecture": f"standardisation and a shrunk linear discriminant analysis (shrinkage {SHRINKAGE}) over "
        f"{len(set(speakers))} speakers, every emotion of a speaker in its within-class scatter",
        "one_voice": {
            "threshold": round(threshold, 4),
            "score": "cosine between the centroids of the two halves a recording's segments split into "
            "along their first principal direction (1: no second voice)",
            "chosen_on": f"made-up recordings of held-out corpora (leave one corpus out): ten clips of one "
            f"speaker against five and five of two; the highest threshold that lets at least "
            f"{keep:.0%} of one-voice recordings adapt in every held-out corpus",
            "held_out": measured,
        },
        "data": {"corpus": sorted(set(corpus)), "clips": len(items), "speakers": len(set(speakers))},
        "licence": corpus_licence(sorted(set(corpus))),
        "command": command,
    }
    write_card(path, card)
    return path
