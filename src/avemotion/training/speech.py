"""Training and cross-validating speech emotion models.

Two model kinds:

* ``baseline`` — the original system: 193 averaged librosa features, standardised, into an MLP (300 hidden
  units), scikit-learn. Exported to ONNX with skl2onnx.
* ``cnn`` — :class:`~avemotion.training.speech_nets.SpeechCNN` on 64-band log-mel frames, trained
  with random crops, vocal-tract-length (mel-axis) warping, time stretching, SpecAugment, mixup
  and label smoothing; exported to ONNX with a dynamic time axis.

The protocols that score them (speaker-independent folds, leave one corpus out) are in
:mod:`avemotion.evaluation.protocols`; the model cards' text in :mod:`avemotion.training.cards`.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ..datasets import Item
from ..errors import AvemotionError
from ..evaluation import score, speaker_keys
from ..speech.features import BASELINE_DIM, LogMelConfig
from ..taxonomy import SPEECH_EMOTIONS
from .cards import (
    ATTENTION_TEXT,
    CNN_TEXT,
    ENCODER_CODEC_TEXT,
    ENCODER_TEXT,
    LINEAR_TEXT,
    corpus_licence,
    with_cv_metrics,
)
from .features import extract_many

log = logging.getLogger(__name__)


@dataclass
class CNNConfig:
    """Hyperparameters of the log-mel CNN (chosen by speaker-independent CV on RAVDESS)."""

    epochs: int = 30
    batch_size: int = 32
    lr: float = 1e-3
    weight_decay: float = 1e-3
    crop_frames: int = 192  # ~1.9 s, the median trimmed RAVDESS clip
    widths: tuple[int, ...] = (16, 32, 64, 128)
    dropout: float = 0.2
    label_smoothing: float = 0.1
    mixup_alpha: float = 0.4
    mixup_prob: float = 0.0  # mixup and heavier masking underfit: fold-1 UA 0.42 vs 0.56 without
    warp: float = 0.1  # mel-axis warp factor range (VTLP-like)
    stretch: float = 0.1  # time-stretch factor range
    freq_masks: int = 1
    freq_mask_width: int = 8
    time_masks: int = 1
    time_mask_width: int = 25
    seed: int = 0
    threads: int = 2


# ---------------------------------------------------------------------------------------------
# Baseline: the original system's features and MLP


def make_baseline(seed: int = 0):
    """The original system's classifier: standardised 193 features → MLP(300), as a scikit-learn pipeline."""
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    mlp = MLPClassifier(
        hidden_layer_sizes=(300,), alpha=0.01, batch_size=256, learning_rate="adaptive", max_iter=500, random_state=seed
    )
    return make_pipeline(StandardScaler(), mlp)


def make_linear(seed: int = 0, alpha: float = 3000.0):
    """Standardised functional features → ridge classifiers, sigmoid-calibrated (5-fold bagged).

    Measured speaker-independently on RAVDESS (6 folds by actor, UA): this 0.611, plain ridge
    0.595, logistic regression 0.572 (C 0.001–0.1), RBF SVM 0.541.
    """
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.linear_model import RidgeClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), CalibratedClassifierCV(RidgeClassifier(alpha=alpha), method="sigmoid", cv=5))


class MaskedSoftmax:
    """Softmax regression on standardised features whose loss sees only the classes a clip's corpus has.

    Training on several corpora at once, each with its own label set: for a clip of a corpus
    without ``disgust`` (CASIA), the softmax is renormalised over the classes that corpus has, so
    its clips never teach the model that disgust is rare or wrong for voices like theirs.
    ``absent`` (one weight per class, default all 0) softens that: a class its corpus lacks enters
    a clip's softmax with that weight (1: as if the corpus had the class and the clip were not of
    it), which keeps a class only one corpus has from drawing the other corpora's voices. L2
    penalty ``1 / (C * n)`` on the weights (like scikit-learn's ``C``), full-batch L-BFGS in torch.
    ``sample_weight`` (e.g. :func:`balanced_weights`) weighs each clip's loss; it is rescaled to
    mean 1, so the penalty keeps its meaning. ``consistency`` with ``pairs`` (rows ``a[i]`` and
    ``b[i]`` of ``x``: a clip and its copy through a codec) adds ``consistency`` times the mean
    squared change of the logits between the two: the regression is kept from reading what the
    codec changes, not merely shown both versions.
    """

    def __init__(
        self,
        C: float = 0.003,
        n_classes: int = len(SPEECH_EMOTIONS),
        max_iter: int = 300,
        absent: np.ndarray | None = None,
        consistency: float = 0.0,
    ) -> None:
        self.C, self.n_classes, self.max_iter = C, n_classes, max_iter
        self.absent, self.consistency = absent, consistency

    def fit(
        self,
        x: np.ndarray,
        y: np.ndarray,
        masks: np.ndarray | None = None,
        sample_weight: np.ndarray | None = None,
        pairs: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> MaskedSoftmax:
        torch = _torch()
        torch.manual_seed(0)
        x = np.asarray(x, np.float64)
        self.mean_ = x.mean(axis=0).astype(np.float32)
        self.scale_ = np.where(x.std(axis=0) > 1e-8, x.std(axis=0), 1.0).astype(np.float32)
        xt = torch.from_numpy((x.astype(np.float32) - self.mean_) / self.scale_)
        yt = torch.from_numpy(np.asarray(y, np.int64))
        allowed = torch.ones(len(y), self.n_classes, dtype=torch.bool) if masks is None else torch.from_numpy(masks)
        w = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, np.float64)
        wt = torch.from_numpy((w / w.mean()).astype(np.float32))
        lin = torch.nn.Linear(x.shape[1], self.n_classes)
        torch.nn.init.zeros_(lin.weight)
        torch.nn.init.zeros_(lin.bias)
        penalty = 1.0 / (self.C * len(y))
        opt = torch.optim.LBFGS(lin.parameters(), max_iter=self.max_iter, line_search_fn="strong_wolfe")
        offset = absent_offset(self.absent, allowed)
        moved = xt[pairs[0]] - xt[pairs[1]] if self.consistency and pairs is not None and len(pairs[0]) else None

        def closure():
            opt.zero_grad()
            z = lin(xt).masked_fill(~allowed, -1e9) if offset is None else lin(xt) + offset
            loss = (torch.nn.functional.cross_entropy(z, yt, reduction="none") * wt).mean() + penalty * (
                lin.weight**2
            ).sum()
            if moved is not None:
                loss = loss + self.consistency * ((moved @ lin.weight.T) ** 2).sum(dim=1).mean()
            loss.backward()
            return loss

        opt.step(closure)
        self.seen_ = (allowed.any(dim=0) & (torch.bincount(yt, minlength=self.n_classes) > 0)).numpy()
        self.coef_ = lin.weight.detach().numpy().copy()
        self.intercept_ = lin.bias.detach().numpy().copy()
        return self

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        z = ((np.asarray(x, np.float32) - self.mean_) / self.scale_) @ self.coef_.T + self.intercept_
        return _seen_softmax(z, self.seen_)


