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
    coef, intercept = rng.normal(size=(7, 19)), rng.normal(size=7)
    monkeypatch.setattr(fusion, "_learned_rule", lambda: (coef, intercept))
    out = fusion.learned_fusion({"face": ModalityInput(FACE, 0.8), "voice": ModalityInput(VOICE, 0.4)})
    pf = np.array([FACE[k] for k in fe.LABELS])
    pv = np.array([VOICE[k] + (VOICE["calm"] if k == "neutral" else 0) for k in fe.LABELS])
    # the voice's calm counts twice: folded into neutral, and on its own (a quiet voice is evidence)
    phi = np.concatenate([0.8 * np.log(pf), [0.8, 1.0], 0.4 * np.log(pv), [0.4, 1.0], [0.4 * np.log(VOICE["calm"])]])
    z = coef @ phi + intercept
    expected = np.exp(z - z.max()) / np.exp(z - z.max()).sum()
    assert [out[k] for k in fe.LABELS] == pytest.approx(expected.tolist(), abs=1e-5)
    alone = fusion.learned_fusion({"face": ModalityInput(None), "voice": ModalityInput(VOICE, 1.0)})
    assert alone == pytest.approx(dict(zip(fe.LABELS, pv / pv.sum(), strict=True)), abs=1e-5)


def test_the_shipped_learned_rule_loads_and_is_registered():
    card = json.loads((fusion_dir() / "fusion_learned.json").read_text())
    assert card["labels"] == fe.LABELS and np.asarray(card["coef"]).shape == (7, 19)
    assert "learned" in fusion.FUSION_RULES
    out = fusion.FUSION_RULES["learned"]({"face": ModalityInput(FACE, 1.0), "voice": ModalityInput(VOICE, 1.0)},
                                         FusionOptions())
    assert sum(out.values()) == pytest.approx(1.0, abs=1e-4)
    # two lanes that agree on an emotion give that emotion, for every one of the seven
    for k in fe.LABELS:
        face = {lab: 0.7 if lab == k else 0.05 for lab in fe.LABELS}
        voice = {lab: 0.44 if lab == k else 0.08 for lab in [*fe.LABELS, "calm"]}
        out = fusion.FUSION_RULES["learned"]({"face": ModalityInput(face, 1.0), "voice": ModalityInput(voice, 1.0)},
                                             FusionOptions())
        assert max(out, key=out.get) == k


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


# -- valence and arousal, derived ---------------------------------------------------------------------


def test_valence_arousal_are_the_expected_coordinates_of_the_distribution():
    from avemotion.affect import COORDINATES, valence_arousal

    assert valence_arousal({"happy": 1.0}) == {"valence": 0.81, "arousal": 0.51}  # Russell & Mehrabian 1977
    assert valence_arousal({"neutral": 1.0}) == {"valence": 0.0, "arousal": 0.0}
    mix = valence_arousal({"angry": 0.25, "sad": 0.75})
    assert mix == pytest.approx({"valence": 0.25 * -0.51 + 0.75 * -0.63, "arousal": 0.25 * 0.59 + 0.75 * -0.27},
                                abs=1e-4)
    assert valence_arousal({"contempt": 1.0}) is None and valence_arousal(None) is None
    calm = COORDINATES["calm"]
    assert calm[0] > 0 > calm[1] and calm[0] == pytest.approx(-calm[1])  # relaxation, 315 degrees


