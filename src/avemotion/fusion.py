"""Fusing the face's and the voice's emotion distributions into one.

Four rules, all over one label set (the face's seven by default; the voice's ``calm`` is folded
into ``neutral`` through :func:`avemotion.taxonomy.align`), measured against each lane alone by
``avemotion evaluate fusion`` (docs/fusion.md):

* :func:`learned_fusion` — the default: a regularised softmax regression over both lanes'
  log-probabilities and coverage, fitted on held-out voice and face pairs (``fusion_learned.json``).
* :func:`product_fusion` — independent evidence multiplied, each lane raised to its coverage.
* :func:`confidence_fusion` — each modality's fixed weight times its confidence in this window (how
  much of the window it covered and how peaked its distribution is); below ``min_confidence`` dropped.
* :func:`weighted_average` — the original system's rule: a fixed weight per modality, per emotion.

A missing modality (no face, no speech) gets no say at all, never a vote for "neutral"; an emotion
that only one modality can express is fused from that modality alone. Every rule returns ``None``
when no modality has anything to say.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import ClassVar

import numpy as np

from .options import check_fields, option
from .taxonomy import FACE_EMOTIONS, align, modelled

#: The modalities fusion weighs, by the names weights use.
MODALITIES = ("face", "voice")


@dataclass
class ModalityInput:
    """One modality's say for a window: its distribution (None if absent) and its evidence."""

    probabilities: Mapping[str, float] | None
    coverage: float = 1.0  # fraction of the window this modality observed (0..1)


@dataclass
class FusionOptions:
    """How the two lanes become one: the rule, its weights, the window, the fused label set.

    Every default of fusion is written here once; the command line, the server form and the web
    page read them (through :class:`avemotion.pipeline.AnalyzeConfig` and ``/v1/options``).
    """

    rule: str = option(
        "learned",
        "how the lanes are combined: learned (fitted on held-out voice + face pairs; beats the others in "
        "docs/fusion.md), product (independent evidence multiplied), confidence (coverage x peakedness "
        "weights) or weighted (the original system's fixed weighted average)",
        name="fusion",
        choices=lambda: list(FUSION_RULES),
    )
    weights: dict[str, float] = option(
        help="modality weights: face=0.6,voice=0.4 (the command line also takes a JSON file); the learned rule "
        "uses them only to leave a lane out (weight 0)",
        default_factory=lambda: {"face": 0.5, "voice": 0.5},
        parse=lambda text, local: load_weights(text, allow_file=local),
    )
    window: float = option(1.0, "seconds: the timeline's window", minimum=0.1, maximum=3600.0)
    min_confidence: float = 0.05  # a modality less confident than this in a window is dropped
    labels: tuple[str, ...] = FACE_EMOTIONS  # the fused label set, carried into the result

    #: Accepted weights (a 1e-7-s window would stall a worker, hence the window's range above).
    RANGES: ClassVar[dict[str, tuple[float, float]]] = {"weight": (0.0, 1e6)}

    def __post_init__(self) -> None:
        from .errors import OptionError, check_number

        check_fields(self)
        if not isinstance(self.weights, dict):
            raise OptionError(f"weights must map face/voice to numbers, got {self.weights!r}")
        unknown = sorted(set(self.weights) - set(MODALITIES))
        if unknown:  # a misspelt modality would otherwise silently get no weight
            raise OptionError(f"weights name {' and/or '.join(MODALITIES)} only; got {unknown}")
        self.weights = {k: check_number(f"weight of {k}", v, *self.RANGES["weight"]) for k, v in self.weights.items()}
        if not any(v > 0 for v in self.weights.values()):
            raise OptionError("weights must not all be zero")


