"""Training and cross-validating speech emotion models.

Two model kinds:

* ``baseline`` — the seed: 193 averaged librosa features, standardised, into an MLP (300 hidden
  units), scikit-learn. Exported to ONNX with skl2onnx.
* ``cnn`` — :class:`~avemotion.training.speech_nets.SpeechCNN` on 64-band log-mel frames, trained
  with random crops, vocal-tract-length (mel-axis) warping, time stretching, SpecAugment, mixup
  and label smoothing; exported to ONNX with a dynamic time axis.

:func:`cross_validate` runs speaker-independent K-fold (GroupKFold over speakers: no speaker is
ever in both train and test) with fixed seeds, so a rerun prints the same numbers.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from ..datasets import Item
from ..evaluation import score
from ..speech.features import SEED_DIM, LogMelConfig, extract_many
from ..taxonomy import SPEECH_EMOTIONS

log = logging.getLogger(__name__)


@dataclass
class CNNConfig:
    """Hyperparameters of the log-mel CNN (chosen by speaker-independent CV on RAVDESS)."""

    epochs: int = 40
    batch_size: int = 32
    lr: float = 3e-3
    weight_decay: float = 1e-3
    crop_frames: int = 192  # ~1.9 s, the median trimmed RAVDESS clip
    widths: tuple[int, ...] = (16, 32, 64, 128)
    dropout: float = 0.3
    label_smoothing: float = 0.1
    mixup_alpha: float = 0.4
    mixup_prob: float = 0.5
    warp: float = 0.1  # mel-axis warp factor range (VTLP-like)
    stretch: float = 0.1  # time-stretch factor range
    freq_masks: int = 2
    freq_mask_width: int = 8
    time_masks: int = 2
    time_mask_width: int = 25
    seed: int = 0
    threads: int = 2


# ---------------------------------------------------------------------------------------------
# Baseline: the seed's features and MLP


def make_baseline(seed: int = 0):
    """The seed's classifier: standardised 193 features → MLP(300), as a scikit-learn pipeline."""
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    mlp = MLPClassifier(hidden_layer_sizes=(300,), alpha=0.01, batch_size=256, learning_rate="adaptive",
                        max_iter=500, random_state=seed)
    return make_pipeline(StandardScaler(), mlp)


def export_baseline(model, path: Path) -> Path:
    """Write the scikit-learn pipeline as ONNX taking ``features`` (N, 193) → ``probabilities``."""
    from skl2onnx import to_onnx
    from skl2onnx.common.data_types import FloatTensorType

    onx = to_onnx(model, initial_types=[("features", FloatTensorType([None, SEED_DIM]))],
                  options={id(model.steps[-1][1]): {"zipmap": False}}, target_opset=17)
    # Name the outputs as every avemotion model does.
    for out in onx.graph.output:
        if out.name == "probabilities":
            break
    path.write_bytes(onx.SerializeToString())
    return path


# ---------------------------------------------------------------------------------------------
# CNN on log-mel


def _torch():
    import torch

    return torch


def _crop_batch(mels: Sequence[np.ndarray], frames: int, rng: np.random.Generator) -> np.ndarray:
    """Random crops of ``frames`` frames; shorter clips are tiled to length."""
    out = np.empty((len(mels), 1, mels[0].shape[0], frames), dtype=np.float32)
    for i, m in enumerate(mels):
        t = m.shape[1]
        if t < frames:
            m = np.tile(m, (1, int(np.ceil(frames / t))))
            t = m.shape[1]
        s = int(rng.integers(0, t - frames + 1))
        out[i, 0] = m[:, s:s + frames]
    return out


