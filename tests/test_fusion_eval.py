"""Fusion measured against each lane alone: the product and learned rules, the pair-level scoring."""

import json

import numpy as np
import pytest

from avemotion import fusion
from avemotion.evaluation import fusion as fe
from avemotion.fusion import FusionOptions, ModalityInput

FACE = {"angry": 0.1, "disgust": 0.05, "fear": 0.05, "happy": 0.6, "neutral": 0.1, "sad": 0.05, "surprise": 0.05}
VOICE = {"angry": 0.2, "disgust": 0.05, "fear": 0.1, "happy": 0.3, "neutral": 0.2, "sad": 0.05, "surprise": 0.05,
         "calm": 0.05}


def test_product_multiplies_the_lanes_and_folds_calm_into_neutral():
    out = fusion.product_fusion({"face": ModalityInput(FACE, 1.0), "voice": ModalityInput(VOICE, 1.0)})
    voice7 = dict(VOICE, neutral=0.25)
    voice7.pop("calm")
    raw = {k: FACE[k] * voice7[k] for k in FACE}
    total = sum(raw.values())
    assert out == pytest.approx({k: v / total for k, v in raw.items()}, abs=1e-5)
    assert max(out, key=out.get) == "happy" and out["happy"] > FACE["happy"]  # agreement reinforces


def test_product_weighs_a_lane_by_its_coverage_and_weight():
    half = fusion.product_fusion({"face": ModalityInput(FACE, 1.0), "voice": ModalityInput(VOICE, 0.5)})
    voice7 = dict(VOICE, neutral=0.25)
    voice7.pop("calm")
    raw = {k: FACE[k] * voice7[k] ** 0.5 for k in FACE}
    assert half == pytest.approx({k: v / sum(raw.values()) for k, v in raw.items()}, abs=1e-5)
    only_face = fusion.product_fusion({"face": ModalityInput(FACE, 1.0), "voice": ModalityInput(VOICE, 0.0)})
    assert only_face == pytest.approx(FACE, abs=1e-5)
    muted = fusion.product_fusion({"face": ModalityInput(FACE, 1.0), "voice": ModalityInput(VOICE, 1.0)},
                                  FusionOptions(weights={"face": 1.0, "voice": 0.0}))
    assert muted == pytest.approx(FACE, abs=1e-5)
    assert fusion.product_fusion({"face": ModalityInput(None), "voice": ModalityInput(None)}) is None


def test_the_learned_rule_is_a_softmax_over_both_lanes_and_passes_one_lane_through(monkeypatch):
    rng = np.random.default_rng(0)
    coef, intercept = rng.normal(size=(7, 18)), rng.normal(size=7)
    monkeypatch.setattr(fusion, "_learned_rule", lambda: (coef, intercept))
    out = fusion.learned_fusion({"face": ModalityInput(FACE, 0.8), "voice": ModalityInput(VOICE, 0.4)})
    pf = np.array([FACE[k] for k in fe.LABELS])
    pv = np.array([VOICE[k] + (VOICE["calm"] if k == "neutral" else 0) for k in fe.LABELS])
    phi = np.concatenate([0.8 * np.log(pf), [0.8, 1.0], 0.4 * np.log(pv), [0.4, 1.0]])
    z = coef @ phi + intercept
    expected = np.exp(z - z.max()) / np.exp(z - z.max()).sum()
    assert [out[k] for k in fe.LABELS] == pytest.approx(expected.tolist(), abs=1e-5)
    alone = fusion.learned_fusion({"face": ModalityInput(None), "voice": ModalityInput(VOICE, 1.0)})
    assert alone == pytest.approx(dict(zip(fe.LABELS, pv / pv.sum(), strict=True)), abs=1e-5)


def test_the_shipped_learned_rule_loads_and_is_registered():
    card = json.loads((fusion_dir() / "fusion_learned.json").read_text())
    assert card["labels"] == fe.LABELS and np.asarray(card["coef"]).shape == (7, 18)
    assert "learned" in fusion.FUSION_RULES
    out = fusion.FUSION_RULES["learned"]({"face": ModalityInput(FACE, 1.0), "voice": ModalityInput(VOICE, 1.0)},
                                         FusionOptions())
    assert sum(out.values()) == pytest.approx(1.0, abs=1e-4) and max(out, key=out.get) == "happy"


def fusion_dir():
    from avemotion.bundles import MODELS_DIR

    return MODELS_DIR


def test_pair_scoring_counts_what_fusion_loses_and_wins_against_the_better_lane():
    """Three pairs, truth 0: the face is right on the first two, the voice only on the third; a rule that
    always answers the voice loses the first two and wins the third."""
    face = np.array([[0.9, 0.1] + [0] * 5, [0.8, 0.2] + [0] * 5, [0.1, 0.9] + [0] * 5], np.float32)
    voice = np.array([[0.1, 0.9] + [0] * 5, [0.2, 0.8] + [0] * 5, [0.9, 0.1] + [0] * 5], np.float32)
    y = np.array([0, 0, 0])

    def voice_rule(inputs, options):
        return dict(inputs["voice"].probabilities)

    table = fe.score_condition({"voice": voice_rule}, face, voice, y, fe.CONDITIONS["clean"])
    assert table["face alone"]["accuracy"] == pytest.approx(2 / 3, abs=1e-3)
    assert table["voice"]["lost"] == pytest.approx(2 / 3, abs=1e-3) and table["voice"]["won"] == pytest.approx(1 / 3, abs=1e-3)
    assert table["voice"]["minus_better_lane"] == pytest.approx(-1 / 3, abs=1e-3)
    gone = fe.score_condition({"voice": voice_rule}, face, voice, y, fe.CONDITIONS["no face"])
    assert "face alone" not in gone and gone["voice"]["lost"] == 0.0


def test_faces_are_paired_with_voices_of_the_same_emotion():
    vy = np.array([0, 1, 1, 6, 3])
    fy = np.array([1, 0, 3, 6, 1, 0])
    idx = fe.pair_faces(vy, fy, seed=3)
    assert (fy[idx] == vy).all()
    assert (fe.pair_faces(vy, fy, seed=3) == idx).all()  # seeded


def test_evaluate_fusion_needs_the_voice_predictions(capsys, tmp_path):
    from avemotion.cli import main

    assert main(["evaluate", "fusion", str(tmp_path)]) == 2
    assert "needs --voice" in capsys.readouterr().err