def _aligned(probs: Mapping[str, float], labels: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """(probabilities over ``labels``, mask of the labels this source can express)."""
    source = list(probs)
    p = align(np.array([probs[k] for k in source], np.float32), source, labels)
    mask = np.array([lab in modelled(source, labels) for lab in labels], bool)
    return p, mask


def peakedness(p: np.ndarray) -> float:
    """1 − normalised entropy: 0 for a flat distribution, 1 for a certain one."""
    p = np.clip(np.asarray(p, np.float64), 1e-12, 1)
    p = p / p.sum()
    return float(1 + (p * np.log(p)).sum() / np.log(len(p)))


def _combine(parts: list[tuple[np.ndarray, np.ndarray, float]], labels: Sequence[str]) -> dict[str, float] | None:
    if not parts:
        return None
    num = np.zeros(len(labels))
    den = np.zeros(len(labels))
    for p, mask, w in parts:
        num += w * p * mask
        den += w * mask
    fused = np.divide(num, den, out=np.zeros_like(num), where=den > 0)
    total = fused.sum()
    if total <= 0:
        return None
    return {lab: round(float(v / total), 6) for lab, v in zip(labels, fused, strict=True)}


def weighted_average(
    inputs: Mapping[str, ModalityInput], config: FusionOptions | None = None
) -> dict[str, float] | None:
    """The original system's rule: Σ w_m p_m / Σ w_m per emotion, over the modalities present."""
    cfg = config or FusionOptions()
    parts = []
    for name, inp in inputs.items():
        if inp.probabilities and cfg.weights.get(name, 0) > 0:
            p, mask = _aligned(inp.probabilities, cfg.labels)
            parts.append((p, mask, cfg.weights[name]))
    return _combine(parts, cfg.labels)


def confidence_fusion(
    inputs: Mapping[str, ModalityInput], config: FusionOptions | None = None
) -> dict[str, float] | None:
    """Weights scaled by each modality's confidence in this window: coverage × (0.5 + peakedness).

    Coverage carries the most: a face seen in one frame of ten, or half a second of speech in a
    four-second window, should not outvote a modality that saw the whole window.
    """
    cfg = config or FusionOptions()
    parts = []
    for name, inp in inputs.items():
        if not inp.probabilities or cfg.weights.get(name, 0) <= 0:
            continue
        p, mask = _aligned(inp.probabilities, cfg.labels)
        confidence = float(np.clip(inp.coverage, 0, 1)) * (0.5 + peakedness(p[mask] if mask.any() else p))
        if confidence < cfg.min_confidence:
            continue
        parts.append((p, mask, cfg.weights[name] * confidence))
    return _combine(parts, cfg.labels)


def product_fusion(inputs: Mapping[str, ModalityInput], config: FusionOptions | None = None) -> dict[str, float] | None:
    """Independent evidence multiplied (a product of experts): p ∝ Π_m p_m ** (coverage_m × w_m / max w).

    Two calibrated lanes that each give their posterior about the same emotion from independent
    evidence combine by multiplication: a class both find likely is more likely than either says,
    and one lane's confident "not this" counts, which an average hides. Coverage makes a lane that
    saw a sliver of the window count for less; a label a lane cannot express takes no part in its factor.
    """
    cfg = config or FusionOptions()
    top = max(cfg.weights.values())
    logp = np.zeros(len(cfg.labels))
    seen = np.zeros(len(cfg.labels), bool)
    for name, inp in inputs.items():
        w = cfg.weights.get(name, 0) / top
        if not inp.probabilities or w <= 0 or inp.coverage <= 0:
            continue
        p, mask = _aligned(inp.probabilities, cfg.labels)
        exponent = float(np.clip(inp.coverage, 0, 1)) * w
        logp += np.where(mask, exponent * np.log(np.clip(p, 1e-6, 1.0)), 0.0)
        seen |= mask
    if not seen.any():
        return None
    z = np.where(seen, logp - logp[seen].max(), -np.inf)
    e = np.exp(z)
    return {lab: round(float(v / e.sum()), 6) for lab, v in zip(cfg.labels, e, strict=True)}


#: The voice lane as the learned rule reads it: the face's labels and the voice's calm beside them.
VOICE_FEATURE_LABELS = (*FACE_EMOTIONS, "calm")


def learned_features(
    face: np.ndarray | None, face_coverage: float, voice: np.ndarray | None, voice_coverage: float
) -> np.ndarray:
    """What the learned rule reads of one window: per lane (face, then voice) coverage x log p over
    the seven face labels (the voice's calm folded into neutral), the coverage, and 1; then the voice's
    coverage x log p(calm), which says a quiet voice apart from a neutral one (0s for a lane that is not
    there). ``voice`` is over :data:`VOICE_FEATURE_LABELS` (calm in its own column), or over the face
    labels alone for a voice without calm."""
    k = len(FACE_EMOTIONS)
    calm = 0.0
    if voice is not None:
        voice = np.asarray(voice, np.float64)
        if len(voice) == k + 1:  # calm read apart, and folded into its parent as the taxonomy says
            calm = float(voice[k])
            voice = align(voice, list(VOICE_FEATURE_LABELS), list(FACE_EMOTIONS))
    parts = []
    for p, cov in ((face, face_coverage), (voice, voice_coverage)):
        if p is None:
            parts.append(np.zeros(k + 2))
            continue
        c = float(np.clip(cov, 0, 1))
        parts.append(np.concatenate([c * np.log(np.clip(np.asarray(p, np.float64), 1e-6, 1.0)), [c, 1.0]]))
    calm_term = 0.0 if voice is None else float(np.clip(voice_coverage, 0, 1)) * np.log(max(calm, 1e-6))
    return np.concatenate([*parts, [calm_term]])


@lru_cache(maxsize=1)
def _learned_rule() -> tuple[np.ndarray, np.ndarray]:
    import json

    from .bundles import MODELS_DIR

    data = json.loads((MODELS_DIR / "fusion_learned.json").read_text(encoding="utf-8"))
    if data["labels"] != list(FACE_EMOTIONS):
        raise ValueError("fusion_learned.json is not over the face labels")
    return np.asarray(data["coef"]), np.asarray(data["intercept"])


def learned_fusion(inputs: Mapping[str, ModalityInput], config: FusionOptions | None = None) -> dict[str, float] | None:
    """The learned rule (``models/fusion_learned.json``, fitted by :mod:`avemotion.training.fusion`): a
    regularised softmax regression over both lanes' log-probabilities and coverage. It fuses over the
    seven face labels; a lane's weight of 0 leaves that lane out, and a window with one lane gets
    that lane's distribution (there is nothing to combine)."""
    cfg = config or FusionOptions()
    lanes: dict[str, tuple[np.ndarray | None, float]] = {}
    alone: dict[str, np.ndarray] = {}  # each lane present, over the face labels
    for name in ("face", "voice"):
        inp = inputs.get(name)
        if inp is not None and inp.probabilities and cfg.weights.get(name, 0) > 0 and inp.coverage > 0:
            labels = VOICE_FEATURE_LABELS if name == "voice" else FACE_EMOTIONS
            lanes[name] = (_aligned(inp.probabilities, labels)[0], inp.coverage)
            alone[name] = _aligned(inp.probabilities, FACE_EMOTIONS)[0]
        else:
            lanes[name] = (None, 0.0)
    if not alone:
        return None
    if len(alone) == 1:  # one lane: nothing to combine, its own distribution
        q = next(iter(alone.values()))
    else:
        coef, intercept = _learned_rule()
        z = coef @ learned_features(*lanes["face"], *lanes["voice"]) + intercept
        q = np.exp(z - z.max())
    p = align((q / q.sum()).astype(np.float32), list(FACE_EMOTIONS), list(cfg.labels))
    return {lab: round(float(v), 6) for lab, v in zip(cfg.labels, p / p.sum(), strict=True)}


#: Fusion rules by name, read by the command line, the server's /v1/options and the pipeline. A
#: rule takes one window's ``{"face": ModalityInput, "voice": ModalityInput}`` and the options and
#: returns a distribution over ``options.labels`` (or None); a rule marked with
#: :func:`over_time` takes the list of every window's inputs and returns a list, so that it can
#: look at neighbouring windows (smoothing, hysteresis).
FUSION_RULES: dict = {
    "confidence": confidence_fusion,
    "weighted": weighted_average,
    "product": product_fusion,
    "learned": learned_fusion,
}


def over_time(rule):
    """Mark a fusion rule as one that sees the whole timeline at once (a list of windows' inputs)."""
    rule.over_time = True
    return rule


def fuse_timeline(rule, windows: Sequence[Mapping[str, ModalityInput]], options: FusionOptions) -> list:
    """Apply a fusion rule to every window: one call per window, or one call for a rule over time."""
    if getattr(rule, "over_time", False):
        out = list(rule(list(windows), options))
        if len(out) != len(windows):
            raise ValueError(f"fusion rule over time gave {len(out)} windows for {len(windows)}")
        return out
    return [rule(w, options) for w in windows]


def load_weights(spec: str, allow_file: bool = True) -> dict[str, float]:
    """Weights from the command line (``face=0.6,voice=0.4``) or a JSON file holding that mapping.

    ``allow_file=False`` reads only the text form (the web API: a form field never names a file).
    Both modalities are always in the result; one not named gets weight 0.
    """
    import json
    from pathlib import Path

    from .errors import AvemotionError

    if allow_file and Path(spec).is_file():
        try:
            data = json.loads(Path(spec).read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise AvemotionError(f"weights file is not valid JSON ({getattr(exc, 'msg', exc)})", spec) from None
        data = data.get("weights", data) if isinstance(data, dict) else data
        if not isinstance(data, dict):
            raise AvemotionError(
                'weights file must hold {"face": number, "voice": number} (or {"weights": {...}})', spec
            )
    else:
        try:
            data = {k.strip(): float(v) for k, v in (part.split("=") for part in spec.split(","))}
        except ValueError:
            raise AvemotionError(f"weights must look like face=0.6,voice=0.4, got {spec!r}") from None
    from .errors import check_number

    unknown = set(data) - {"face", "voice"}
    if unknown:
        raise AvemotionError(f"weights name face and/or voice only; got {sorted(unknown)}")
    data = {k: check_number(f"weight of {k}", v, *FusionOptions.RANGES["weight"]) for k, v in data.items()}
    if not any(v > 0 for v in data.values()):
        raise AvemotionError(f"weights must not all be zero; got {data}")
    return {"face": 0.0, "voice": 0.0} | data  # a modality not named gets no weight