def _augment(x, cfg: CNNConfig, gen):
    """Mel-axis warp, time stretch and SpecAugment masks on a batch (B, 1, M, T), in torch."""
    torch = _torch()
    import torch.nn.functional as F

    b, _, m, t = x.shape
    # Vocal-tract-length-like warp: read band m*alpha (one alpha per clip).
    alpha = 1 + (torch.rand(b, generator=gen) * 2 - 1) * cfg.warp
    pos = (torch.arange(m).float()[None, :] * alpha[:, None]).clamp(0, m - 1)  # (B, M)
    lo = pos.floor().long()
    hi = (lo + 1).clamp(max=m - 1)
    frac = (pos - lo.float())[:, None, :, None]
    gather = lambda idx: torch.gather(x, 2, idx[:, None, :, None].expand(b, 1, m, t))
    x = gather(lo) * (1 - frac) + gather(hi) * frac
    # Time stretch: one factor per batch keeps shapes equal; crop/pad back to t.
    factor = 1 + (float(torch.rand(1, generator=gen)) * 2 - 1) * cfg.stretch
    nt = max(8, int(round(t * factor)))
    x = F.interpolate(x, size=(m, nt), mode="bilinear", align_corners=False)
    x = x[..., :t] if nt >= t else torch.cat([x, x[..., : t - nt]], dim=3)
    # SpecAugment: masks filled with each clip's mean.
    fill = x.mean(dim=(2, 3), keepdim=True)
    for _ in range(cfg.freq_masks):
        w = torch.randint(0, cfg.freq_mask_width + 1, (b,), generator=gen)
        s = (torch.rand(b, generator=gen) * (m - w)).long()
        band = torch.arange(m)[None, :]
        mask = (band >= s[:, None]) & (band < (s + w)[:, None])
        x = torch.where(mask[:, None, :, None], fill, x)
    for _ in range(cfg.time_masks):
        w = torch.randint(0, cfg.time_mask_width + 1, (b,), generator=gen)
        s = (torch.rand(b, generator=gen) * (t - w)).long()
        frame = torch.arange(t)[None, :]
        mask = (frame >= s[:, None]) & (frame < (s + w)[:, None])
        x = torch.where(mask[:, None, None, :], fill, x)
    return x


def train_cnn(mels: Sequence[np.ndarray], labels: Sequence[int], cfg: CNNConfig = CNNConfig(),
              n_classes: int = len(SPEECH_EMOTIONS), log_every: int = 5):
    """Train a :class:`SpeechCNN` on log-mel arrays (each (64, T)) and integer labels."""
    torch = _torch()
    from .speech_nets import SpeechCNN

    torch.manual_seed(cfg.seed)
    torch.set_num_threads(cfg.threads)
    rng = np.random.default_rng(cfg.seed)
    gen = torch.Generator().manual_seed(cfg.seed)
    model = SpeechCNN(n_classes, mels[0].shape[0], cfg.widths, cfg.dropout)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    n = len(mels)
    steps = cfg.epochs * int(np.ceil(n / cfg.batch_size))
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=steps, pct_start=0.2)
    y_all = np.asarray(labels)
    eye = torch.eye(n_classes)
    for epoch in range(cfg.epochs):
        model.train()
        order = rng.permutation(n)
        total, t0 = 0.0, time.time()
        for s in range(0, n, cfg.batch_size):
            idx = order[s:s + cfg.batch_size]
            x = torch.from_numpy(_crop_batch([mels[i] for i in idx], cfg.crop_frames, rng))
            x = _augment(x, cfg, gen)
            target = eye[torch.from_numpy(y_all[idx])]
            target = target * (1 - cfg.label_smoothing) + cfg.label_smoothing / n_classes
            if cfg.mixup_alpha > 0 and rng.random() < cfg.mixup_prob:
                lam = float(rng.beta(cfg.mixup_alpha, cfg.mixup_alpha))
                perm = torch.from_numpy(rng.permutation(len(idx)))
                x = lam * x + (1 - lam) * x[perm]
                target = lam * target + (1 - lam) * target[perm]
            logits = model(x)
            loss = -(target * torch.log_softmax(logits, dim=1)).sum(dim=1).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss.detach()) * len(idx)
        if log_every and (epoch + 1) % log_every == 0:
            log.info("epoch %d/%d loss %.4f (%.1fs)", epoch + 1, cfg.epochs, total / n, time.time() - t0)
    model.eval()
    return model


def predict_cnn(model, mels: Sequence[np.ndarray]) -> np.ndarray:
    """Class probabilities (N, C) for whole clips, one forward pass per clip."""
    torch = _torch()
    out = []
    with torch.no_grad():
        for m in mels:
            x = torch.from_numpy(np.ascontiguousarray(m, dtype=np.float32))[None, None]
            out.append(torch.softmax(model(x), dim=1)[0].numpy())
    return np.stack(out)


