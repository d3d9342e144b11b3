"""Model bundles: an ONNX file and its card, which carries the preprocessing contract.

A card (``NAME.json`` beside ``NAME.onnx``) says what the model expects and produces: its task,
labels in output order, input kind and parameters (log-mel settings, image size, normalisation),
the sha256 of the ONNX file, and how it was made and measured. Inference reads the contract
from the card, so it cannot drift from what training used.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

from .errors import ModelError

MODELS_DIR = Path(__file__).resolve().parent / "models"


@dataclass
class ModelBundle:
    """An ONNX model with its card. Load with :meth:`load`; run with :attr:`session`."""

    path: Path
    card: dict = field(default_factory=dict)
    threads: int | None = None

    @classmethod
    def load(cls, name_or_path: str | os.PathLike[str], threads: int | None = None, verify: bool = True) -> ModelBundle:
        """Load ``NAME`` from the shipped models or an explicit ``.onnx`` path (card beside it)."""
        p = Path(name_or_path)
        if p.suffix != ".onnx":
            p = MODELS_DIR / f"{name_or_path}.onnx"
        if not p.exists():
            shipped = sorted(q.stem for q in MODELS_DIR.glob("*.onnx"))
            raise ModelError(f"no model {str(name_or_path)!r}; shipped models: {', '.join(shipped)}")
        card_path = p.with_suffix(".json")
        if not card_path.exists():
            raise ModelError("model card (.json beside the .onnx) is missing", p)
        try:
            card = json.loads(card_path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise ModelError(f"model card is not valid JSON ({exc.msg})", card_path) from None
        bundle = cls(p, card, threads)
        if verify and card.get("sha256") and bundle.sha256() != card["sha256"]:
            raise ModelError("ONNX file does not match the sha256 in its card (corrupt or replaced)", p)
        return bundle

    def sha256(self) -> str:
        return hashlib.sha256(self.path.read_bytes()).hexdigest()

    @property
    def name(self) -> str:
        return self.card.get("name", self.path.stem)

    @property
    def labels(self) -> list[str]:
        return list(self.card["labels"])

    @cached_property
    def session(self):
        """The onnxruntime session (created on first use, by :func:`inference_session`)."""
        return inference_session(self.path, self.threads)

    @property
    def input_name(self) -> str:
        return self.session.get_inputs()[0].name

    @cached_property
    def output_name(self) -> str:
        """The ``probabilities`` output if the graph names one, else its last output."""
        names = [o.name for o in self.session.get_outputs()]
        return "probabilities" if "probabilities" in names else names[-1]

    def run(self, x):
        """Run a one-input model on an array; returns its probabilities output."""
        return self.session.run([self.output_name], {self.input_name: x})[0]

    def run_feeds(self, feeds: dict):
        """Run the model on named inputs (for models with several); returns its probabilities output."""
        return self.session.run([self.output_name], feeds)[0]

    def run_outputs(self, feeds: dict, names: list[str]) -> list:
        """Run the model on named inputs; the named outputs (for encoders with several)."""
        return self.session.run(names, feeds)


def inference_session(path: Path, threads: int | None = None):
    """The one place avemotion creates an onnxruntime session: CPU, ``threads`` intra-op threads
    (None: ``$AVEMOTION_THREADS`` if set, else onnxruntime's default), one inter-op thread, and no
    busy-waiting between calls, since video decoding runs beside inference (:mod:`avemotion.pipeline`).
    Ray workers set ``AVEMOTION_THREADS`` to the CPUs their task holds, so workers sharing a machine
    do not each take all its cores."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    threads = threads or int(os.environ.get("AVEMOTION_THREADS", "0") or 0) or None
    if threads:
        opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    try:
        return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own unrelated classes
        raise ModelError(f"cannot load ONNX model ({str(exc).splitlines()[0][:160]})", path) from None


def model_option(task: str, default: str) -> Any:
    """The analysis option (:func:`avemotion.options.option`) that chooses the ``task``'s model: a
    shipped name (the choices, read from the cards when asked) or, locally, an ``.onnx`` path."""
    from .options import option

    return option(
        default,
        f"{task} model: a shipped name or an .onnx path with its card",
        name=f"{task}_model",
        choices=lambda: shipped_models(task),
        paths=True,
    )


def shipped_models(task: str) -> list[str]:
    """The names of the shipped models for ``task`` (``"face"``, ``"speech"``), from their cards."""
    names = []
    for card in sorted(MODELS_DIR.glob("*.json")):
        if json.loads(card.read_text(encoding="utf-8")).get("task") == task:
            names.append(card.stem)
    return names


@lru_cache(maxsize=16)
def shared_bundle(name: str, threads: int | None = None) -> ModelBundle:
    """A shipped model loaded once per process and shared (the detector, the VAD, the voice encoder)."""
    return ModelBundle.load(name, threads=threads)


def write_card(onnx_path: Path, card: dict) -> Path:
    """Write ``card`` beside ``onnx_path``, filling in the file's sha256 and size."""
    data = onnx_path.read_bytes()
    card = {**card, "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
    out = onnx_path.with_suffix(".json")
    out.write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    return out