def absent_offset(absent: np.ndarray | None, allowed):
    """Log-weights added to each clip's logits for the classes its corpus lacks (0 where it has the
    class; :class:`MaskedSoftmax`'s ``absent``); None: the plain mask (all weights 0)."""
    if absent is None or not np.any(absent):
        return None
    torch = _torch()
    log_w = torch.from_numpy(np.log(np.maximum(np.asarray(absent, np.float64), 1e-30)).astype(np.float32))
    return torch.where(allowed, torch.zeros(()), log_w.expand_as(allowed))


def _seen_softmax(z: np.ndarray, seen: np.ndarray) -> np.ndarray:
    """Softmax of logits ``z`` in which a class no training clip had gets exactly no probability
    (not e^-30: a calibration reads log p)."""
    z = np.where(seen, z, -np.inf)
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def balanced_weights(corpus: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Per-clip loss weights under which every (corpus, class) cell counts the same, mean 1.

    Without them the largest corpus sets the decision boundaries (RAVDESS has 1,440 clips to
    EMOVO's 588) and a class a corpus holds twice as often (RAVDESS's emotions beside its
    neutral) is favoured; with them each corpus's voices and each of its classes weigh alike,
    which is what a model for corpora it has never heard needs. Chosen under leave-one-corpus-out
    (README: what it changed).
    """
    cells = np.char.add(np.asarray(corpus).astype(str), np.char.add("|", np.asarray(y).astype(str)))
    _, inverse, counts = np.unique(cells, return_inverse=True, return_counts=True)
    w = 1.0 / counts[inverse.reshape(-1)]
    return w / w.mean()


@dataclass(frozen=True)
class Member:
    """One regression of the cross-corpus recipe: the features it reads and how it is fitted.

    ``C``: :class:`MaskedSoftmax`'s inverse penalty. ``consistency``: its codec-consistency weight
    (the logits' change between each lossless training clip and its Opus copy, penalised).
    ``descriptors`` (functionals only): the low-level descriptors whose 20 statistics, and their
    deltas', the member reads, by index into
    :data:`~avemotion.speech.features.DESCRIPTORS`; None: all 101.
    """

    kind: str
    C: float
    consistency: float = 0.0
    descriptors: tuple[int, ...] | None = None

    def columns(self) -> np.ndarray | None:
        """Which columns of the ``kind`` features the member reads (None: all)."""
        if self.descriptors is None:
            return None
        from ..speech.features import FUNCTIONALS, N_DESCRIPTORS

        k = len(FUNCTIONALS)
        static = np.concatenate([np.arange(d * k, (d + 1) * k) for d in self.descriptors])
        return np.concatenate([static, static + N_DESCRIPTORS * k])

    def read(self, x: np.ndarray) -> np.ndarray:
        """The member's columns of a feature matrix."""
        cols = self.columns()
        return x if cols is None else x[:, cols]


@dataclass(frozen=True)
class AttentionMember:
    """The recipe's one network: :class:`~avemotion.training.speech_nets.AttentionPooling` over
    Whisper's frames (``kind``), trained like the regressions — the loss masked by each clip's
    corpus (with :data:`ENCODER_ABSENT`), every (corpus, class) cell weighted alike, the codec
    copies among the training clips — by AdamW with a one-cycle rate over ``epochs``, in batches
    of ``batch`` clips of similar length. Small and briefly trained on purpose: the longer and
    wider it learned, the more it learned the training corpora (docs/models.md)."""

    kind: str = "whisperframes"
    hidden: int = 32
    epochs: int = 6
    lr: float = 2e-3
    weight_decay: float = 0.05
    batch: int = 64
    dropout: tuple[float, float] = (0.2, 0.3)
    consistency: float = 0.0
    seed: int = 0
    #: Networks trained from seeds ``seed``, ``seed + 1``, …, their probabilities averaged.
    seeds: int = 1
    #: Each training clip read, every epoch, as a random stretch of at least this share of its frames
    #: (1.0: whole clips).
    crop: float = 1.0


class AttentionClassifier:
    """A fitted :class:`AttentionMember`: ``predict_proba`` on a list of (T, D) frame arrays, the
    mean of its networks' probabilities."""

    def __init__(self, nets: Sequence, seen: np.ndarray) -> None:
        self.nets, self.seen_ = list(nets), seen

    def predict_proba(self, frames: Sequence[np.ndarray], batch: int = 128) -> np.ndarray:
        torch = _torch()
        out = np.zeros((len(frames), len(self.seen_)), np.float32)
        order = np.argsort([len(f) for f in frames], kind="stable")
        with torch.no_grad():
            for s in range(0, len(order), batch):
                j = order[s : s + batch]
                x, mask = _padded([frames[k] for k in j])
                out[j] = np.mean([_seen_softmax(net.eval()(x, mask).numpy(), self.seen_) for net in self.nets], axis=0)
        return out


def _stretch(f: np.ndarray, least: float, rng: np.random.Generator) -> np.ndarray:
    """A random contiguous stretch of frames ``f`` holding at least ``least`` of them (all at 1.0)."""
    if least >= 1.0 or len(f) < 2:
        return f
    keep = max(1, int(round(len(f) * rng.uniform(least, 1.0))))
    start = int(rng.integers(0, len(f) - keep + 1))
    return f[start : start + keep]


def _padded(frames: Sequence[np.ndarray]):
    """Frames of several clips as one zero-padded (N, T, D) float32 tensor and its (N, T) mask."""
    torch = _torch()
    longest = max(len(f) for f in frames)
    x = np.zeros((len(frames), longest, frames[0].shape[1]), np.float32)
    mask = np.zeros((len(frames), longest), bool)
    for i, f in enumerate(frames):
        x[i, : len(f)] = f
        mask[i, : len(f)] = True
    return torch.from_numpy(x), torch.from_numpy(mask)


def fit_attention(
    m: AttentionMember,
    frames: Sequence[np.ndarray],
    y: np.ndarray,
    masks: np.ndarray,
    weights: np.ndarray,
    n: int,
    absent: np.ndarray | None = None,
    pairs: tuple[np.ndarray, np.ndarray] | None = None,
) -> AttentionClassifier:
    """``m`` trained on the clips' ``frames`` (each (T, D)), labels ``y``, class masks and loss weights;
    ``absent`` as :class:`MaskedSoftmax`'s (None: the plain mask). With ``m.consistency`` and ``pairs``
    (``frames[a[i]]`` a clip, ``frames[b[i]]`` its codec copy), each step also adds that weight times
    the mean squared change of the logits between a batch of clips and their copies (dropout off for
    them), as :class:`MaskedSoftmax` does for the regressions. ``m.seeds`` networks, each so trained."""
    seen = masks.any(axis=0) & (np.bincount(y, minlength=n) > 0)
    nets = [
        _fit_attention_net(m, m.seed + k, frames, y, masks, weights, n, seen, absent, pairs) for k in range(m.seeds)
    ]
    return AttentionClassifier(nets, seen)


def _fit_attention_net(
    m: AttentionMember,
    seed: int,
    frames: Sequence[np.ndarray],
    y: np.ndarray,
    masks: np.ndarray,
    weights: np.ndarray,
    n: int,
    seen: np.ndarray,
    absent: np.ndarray | None,
    pairs: tuple[np.ndarray, np.ndarray] | None,
):
    """One network of :func:`fit_attention`, from ``seed``."""
    torch = _torch()
    from .speech_nets import AttentionPooling

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    sample = np.concatenate([np.asarray(f, np.float32) for f in frames[::7]])
    net = AttentionPooling(sample.shape[1], m.hidden, n, m.dropout)
    net.mean.copy_(torch.from_numpy(sample.mean(axis=0)))
    net.scale.copy_(torch.from_numpy(sample.std(axis=0) + 1e-5))
    net.unseen.copy_(torch.from_numpy(np.where(seen, 0.0, -30.0).astype(np.float32)))
    order = np.argsort([len(f) for f in frames], kind="stable")
    batches = [order[i : i + m.batch] for i in range(0, len(order), m.batch)]
    opt = torch.optim.AdamW(net.parameters(), m.lr / 2, weight_decay=m.weight_decay)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, m.lr, total_steps=m.epochs * len(batches))
    offsets = absent_offset(absent, torch.from_numpy(masks))
    w = torch.from_numpy((weights / weights.mean()).astype(np.float32))
    yt, allowed_all = torch.from_numpy(np.asarray(y, np.int64)), torch.from_numpy(masks)
    paired = m.consistency > 0 and pairs is not None and len(pairs[0]) > 0
    net.train()
    for _ in range(m.epochs):
        for b in rng.permutation(len(batches)):
            j = batches[b]
            x, mask = _padded([_stretch(np.asarray(frames[k], np.float32), m.crop, rng) for k in j])
            z = net(x, mask)
            z = z.masked_fill(~allowed_all[j], -1e9) if offsets is None else z + offsets[j]
            loss = (torch.nn.functional.cross_entropy(z, yt[j], reduction="none") * w[j]).mean()
            if paired:
                assert pairs is not None
                k = rng.choice(len(pairs[0]), size=min(m.batch, len(pairs[0])), replace=False)
                net.eval()
                za = net(*_padded([np.asarray(frames[i], np.float32) for i in pairs[0][k]]))
                zb = net(*_padded([np.asarray(frames[i], np.float32) for i in pairs[1][k]]))
                net.train()
                loss = loss + m.consistency * ((za - zb) ** 2).sum(dim=1).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
    return net.eval()


def member_input(m: Member | AttentionMember, feats: dict[str, list], rows: np.ndarray):
    """What member ``m`` reads of ``rows``: a matrix of its columns, or the list of their frames."""
    if isinstance(m, AttentionMember):
        return [feats[m.kind][i] for i in rows]
    return m.read(np.stack([feats[m.kind][i] for i in rows]))


#: The functionals member's descriptors: spectral shape (centroid … high/low band ratio), energy,
#: zero crossings, voicing and pitch, 17 of the 101 (680 of the 4,040 numbers); the 64 log-mel
#: bands and 20 MFCC, which carry the language, the speaker and the microphone as much as the
#: emotion, left out. Leave one corpus out over five corpora, per clip: the member alone 0.332 →
#: 0.365, the three members 0.418 → 0.442 (docs/models.md).
SPECTRAL_PROSODIC: tuple[int, ...] = tuple(range(84, 101))

#: The cross-corpus recipe's members (chosen under leave-one-corpus-out; docs/models.md says what
#: else was tried). The voice encoder's regression (consistency 10) and the functionals'
#: (consistency 1) are held to read the same from a clip and its Opus copy: through the codec the
#: spectral descriptors move most (the functionals member alone kept its top label for 0.78 of the
#: clips; 0.88 with the penalty). Penalising Whisper's too cost more UA than it won through the codec.
ENCODER_MEMBERS: dict[str, Member | AttentionMember] = {
    "voice": Member("voice", 0.003, consistency=10.0),
    "functionals": Member("functionals", 0.003, consistency=1.0, descriptors=SPECTRAL_PROSODIC),
    "whisper": Member("whisper", 0.003),
}

#: The ``encoder`` recipe's fourth member, beside :data:`ENCODER_MEMBERS`: a small network over
#: Whisper's frames, held to read the same from a clip and its Opus copy (weight 2) and trained on
#: random stretches of at least 0.6 of each clip. `avemotion speech` reads the segments its voice-activity
#: detector finds, which differ between a clip and its Opus copy: trained on whole clips the model kept
#: its top label through Opus for 0.947 of the benchmark's clips (penalty or not), on stretches 0.967.
#: Its gain over the three regressions depends on its seed (per clip: seed 0 +0.011, seed 1 +0.003);
#: ``encoder_regressions`` is the recipe without it (the previous `speech`; docs/models.md).
ATTENTION_MEMBERS: dict[str, Member | AttentionMember] = {"attention": AttentionMember(consistency=2.0, crop=0.6)}
#: The model kinds built from the cross-corpus members.
ENCODER_KINDS = ("encoder", "encoder_regressions")


def encoder_members(model: str = "encoder", adaptive: bool = False) -> dict[str, Member | AttentionMember]:
    """The members of ``model`` (an :data:`ENCODER_KINDS`); ``encoder_regressions`` and the speaker-adapted
    variant keep the regressions only (its standardisation within a recording is of fixed-size
    statistics, not of frames)."""
    extra = ATTENTION_MEMBERS if model == "encoder" and not adaptive else {}
    return {**ENCODER_MEMBERS, **extra}


#: Feature kinds that are a sequence of frames per clip (not one vector).
FRAME_KINDS = ("whisperframes",)


#: How much a corpus's clips count a class that corpus lacks (:class:`MaskedSoftmax`'s ``absent``;
#: unnamed classes 0, the plain mask). Calm is RAVDESS's alone: masked for the other four corpora,
#: it drew their quiet voices (held out, nEMO's sad clips were read as calm 241 times of 475). Counted
#: as a wrong answer for every other corpus's clips, leave-one-corpus-out over the five (per clip,
#: before calibration) went from mean UA 0.402 (nEMO 0.311) to 0.418 (nEMO 0.391); folding calm
#: into neutral gave 0.412, and softening the other classes' masks too (disgust, surprise) less
#: (docs/models.md).
ENCODER_ABSENT: dict[str, float] = {"calm": 1.0}


def absent_weights(absent: dict[str, float] = ENCODER_ABSENT) -> np.ndarray:
    """:data:`ENCODER_ABSENT` as one weight per speech label, in label order."""
    return np.array([absent.get(lab, 0.0) for lab in SPEECH_EMOTIONS])


#: Speaker adaptation (``speech_adaptive``): a voice's features are standardised against that
#: voice's own segments, the variance shrunk towards the training voices' with this weight (in
#: segments); the analyser uses it for a recording with at least ``ADAPT_MIN_SEGMENTS`` segments.
ADAPT_SHRINK = 10.0
ADAPT_MIN_SEGMENTS = 5
#: The speaker-adapted model carries no fitted temperature (its averaged members' probabilities as
#: they are): fitted across two training corpora, the temperature swung between 0.67 and 1.23 from
#: one held-out corpus to the next and raised the held-out calibration error (README).
ADAPT_CALIBRATE = False


def _shrunk_sd(x: np.ndarray, reference_var: np.ndarray, shrink: float) -> np.ndarray:
    n = len(x)
    return np.maximum(np.sqrt((n * x.var(axis=0) + shrink * reference_var) / (n + shrink)), 1e-6)


def standardise_by_speaker(
    x: np.ndarray, speakers: np.ndarray, reference_var: np.ndarray, shrink: float = ADAPT_SHRINK
) -> np.ndarray:
    """Each speaker's rows standardised by that speaker's mean and (shrunk) spread, as
    :class:`~avemotion.training.speech_nets.RecordingNorm` does for a recording's segments."""
    out = np.empty_like(x, dtype=np.float64)
    for s in np.unique(speakers):
        m = speakers == s
        out[m] = (x[m] - x[m].mean(axis=0)) / _shrunk_sd(x[m], reference_var, shrink)
    return out


def standardise_by_enrolment(
    x: np.ndarray, speakers: np.ndarray, k: int, reference_var: np.ndarray, shrink: float = ADAPT_SHRINK, seed: int = 0
) -> np.ndarray:
    """Each row standardised with itself and ``k`` other rows of its speaker drawn at random (seeded):
    a recording of ``k + 1`` segments of one voice, which is what the analyser adapts over."""
    from ..evaluation import enrolment

    out = np.empty_like(x, dtype=np.float64)
    for i, rows in enumerate(enrolment(speakers, k, seed)):
        out[i] = (x[i] - x[rows].mean(axis=0)) / _shrunk_sd(x[rows], reference_var, shrink)
    return out


def adapted_features(
    feats: dict[str, list], speakers: np.ndarray, tr: np.ndarray, te: np.ndarray, k: int, seed: int
) -> dict[str, list]:
    """A fold's features with speaker adaptation: training rows by their speaker's statistics, test
    rows each by ``k`` other clips of its speaker (the held-out voices' labels are never read)."""
    out = {}
    for kind, v in feats.items():
        if "@" in kind or kind in FRAME_KINDS:  # codec copies, frames: the adapted variant reads neither
            continue
        x = np.stack(v).astype(np.float64)
        ref = x[tr].var(axis=0)
        z = np.empty_like(x)
        z[tr] = standardise_by_speaker(x[tr], speakers[tr], ref)
        z[te] = standardise_by_enrolment(x[te], speakers[te], k, ref, seed=seed)
        out[kind] = list(z.astype(np.float32))
    return out


def corpus_masks(items: Sequence[Item]) -> np.ndarray:
    """(N, 8) booleans: the classes each clip's corpus has (its loss is renormalised over them)."""
    labels = list(SPEECH_EMOTIONS)
    has: dict[str, set[str]] = {}
    for it in items:
        has.setdefault(it.corpus, set()).add(it.label)
    return np.array([[lab in has[it.corpus] for lab in labels] for it in items], dtype=bool)


def sklearn_to_onnx(model, dim: int, input_name: str = "features"):
    """A scikit-learn pipeline as an ONNX model: ``input_name`` (N, dim) → ``probabilities`` (N, C)."""
    from skl2onnx import to_onnx
    from skl2onnx.common.data_types import FloatTensorType

    return to_onnx(
        model,
        initial_types=[(input_name, FloatTensorType([None, dim]))],
        options={id(model.steps[-1][1]): {"zipmap": False}},
        target_opset=17,
    )


def export_baseline(model, path: Path) -> Path:
    """Write the original system's pipeline as ONNX taking ``features`` (N, 193) → ``probabilities``."""
    path.write_bytes(sklearn_to_onnx(model, BASELINE_DIM).SerializeToString())
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
        out[i, 0] = m[:, s : s + frames]
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


def train_cnn(
    mels: Sequence[np.ndarray],
    labels: Sequence[int] | np.ndarray,
    cfg: CNNConfig | None = None,
    n_classes: int = len(SPEECH_EMOTIONS),
    log_every: int = 5,
    masks: np.ndarray | None = None,
):
    """Train a :class:`SpeechCNN` on log-mel arrays (each (64, T)) and integer labels.

    ``masks`` (N, n_classes), where given, says which classes each clip's corpus has: the softmax
    of the loss (and the label smoothing) is taken over those alone, as :class:`MaskedSoftmax`
    does, so a corpus without a class does not teach that the class is wrong for its voices.
    Mixed pairs (mixup) are scored over the union of their two corpora's classes.
    """
    torch = _torch()
    from .speech_nets import SpeechCNN

    cfg = cfg or CNNConfig()
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
    allowed = torch.from_numpy(np.ones((n, n_classes), bool) if masks is None else np.asarray(masks, bool))
    eye = torch.eye(n_classes)
    for epoch in range(cfg.epochs):
        model.train()
        order = rng.permutation(n)
        total, t0 = 0.0, time.time()
        for s in range(0, n, cfg.batch_size):
            idx = order[s : s + cfg.batch_size]
            x = torch.from_numpy(_crop_batch([mels[i] for i in idx], cfg.crop_frames, rng))
            x = _augment(x, cfg, gen)
            allow = allowed[torch.from_numpy(idx)]
            target = eye[torch.from_numpy(y_all[idx])]
            target = target * (1 - cfg.label_smoothing) + allow * cfg.label_smoothing / allow.sum(1, keepdim=True)
            if cfg.mixup_alpha > 0 and rng.random() < cfg.mixup_prob:
                lam = float(rng.beta(cfg.mixup_alpha, cfg.mixup_alpha))
                perm = torch.from_numpy(rng.permutation(len(idx)))
                x = lam * x + (1 - lam) * x[perm]
                target = lam * target + (1 - lam) * target[perm]
                allow = allow | allow[perm]
            logits = model(x).masked_fill(~allow, -1e4)
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
    from .export import export_classifier

    return export_classifier(model, _torch().zeros(1, 1, n_mels, 300), path, "logmel", {0: "batch", 3: "frames"})


# ---------------------------------------------------------------------------------------------
# Speaker-independent cross-validation


def features_for(
    items: Sequence[Item], kind: str, cache_dir="default", progress: bool = True, speed: float = 1.0
) -> list[np.ndarray]:
    """Feature arrays for items: ``"baseline"`` (193), ``"logmel"`` (64 x T) or ``"functionals"``."""
    return extract_many([it.path for it in items], kind, cache_dir=cache_dir, progress=progress, speed=speed)


#: Speed-perturbed copies (x0.9, x1.1) join the linear member's training set: other vocal-tract
#: lengths, roughly other speakers. Speaker-independent CV on RAVDESS, linear member alone:
#: UA 0.611 without, 0.640 with (one try, on the folds that also give the reported figures).
LINEAR_SPEEDS = (0.9, 1.1)


def perturbed_functionals(items: Sequence[Item], cache_dir="default", progress: bool = True) -> dict[str, list]:
    """``{"functionals@0.9": [...], "functionals@1.1": [...]}`` for :data:`LINEAR_SPEEDS`."""
    return {
        f"functionals@{s:g}": features_for(items, "functionals", cache_dir, progress, speed=s) for s in LINEAR_SPEEDS
    }


def _with_copies(
    feats: dict[str, list], x: np.ndarray, y: np.ndarray, rows: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Rows of ``x`` plus the same rows of every speed-perturbed copy in ``feats``."""
    copies = [np.stack(feats[k])[rows] for k in sorted(feats) if k.startswith("functionals@")]
    return np.concatenate([x[rows], *copies]), np.tile(y[rows], 1 + len(copies))


#: Which features each model kind reads.
MODEL_FEATURES = {
    "baseline": ("baseline",),
    "linear": ("functionals",),
    "cnn": ("logmel",),
    "ensemble": ("logmel", "functionals"),
    "encoder": ("voice", "functionals", "whisper", "whisperframes"),
    "encoder_regressions": ("voice", "functionals", "whisper"),
}


def fit_predict(
    model: str,
    feats: dict[str, list[np.ndarray]],
    y: np.ndarray,
    tr: np.ndarray,
    te: np.ndarray,
    cfg: CNNConfig,
    seed: int,
    n: int,
    masks: np.ndarray | None = None,
    corpus: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Train ``model`` on rows ``tr``; probabilities on rows ``te`` for it (and each ensemble member).

    ``masks`` (N, n) says which classes each clip's corpus has, and ``corpus`` (N,) which corpus
    each clip comes from: the ``encoder`` recipe's loss is renormalised by the first and
    balanced over the (corpus, class) cells of the second (:func:`balanced_weights`; without
    ``corpus``, over the classes alone, as for one corpus).
    """
    out: dict[str, np.ndarray] = {}
    if model in ENCODER_KINDS:
        members = {k: m for k, m in encoder_members(model).items() if m.kind in feats}  # adapted: no frames
        for name, m in members.items():
            clf = fit_member(m, feats, y, tr, n, masks, corpus)
            out[name] = clf.predict_proba(member_input(m, feats, te)).astype(np.float32)
        out[model] = np.mean([out[k] for k in members], axis=0)
    elif model in ("baseline", "linear"):
        kind = MODEL_FEATURES[model][0]
        make = make_baseline if model == "baseline" else make_linear
        x = np.stack(feats[kind])
        xtr, ytr = _with_copies(feats, x, y, tr) if model == "linear" else (x[tr], y[tr])
        out[model] = _full_proba(make(seed).fit(xtr, ytr), x[te], n)
    elif model == "cnn":
        p = _cached_fold(feats["logmel"], y, tr, te, cfg, None if masks is None else masks[tr])
        p = np.where(np.bincount(y[tr], minlength=n) > 0, p, 0.0)  # a class no training clip had: 0
        out["cnn"] = (p / p.sum(axis=1, keepdims=True)).astype(np.float32)
    elif model == "ensemble":
        out.update(fit_predict("cnn", feats, y, tr, te, cfg, seed, n))
        out.update(fit_predict("linear", feats, y, tr, te, cfg, seed, n))
        out["ensemble"] = (out["cnn"] + out["linear"]) / 2
    else:
        raise ValueError(f"unknown speech model {model!r}; choose from {sorted(MODEL_FEATURES)}")
    return out


def _cached_fold(
    mels: list[np.ndarray],
    y: np.ndarray,
    tr: np.ndarray,
    te: np.ndarray,
    cfg: CNNConfig,
    masks: np.ndarray | None = None,
) -> np.ndarray:
    """CNN test-fold probabilities, cached on disk by (config, training data, test data).

    The CNN is the slow member (minutes per fold on a CPU); caching lets an evaluation that
    changes only the other member skip retraining it. The key covers every input that
    determines the result, so a cache hit returns exactly what training would.
    """
    import hashlib

    from .features import default_cache_dir

    h = hashlib.sha1(json.dumps(asdict(cfg), sort_keys=True).encode())
    for idx in (tr, te):
        h.update(np.asarray(idx).tobytes())
        for i in idx:
            h.update(mels[i].tobytes())
        h.update(y[idx].tobytes())
    if masks is not None and not masks.all():  # unmasked keeps the key of earlier caches
        h.update(np.asarray(masks, bool).tobytes())
    path = default_cache_dir().parent / "cv" / f"cnn-{h.hexdigest()}.npy"
    if path.exists():
        return np.load(path, allow_pickle=False)
    p = predict_cnn(train_cnn([mels[i] for i in tr], y[tr], cfg, masks=masks), [mels[i] for i in te])
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, p, allow_pickle=False)
    return p


#: The codec the encoder recipe's lossless training clips are also heard through (None: off).
#: Two corpora (nEMO, ASED) are stored as Opus and many users' recordings are coded so; each
#: lossless clip joins training twice, as recorded and through the codec (the (corpus, class)
#: balance computed over both, so no corpus weighs more for it). The adapted variant does not use it.
ENCODER_CODEC: str | None = "opus32"
LOSSLESS_SUFFIXES = (".flac", ".wav")


def codec_features(items: Sequence[Item], kind: str, cache_dir="default", progress: bool = True) -> list:
    """``kind`` of each lossless clip heard through :data:`ENCODER_CODEC`; None for the others."""
    lossless = [i for i, it in enumerate(items) if Path(it.path).suffix.lower() in LOSSLESS_SUFFIXES]
    made = extract_many(
        [items[i].path for i in lossless], kind, cache_dir=cache_dir, progress=progress, codec=ENCODER_CODEC
    )
    out: list = [None] * len(items)
    for i, f in zip(lossless, made, strict=True):
        out[i] = f
    return out


def codec_rows(feats: dict[str, list], rows: np.ndarray) -> np.ndarray:
    """Those of ``rows`` that have a codec copy in ``feats`` (none when the recipe has no codec)."""
    key = next((k for k in feats if ENCODER_CODEC and k.endswith(f"@{ENCODER_CODEC}")), None)
    if key is None:
        return np.zeros(0, dtype=np.asarray(rows).dtype)
    return np.array([i for i in rows if feats[key][i] is not None], dtype=np.asarray(rows).dtype)


def with_codec_copies(feats: dict[str, list], kind: str, rows: np.ndarray) -> np.ndarray:
    """The ``kind`` features of ``rows``, followed by those of their codec copies (:func:`codec_rows`)."""
    x = np.stack([feats[kind][i] for i in rows])
    copies = codec_rows(feats, rows)
    if not len(copies):
        return x
    return np.concatenate([x, np.stack([feats[f"{kind}@{ENCODER_CODEC}"][i] for i in copies])])


def codec_pairs(feats: dict[str, list], rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where each clip and its codec copy sit in :func:`with_codec_copies`' matrix of ``rows``."""
    copies = codec_rows(feats, rows)
    where = {int(r): i for i, r in enumerate(rows)}
    return np.array([where[int(r)] for r in copies], dtype=np.int64), np.arange(len(rows), len(rows) + len(copies))


def fit_member(
    m: Member | AttentionMember,
    feats: dict[str, list],
    y: np.ndarray,
    rows: np.ndarray,
    n: int,
    masks: np.ndarray | None = None,
    corpus: np.ndarray | None = None,
) -> MaskedSoftmax | AttentionClassifier:
    """``m`` fitted on ``rows`` and their codec copies, every (corpus, class) cell weighted alike
    (:func:`balanced_weights`; without ``corpus``, the classes alone), the loss masked by ``masks``."""
    both = np.concatenate([rows, codec_rows(feats, rows)])
    w = balanced_weights(np.zeros(len(both)) if corpus is None else corpus[both], y[both])
    if isinstance(m, AttentionMember):
        copies = codec_rows(feats, rows)
        frames = [feats[m.kind][i] for i in rows] + [feats[f"{m.kind}@{ENCODER_CODEC}"][i] for i in copies]
        allowed = np.ones((len(both), n), bool) if masks is None else masks[both]
        absent = absent_weights() if n == len(SPEECH_EMOTIONS) else None
        return fit_attention(m, frames, y[both], allowed, w, n, absent, codec_pairs(feats, rows))
    clf = MaskedSoftmax(m.C, n, absent=absent_weights(), consistency=m.consistency)
    x = m.read(with_codec_copies(feats, m.kind, rows))
    return clf.fit(x, y[both], None if masks is None else masks[both], w, codec_pairs(feats, rows))


def model_features(
    items: Sequence[Item], model: str, cache_dir="default", progress: bool = True, codec: bool = True
) -> dict[str, list]:
    """Every feature kind ``model`` reads (and the augmented copies its members train on: speed for
    the linear member, the codec for the encoder's unless ``codec=False``, as the adapted variant,
    which trains on the clips alone, asks)."""
    feats = {kind: features_for(items, kind, cache_dir, progress) for kind in MODEL_FEATURES[model]}
    if model in ("linear", "ensemble"):
        feats.update(perturbed_functionals(items, cache_dir, progress))
    if model in ENCODER_KINDS and ENCODER_CODEC and codec:
        for kind in MODEL_FEATURES[model]:
            feats[f"{kind}@{ENCODER_CODEC}"] = codec_features(items, kind, cache_dir, progress)
    return feats


# ---------------------------------------------------------------------------------------------
# Leave one corpus out, and calibration across corpora


def _log(p: np.ndarray) -> np.ndarray:
    return np.log(np.clip(p, 1e-7, 1.0))


#: What the cross-corpus temperature minimises (:func:`~avemotion.training.export.fit_temperature`'s
#: ``target``), each training corpus weighing alike. Measured on cached leave-one-corpus-out
#: predictions (scripts/experiments/combos.py, `"calib": "lib_eq"` / `"lib_ece"`): the likelihood gives
#: the three regressions (``encoder_regressions``) a mean ECE of 0.074 and the four members 0.081 — as
#: their end-to-end runs did (0.074, 0.0815) —, the corpora's mean ECE itself 0.066 and 0.075, for
#: 0.001 of UA. End to end, the four members with the ECE: mean UA 0.453, ECE 0.076 (the likelihood: 0.454, 0.0815).
ENCODER_CALIBRATION = "ece"
#: How the model card names each target.
CALIBRATION_TEXT = {"nll": "negative log-likelihood", "ece": "expected calibration error"}


def calibrate_across_corpora(
    feats: dict[str, list], y: np.ndarray, corpus: np.ndarray, masks: np.ndarray, model: str, cfg: CNNConfig, seed: int
) -> float:
    """A softmax temperature fitted on out-of-corpus predictions among the given clips.

    Each corpus is predicted by a model trained on the others (scored on the classes those
    have); the temperature minimising the negative log-likelihood of those predictions (or their
    calibration error: :data:`ENCODER_CALIBRATION`), each corpus weighing alike, is returned. That
    is the confidence the model should have on a corpus it has never heard, which is the situation
    of every user. With a single corpus: 1.0 (nothing to fit on).
    """
    from .export import fit_temperature

    logits, truth, groups = [], [], []
    for c in np.unique(corpus):
        te, tr = np.flatnonzero(corpus == c), np.flatnonzero(corpus != c)
        if not len(tr):
            return 1.0
        p = fit_predict(model, feats, y, tr, te, cfg, seed, len(SPEECH_EMOTIONS), masks, corpus)[model]
        ok = p[np.arange(len(te)), y[te]] > 0  # clips whose class the training corpora had
        logits.append(_log(p[ok]))
        truth.append(y[te][ok])
        groups.append(np.full(int(ok.sum()), c))
    return fit_temperature(
        np.concatenate(logits), np.concatenate(truth), np.concatenate(groups), target=ENCODER_CALIBRATION
    )


def with_temperature(p: np.ndarray, temperature: float) -> np.ndarray:
    """Probabilities re-tempered: softmax(log p / T); classes at 0 stay at 0."""
    z = _log(p) / temperature
    z = np.where(p > 0, z, -np.inf)
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def _full_proba(clf, x: np.ndarray, n: int) -> np.ndarray:
    """predict_proba with a column for every class, even ones absent from a fold's training data."""
    p = clf.predict_proba(x)
    out = np.zeros((len(x), n), dtype=np.float32)
    out[:, clf.classes_] = p
    return out


# ---------------------------------------------------------------------------------------------
# Commands: evaluate (CV report) and train (final model + card)


def cnn_config(seed: int, epochs: int | None, mixup: float | None = None) -> CNNConfig:
    """The CNN's configuration with the command line's overrides (None keeps the default)."""
    cfg = CNNConfig(seed=seed)
    if epochs:
        cfg.epochs = epochs
    if mixup is not None:
        cfg.mixup_prob = mixup
    return cfg


def average_onnx(members: dict, weights: dict[str, float]):
    """One ONNX graph that runs each member on its own input and averages their probabilities.

    Every member must have one input and a ``probabilities`` output; the members' names prefix
    their internal tensors, their inputs keep their own names (e.g. ``logmel``, ``functionals``).
    """
    import onnx
    from onnx import compose, helper

    graphs: list = []
    opsets: dict[str, int] = {}
    for name, m in members.items():
        keep = {i.name for i in m.graph.input}
        pm = compose.add_prefix(
            m,
            prefix=f"{name}/",
            rename_inputs=False,
            rename_outputs=True,
            rename_initializers=True,
            rename_nodes=True,
            rename_edges=True,
            rename_value_infos=True,
            rename_functions=True,
        )
        assert {i.name for i in pm.graph.input} == keep
        graphs.append(pm.graph)
        for op in m.opset_import:
            opsets[op.domain] = max(opsets.get(op.domain, 0), op.version)
    total = sum(weights.values())
    nodes, inits, inputs = [], [], []
    for g in graphs:
        nodes.extend(g.node)
        inits.extend(g.initializer)
        inputs.extend(g.input)
    scaled = []
    for name in members:
        w = helper.make_tensor(f"{name}/weight", onnx.TensorProto.FLOAT, [], [weights[name] / total])
        inits.append(w)
        nodes.append(helper.make_node("Mul", [f"{name}/probabilities", w.name], [f"{name}/weighted"]))
        scaled.append(f"{name}/weighted")
    nodes.append(helper.make_node("Sum", scaled, ["probabilities"]))
    out = helper.make_tensor_value_info("probabilities", onnx.TensorProto.FLOAT, ["batch", None])
    graph = helper.make_graph(nodes, "avemotion_speech_ensemble", inputs, [out], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid(d, v) for d, v in opsets.items()])
    model.ir_version = min(m.ir_version for m in members.values())
    onnx.checker.check_model(model)
    return model


def _linear_onnx(items: Sequence[Item], y: np.ndarray, seed: int):
    from ..speech.features import FUNCTIONAL_DIM

    feats = {"functionals": features_for(items, "functionals"), **perturbed_functionals(items)}
    x, yy = _with_copies(feats, np.stack(feats["functionals"]), y, np.arange(len(y)))
    clf = make_linear(seed).fit(x, yy)
    return sklearn_to_onnx(clf, FUNCTIONAL_DIM, "functionals")


def _cnn_onnx(items: Sequence[Item], y: np.ndarray, cfg: CNNConfig, path: Path):
    import onnx

    net = train_cnn(features_for(items, "logmel"), y, cfg)
    export_cnn(net, path)
    return onnx.load(str(path)), int(sum(p.numel() for p in net.parameters()))


def _standardised_linear(clf: MaskedSoftmax, columns: np.ndarray | None, dim: int):
    """``clf`` as a :class:`~avemotion.training.speech_nets.StandardisedLinear` over all ``dim``
    features: columns it does not read get weight 0; a class no corpus had is never predicted."""
    from .speech_nets import StandardisedLinear

    cols = np.arange(dim) if columns is None else columns
    mean, scale = np.zeros(dim, np.float32), np.ones(dim, np.float32)
    coef = np.zeros((clf.coef_.shape[0], dim), np.float32)
    mean[cols], scale[cols] = clf.mean_, clf.scale_
    coef[:, cols] = np.where(clf.seen_[:, None], clf.coef_, 0.0)
    return StandardisedLinear(mean, scale, coef, np.where(clf.seen_, clf.intercept_, -30.0))


def _encoder_onnx(
    items: Sequence[Item],
    y: np.ndarray,
    path: Path,
    calibrate: bool = True,
    adaptive: bool = False,
    model: str = "encoder",
) -> dict:
    """Train the cross-corpus recipe on every clip and export it; returns what the card records.

    ``adaptive``: the speaker-adapted variant — trained on features standardised per speaker, and
    exported with :class:`~avemotion.training.speech_nets.RecordingNorm` in front of each member,
    so that one call on all the segments of a recording standardises them against each other.
    """
    import torch
    from torch import nn

    from .speech_nets import AttentionProbabilities, AveragedMembers, RecordingNorm

    feats = model_features(items, model, codec=not adaptive)
    masks = corpus_masks(items)
    corpus = np.array([it.corpus for it in items])
    speakers = speaker_keys(items)
    every = np.arange(len(items))
    members: dict[str, nn.Module] = {}
    dims: dict[str, int] = {}
    for name, m in encoder_members(model, adaptive).items():
        if isinstance(m, AttentionMember):
            fitted = fit_member(m, feats, y, every, len(SPEECH_EMOTIONS), masks, corpus)
            assert isinstance(fitted, AttentionClassifier)
            members[name], dims[name] = AttentionProbabilities(fitted.nets), int(fitted.nets[0].mean.shape[0])
            continue
        x = np.stack(feats[m.kind])
        reference_var = x.astype(np.float64).var(axis=0)
        if adaptive:  # no codec copies: fitted on the speaker-standardised clips alone
            feats[m.kind] = list(standardise_by_speaker(x, speakers, reference_var).astype(np.float32))
        clf = fit_member(m, feats, y, every, len(SPEECH_EMOTIONS), masks, corpus)
        assert isinstance(clf, MaskedSoftmax)
        members[name] = _standardised_linear(clf, m.columns(), x.shape[1])
        if adaptive:
            members[name] = nn.Sequential(RecordingNorm(reference_var, ADAPT_SHRINK), members[name])
        dims[name] = x.shape[1]
    calibrate = calibrate and (ADAPT_CALIBRATE or not adaptive)
    temperature = calibrate_across_corpora(feats, y, corpus, masks, model, cnn_config(0, None), 0) if calibrate else 1.0
    net = AveragedMembers(members, temperature).eval()
    frames = {n for n in members if isinstance(members[n], AttentionProbabilities)}
    example = tuple(torch.randn(ADAPT_MIN_SEGMENTS, *((50,) if n in frames else ()), dims[n]) for n in members)
    torch.onnx.export(
        net,
        example,
        str(path),
        input_names=list(members),
        output_names=["probabilities"],
        dynamic_axes={
            **{n: {0: "batch", 1: "frames"} if n in frames else {0: "batch"} for n in members},
            "probabilities": {0: "batch"},
        },
        opset_version=17,
        dynamo=False,
    )
    return {"temperature": round(temperature, 4), "dims": dims}


LOGMEL_INPUT = {
    "kind": "logmel",
    **LogMelConfig().to_dict(),
    "trim_top_db": 35,
    "layout": "N,1,n_mels,frames; natural log of mel power + 1e-6",
}


def _functionals_input() -> dict:
    from ..speech.features import FUNCTIONAL_DIM

    return {"kind": "functionals", "dim": FUNCTIONAL_DIM, "sample_rate": 16000, "trim_top_db": 35}


def _export_baseline(items: Sequence[Item], y: np.ndarray, path: Path, *, seed: int, **_) -> dict:
    """The original system's MLP on 193 averaged features."""
    labels = list(SPEECH_EMOTIONS)
    feats = np.stack(features_for(items, "baseline"))
    clf = make_baseline(seed).fit(feats, y)
    export_baseline(clf, path)
    train_acc = score(y, clf.predict(feats), labels)
    return {
        "labels": [labels[i] for i in clf.classes_],  # a corpus may lack some classes
        "inputs": {"features": {"kind": "baseline", "sample_rate": 16000, "dim": BASELINE_DIM}},
        "architecture": "baseline: 193 averaged librosa features, StandardScaler, MLP (300 ReLU units), sklearn",
        "training_accuracy": {k: train_acc[k] for k in ("unweighted_accuracy", "weighted_accuracy")},
    }


def _export_linear(items: Sequence[Item], y: np.ndarray, path: Path, *, seed: int, **_) -> dict:
    path.write_bytes(_linear_onnx(items, y, seed).SerializeToString())
    labels = list(SPEECH_EMOTIONS)
    return {
        "labels": [labels[i] for i in sorted(set(y.tolist()))],
        "inputs": {"functionals": _functionals_input()},
        "architecture": LINEAR_TEXT,
    }


def _export_cnn(items: Sequence[Item], y: np.ndarray, path: Path, *, cfg: CNNConfig, **_) -> dict:
    _, params = _cnn_onnx(items, y, cfg, path)
    return {
        "parameters": params,
        "inputs": {"logmel": LOGMEL_INPUT},
        "architecture": CNN_TEXT,
        "training": {"config": asdict(cfg)},
    }


def _export_ensemble(items: Sequence[Item], y: np.ndarray, path: Path, *, seed: int, cfg: CNNConfig, **_) -> dict:
    import tempfile

    labels = list(SPEECH_EMOTIONS)
    missing = [lab for i, lab in enumerate(labels) if not (y == i).any()]
    if missing:
        raise AvemotionError(f"the ensemble needs examples of every class; missing: {', '.join(missing)}")
    with tempfile.TemporaryDirectory() as tmp:
        cnn, params = _cnn_onnx(items, y, cfg, Path(tmp) / "cnn.onnx")
    merged = average_onnx({"cnn": cnn, "linear": _linear_onnx(items, y, seed)}, {"cnn": 1.0, "linear": 1.0})
    path.write_bytes(merged.SerializeToString())
    return {
        "inputs": {"logmel": LOGMEL_INPUT, "functionals": _functionals_input()},
        "architecture": f"equal-weight average of two models. (1) {CNN_TEXT}. (2) {LINEAR_TEXT}",
        "parameters": params,
        "training": {"config": asdict(cfg)},
    }


def _encoder_input(kind: str, dim: int) -> dict:
    return {"kind": kind, "dim": dim, "encoder": f"{kind}_encoder", "sample_rate": 16000, "trim_top_db": 35}


def _frames_input(dim: int) -> dict:
    from ..speech.features import WHISPER_FRAMES

    return {
        **_encoder_input("whisperframes", dim),
        "encoder": "whisper_encoder",
        "frames_per_second": WHISPER_FRAMES["frames_per_second"],
        "layout": "1,frames,1024: the whisper encoder's frames output of the trimmed signal, averaged over "
        "pairs of positions; one clip a call",
    }


def _member_card(m: Member | AttentionMember, codec: bool = True) -> dict:
    """What the card says of a member (``codec``: whether it was trained with codec copies)."""
    from ..speech.features import DESCRIPTORS

    if isinstance(m, AttentionMember):
        fields = {k: v for k, v in asdict(m).items() if k != "kind"}
        return {
            "features": m.kind,
            "network": "AttentionPooling",
            **fields,
            "codec_copies": bool(codec and ENCODER_CODEC),
        }

    card: dict = {"features": m.kind, "C": m.C}
    cols = m.columns()
    if m.descriptors is not None and cols is not None:
        card["descriptors"] = [DESCRIPTORS[d] for d in m.descriptors]
        card["dim_read"] = len(cols)
    if m.consistency and codec and ENCODER_CODEC:
        card["codec_consistency"] = m.consistency
    return card


def _in_words(names: list[str]) -> str:
    """Numbers in words: "1", "1 and 2", "1, 2 and 4"."""
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _export_encoder(
    items: Sequence[Item], y: np.ndarray, path: Path, *, adaptive: bool = False, model: str = "encoder", **_
) -> dict:
    """The cross-corpus recipe (three softmax regressions and an attention network averaged;
    ``encoder_regressions``: the regressions alone), or its speaker-adapted variant (the three regressions)."""
    made = _encoder_onnx(items, y, path, adaptive=adaptive, model=model)
    calibrated = not adaptive or ADAPT_CALIBRATE
    attention = "attention" in made["dims"]
    members = encoder_members(model, adaptive)
    held = [str(i + 1) for i, m in enumerate(members.values()) if m.consistency > 0]
    card: dict = {
        "inputs": {
            "voice": _encoder_input("voice", made["dims"]["voice"]),
            "functionals": _functionals_input(),
            "whisper": _encoder_input("whisper", made["dims"]["whisper"]),
            **({"attention": _frames_input(made["dims"]["attention"])} if attention else {}),
        },
        "architecture": ("speaker-adapted " if adaptive else "")
        + (
            ENCODER_TEXT.format(what="four members, three softmax regressions and a network,") + ATTENTION_TEXT
            if attention
            else ENCODER_TEXT.format(what="three softmax regressions")
        )
        + ("" if adaptive or not held else ENCODER_CODEC_TEXT.format(held=_in_words(held)))
        + ("; then a temperature fitted across corpora" if calibrated else ""),
        "calibration": {
            "temperature": made["temperature"],
            "fitted_on": "out-of-corpus predictions: each training corpus predicted by a model "
            "trained on the others (" + CALIBRATION_TEXT[ENCODER_CALIBRATION] + ", each corpus weighing alike)",
        },
        "training": {
            "members": {k: _member_card(m, codec=not adaptive) for k, m in members.items()},
            "loss": "softmax renormalised over the classes of each clip's corpus; each (corpus, "
            "class) cell weighted alike (balanced_weights)",
        },
    }
    if ENCODER_CODEC and not adaptive:
        card["training"]["augmentation"] = CODEC_AUGMENTATION
    if adaptive:
        card["adaptation"] = ADAPTATION_CARD
        if not calibrated:
            card["calibration"] = {"temperature": 1.0, "fitted_on": UNCALIBRATED_ADAPTIVE}
    return card


CODEC_AUGMENTATION = (
    "each lossless clip (RAVDESS, CASIA, EMOVO) also heard through Ogg Opus at 32 kbps (libopus, 16 kHz "
    "mono); the (corpus, class) balance computed over the clips and their copies"
)
ADAPTATION_CARD = {
    "adapts": "speech",
    "over": "the segments of one recording, given as one batch",
    "min_segments": ADAPT_MIN_SEGMENTS,
    "shrink": ADAPT_SHRINK,
    "how": "each feature standardised by the batch's mean and spread (variance shrunk towards the "
    "training voices' by the shrink weight, in segments); trained on clips standardised by "
    "their speaker's statistics the same way",
}
UNCALIBRATED_ADAPTIVE = (
    "none: the three members' averaged probabilities as they are; a temperature fitted across two "
    "training corpora swung between 0.67 and 1.23 from one held-out corpus to the next and raised "
    "the held-out calibration error (leave one corpus out, 10 segments, measured before the "
    "(corpus, class) balance: 0.126 against 0.096)"
)

#: How each model kind is trained on all the data and written as ONNX; each returns its card's entries.
_EXPORTERS: dict[str, Callable[..., dict]] = {
    "baseline": _export_baseline,
    "linear": _export_linear,
    "cnn": _export_cnn,
    "encoder": _export_encoder,
    "encoder_regressions": lambda *a, **k: _export_encoder(*a, **k, model="encoder_regressions"),
    "ensemble": _export_ensemble,
}


def train_and_export(
    items: Sequence[Item],
    model: str,
    out: Path,
    seed: int = 0,
    epochs: int | None = None,
    cv_metrics=None,
    name: str | None = None,
    command: str | None = None,
    adaptive: bool = False,
) -> Path:
    """Train on all ``items`` and write ``NAME.onnx`` plus its card into ``out``.

    ``adaptive`` (``encoder`` only): the speaker-adapted variant (``speech_adaptive``), which the
    analyser runs over all the segments of a recording at once instead of ``speech``.
    """
    from ..bundles import write_card

    out.mkdir(parents=True, exist_ok=True)
    labels = list(SPEECH_EMOTIONS)
    y = np.array([labels.index(it.label) for it in items])
    if adaptive and model != "encoder":
        raise AvemotionError("--adapt is built for the encoder recipe only")
    name = name or (
        "speech_baseline"
        if model == "baseline"
        else ("speech_adaptive" if adaptive else "speech")
        if model == "encoder"
        else f"speech_{model}"
    )
    path = out / f"{name}.onnx"
    card: dict = {"name": name, "task": "speech", "labels": labels, "kind": model}
    if model not in _EXPORTERS:
        raise ValueError(f"unknown speech model {model!r}")
    card.update(_EXPORTERS[model](items, y, path, seed=seed, cfg=cnn_config(seed, epochs), adaptive=adaptive))
    card["data"] = {
        "corpus": sorted({it.corpus for it in items}),
        "clips": len(items),
        "speakers": len({it.speaker for it in items}),
        "classes": {lab: int((y == i).sum()) for i, lab in enumerate(labels)},
    }
    card["licence"] = corpus_licence(sorted({it.corpus for it in items}))
    card["command"] = command or f"avemotion train speech DATA --model {model} --seed {seed}"
    card = with_cv_metrics(card, cv_metrics) if cv_metrics else card
    write_card(path, card)
    return path