def export_cnn(model, path: Path, n_mels: int = 64) -> Path:
    """Write the CNN as ONNX: ``logmel`` (N, 1, n_mels, T) → ``probabilities`` (N, C)."""
    torch = _torch()

    class WithSoftmax(torch.nn.Module):
        def __init__(self, net):
            super().__init__()
            self.net = net

        def forward(self, x):
            return torch.softmax(self.net(x), dim=1)

    wrapped = WithSoftmax(model).eval()
    dummy = torch.zeros(1, 1, n_mels, 300)
    torch.onnx.export(wrapped, (dummy,), str(path), input_names=["logmel"], output_names=["probabilities"],
                      dynamic_axes={"logmel": {0: "batch", 3: "frames"}, "probabilities": {0: "batch"}},
                      opset_version=17, dynamo=False)
    return path


# ---------------------------------------------------------------------------------------------
# Speaker-independent cross-validation


@dataclass
class CVResult:
    """What :func:`cross_validate` measured."""

    model: str
    folds: int
    metrics: dict
    fold_metrics: list[dict]
    train_metrics: dict | None = None
    fold_speakers: list[list[str]] = field(default_factory=list)
    seconds: float = 0.0
    probabilities: list[list[float]] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


def features_for(items: Sequence[Item], kind: str, cache_dir="default", progress: bool = True) -> list[np.ndarray]:
    """Feature arrays for items: ``"seed"`` (193) or ``"logmel"`` (64 x T)."""
    return extract_many([it.path for it in items], kind, cache_dir=cache_dir, progress=progress)


def cross_validate(items: Sequence[Item], model: str = "cnn", folds: int = 6, cfg: CNNConfig | None = None,
                   seed: int = 0, cache_dir="default", progress: bool = True) -> CVResult:
    """Speaker-independent K-fold CV (speakers grouped) of a ``baseline`` or ``cnn`` model."""
    from sklearn.model_selection import GroupKFold

    t0 = time.time()
    labels = list(SPEECH_EMOTIONS)
    y = np.array([labels.index(it.label) for it in items])
    groups = np.array([it.speaker for it in items])
    kind = "seed" if model == "baseline" else "logmel"
    feats = features_for(items, kind, cache_dir, progress)
    probs = np.zeros((len(items), len(labels)), dtype=np.float32)
    fold_metrics, fold_speakers = [], []
    splitter = GroupKFold(n_splits=folds)
    for k, (tr, te) in enumerate(splitter.split(np.zeros(len(y)), y, groups)):
        assert not set(groups[tr]) & set(groups[te]), "a speaker is in train and test"
        if model == "baseline":
            clf = make_baseline(seed).fit(np.stack([feats[i] for i in tr]), y[tr])
            p = _full_proba(clf, np.stack([feats[i] for i in te]), len(labels))
        elif model == "cnn":
            c = cfg or CNNConfig(seed=seed)
            net = train_cnn([feats[i] for i in tr], y[tr], c)
            p = predict_cnn(net, [feats[i] for i in te])
        else:
            raise ValueError(f"unknown speech model {model!r}; choose baseline or cnn")
        probs[te] = p
        m = score(y[te], p.argmax(1), labels)
        fold_metrics.append({k2: m[k2] for k2 in ("n", "unweighted_accuracy", "weighted_accuracy", "macro_f1")})
        fold_speakers.append(sorted(set(groups[te].tolist())))
        log.info("fold %d/%d speakers %s: UA %.4f", k + 1, folds, ",".join(fold_speakers[-1]),
                 m["unweighted_accuracy"])
    metrics = score(y, probs.argmax(1), labels)
    train_metrics = None
    if model == "baseline":
        clf = make_baseline(seed).fit(np.stack(feats), y)
        train_metrics = score(y, clf.predict(np.stack(feats)), labels)
    return CVResult(model, folds, metrics, fold_metrics, train_metrics, fold_speakers, round(time.time() - t0, 1),
                    probs.round(5).tolist())


def _full_proba(clf, x: np.ndarray, n: int) -> np.ndarray:
    """predict_proba with a column for every class, even ones absent from a fold's training data."""
    p = clf.predict_proba(x)
    out = np.zeros((len(x), n), dtype=np.float32)
    out[:, clf.classes_] = p
    return out


# ---------------------------------------------------------------------------------------------
# Commands: evaluate (CV report) and train (final model + card)

RAVDESS_LICENCE = ("CC BY-NC-SA 4.0: weights trained on RAVDESS (Livingstone & Russo 2018, "
                   "doi:10.1371/journal.pone.0196391); non-commercial research use, attribute, share alike")