def test_result_json_carries_derived_affect_and_stays_valid_for_both_schema_versions(tmp_path):
    jsonschema = pytest.importorskip("jsonschema")
    from avemotion.pipeline import analyze

    from .test_analyze import ROOT, write_video

    data = json.loads(json.dumps(analyze(write_video(tmp_path / "v.mp4", 1.5)).to_dict()))
    assert data["schema_version"] == "1.1" and "derived" in data["affect"]
    for w in data["timeline"]:
        assert set(w["affect"]) == {"face", "voice", "fused"}
        if w["fused"]:
            from avemotion.affect import valence_arousal

            assert w["affect"]["fused"] == valence_arousal(w["fused"])
    schemas = ROOT / "src" / "avemotion" / "schemas"
    jsonschema.validate(data, json.loads((schemas / "analysis-1.1.json").read_text()))
    old = {k: v for k, v in data.items() if k != "affect"} | {"schema_version": "1.0"}
    old["timeline"] = [{k: v for k, v in w.items() if k != "affect"} for w in data["timeline"]]
    jsonschema.validate(old, json.loads((schemas / "analysis-1.0.json").read_text()))  # 1.0 fields unchanged


def test_affect_is_scored_against_intensity_and_valence_sign(tmp_path):
    from avemotion.evaluation.affect import evaluate_affect
    from avemotion.taxonomy import SPEECH_EMOTIONS

    rows = []
    for i in range(8):  # RAVDESS names: the 4th field is the intensity (01 normal, 02 strong)
        strong = i % 2 == 1
        p = dict.fromkeys(SPEECH_EMOTIONS, 0.0)
        p["angry"], p["sad"] = (0.9, 0.1) if strong else (0.3, 0.7)
        rows.append({"path": f"Actor_01/03-01-05-{'02' if strong else '01'}-01-0{i % 2 + 1}-01.flac",
                     "corpus": "ravdess", "speaker": "01", "emotion": "angry", **p})
    p = dict.fromkeys(SPEECH_EMOTIONS, 0.0) | {"happy": 1.0}
    rows.append({"path": "x.wav", "corpus": "other", "speaker": "a", "emotion": "sad", **p})
    f = tmp_path / "held_out.csv"
    with open(f, "w", newline="") as out:
        import csv

        w = csv.DictWriter(out, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    report = evaluate_affect(f)
    assert report["arousal_auc_strong_vs_normal"]["per_emotion"] == {"angry": 1.0}
    assert report["valence_sign_accuracy"]["other"] == {"accuracy": 0.0, "clips": 1}
    assert report["valence_sign_accuracy"]["ravdess"]["accuracy"] == 1.0


@pytest.mark.parametrize("case", ["missing", "columns", "number", "empty"])
def test_a_held_out_file_that_is_not_one_is_a_one_line_error(case, tmp_path, capsys):
    from avemotion.cli import main
    from avemotion.taxonomy import SPEECH_EMOTIONS

    f = tmp_path / "held_out.csv"
    head = "path,corpus,speaker,emotion," + ",".join(SPEECH_EMOTIONS)
    text = {"columns": "a,b\n1,2\n", "number": head + "\nx.wav,c,s,angry," + ",".join(["oops"] * 8) + "\n",
            "empty": head + "\n"}.get(case)
    if text is not None:
        f.write_text(text)
    assert main(["evaluate", "affect", str(f), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"avemotion: error: {f}:"), err


def test_held_out_predictions_round_trip(tmp_path):
    from avemotion.datasets import Item
    from avemotion.evaluation import read_held_out, write_held_out

    items = [Item("a.wav", "angry", "s1", "c1"), Item("b.wav", "calm", "s2", "c2")]
    p = np.array([[0.5] + [0.5 / 7] * 7, [0.0] * 7 + [1.0]], np.float32)
    rows, back = read_held_out(write_held_out(tmp_path / "x" / "held_out.csv", items, p))
    assert rows == [{"path": "a.wav", "corpus": "c1", "speaker": "s1", "emotion": "angry"},
                    {"path": "b.wav", "corpus": "c2", "speaker": "s2", "emotion": "calm"}]
    assert back == pytest.approx(p, abs=1e-5)
    probs, y, kept = fe.read_voice(tmp_path / "x" / "held_out.csv")  # calm is read as neutral
    assert y.tolist() == [0, fe.LABELS.index("neutral")] and probs[1][fe.LABELS.index("neutral")] == 1.0