def _cfg(seed: int, epochs: int | None) -> CNNConfig:
    cfg = CNNConfig(seed=seed)
    if epochs:
        cfg.epochs = epochs
    return cfg


def cross_validate_report(items: Sequence[Item], model: str, folds: int, seed: int, out: Path,
                          epochs: int | None = None) -> dict:
    """Run :func:`cross_validate` and write ``metrics.json`` and ``confusion.png`` into ``out``."""
    from ..evaluation import plot_confusion, write_json

    result = cross_validate(items, model, folds, _cfg(seed, epochs), seed)
    report = result.to_dict()
    report.pop("probabilities")
    report["protocol"] = (f"speaker-independent {folds}-fold cross-validation (GroupKFold over speakers; "
                          "no speaker in both train and test), fixed seed")
    report["data"] = {"n": len(items), "speakers": len({it.speaker for it in items}),
                      "corpus": sorted({it.corpus for it in items})}
    if model == "cnn":
        report["config"] = asdict(_cfg(seed, epochs))
    out.mkdir(parents=True, exist_ok=True)
    write_json(report, out / "metrics.json")
    m = result.metrics
    title = f"{model}, speaker-independent {folds}-fold: UA {m['unweighted_accuracy']:.3f}"
    plot_confusion(m["confusion_matrix"], m["labels"], out / "confusion.png", title)
    return report


def train_and_export(items: Sequence[Item], model: str, out: Path, seed: int = 0, epochs: int | None = None,
                     cv_metrics: str | None = None, name: str | None = None) -> Path:
    """Train on all ``items`` and write ``NAME.onnx`` plus its card into ``out``."""
    from ..bundles import write_card

    out.mkdir(parents=True, exist_ok=True)
    labels = list(SPEECH_EMOTIONS)
    y = np.array([labels.index(it.label) for it in items])
    name = name or ("speech" if model == "cnn" else "speech_baseline")
    path = out / f"{name}.onnx"
    card: dict = {"name": name, "task": "speech", "labels": labels}
    if model == "baseline":
        feats = np.stack(features_for(items, "seed"))
        clf = make_baseline(seed).fit(feats, y)
        export_baseline(clf, path)
        train_acc = score(y, clf.predict(feats), labels)
        card["input"] = {"kind": "seed", "sample_rate": 16000, "dim": SEED_DIM}
        card["architecture"] = "seed: 193 averaged librosa features, StandardScaler, MLP (300 ReLU units), sklearn"
        card["training_accuracy"] = {k: train_acc[k] for k in ("unweighted_accuracy", "weighted_accuracy")}
    elif model == "cnn":
        cfg = _cfg(seed, epochs)
        mels = features_for(items, "logmel")
        net = train_cnn(mels, y, cfg)
        export_cnn(net, path)
        card["input"] = {"kind": "logmel", **LogMelConfig().to_dict(), "trim_top_db": 35,
                         "layout": "N,1,n_mels,frames; natural log of mel power + 1e-6"}
        card["architecture"] = ("4 conv blocks (2x conv3x3+BN+ReLU, maxpool 2x2; widths "
                                f"{list(cfg.widths)}), per-utterance band-mean normalisation, mean+max "
                                "pooling over time, dense 128, softmax")
        card["parameters"] = int(sum(p.numel() for p in net.parameters()))
        card["training"] = {"config": asdict(cfg)}
    else:
        raise ValueError(f"unknown speech model {model!r}")
    card["data"] = {"corpus": sorted({it.corpus for it in items}), "clips": len(items),
                    "speakers": len({it.speaker for it in items})}
    card["licence"] = RAVDESS_LICENCE
    if cv_metrics:
        cv = json.loads(Path(cv_metrics).read_text())
        m = cv["metrics"]
        card["metrics"] = {"protocol": cv.get("protocol"), "unweighted_accuracy": m["unweighted_accuracy"],
                           "weighted_accuracy": m["weighted_accuracy"], "macro_f1": m["macro_f1"],
                           "per_class_recall": m["per_class_recall"], "fold_metrics": cv.get("fold_metrics"),
                           "headline": f"UA {m['unweighted_accuracy']:.3f} speaker-independent"}
        if cv.get("train_metrics"):
            card["metrics"]["training_data_unweighted_accuracy"] = cv["train_metrics"]["unweighted_accuracy"]
    write_card(path, card)
    return path
