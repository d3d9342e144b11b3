import json

import pytest

from avemotion.errors import AvemotionError
from avemotion.fusion import (FusionOptions, ModalityInput, confidence_fusion, load_weights, peakedness,
                              weighted_average)
from avemotion.taxonomy import FACE_EMOTIONS, SPEECH_EMOTIONS


def dist(labels, **peaks):
    rest = (1 - sum(peaks.values())) / (len(labels) - len(peaks))
    return {lab: peaks.get(lab, rest) for lab in labels}


def test_seed_weighted_average_and_calm_folds_into_neutral():
    face = dist(FACE_EMOTIONS, happy=0.94)
    voice = dist(SPEECH_EMOTIONS, calm=0.93)
    out = weighted_average({"face": ModalityInput(face), "voice": ModalityInput(voice)})
    assert set(out) == set(FACE_EMOTIONS) and sum(out.values()) == pytest.approx(1)
    assert out["happy"] == pytest.approx((0.94 + 0.01) / 2, abs=1e-4)
    assert out["neutral"] == pytest.approx((0.01 + 0.93 + 0.01) / 2, abs=1e-4)
    only_face = weighted_average({"face": ModalityInput(face)}, FusionOptions(weights={"face": 0.7, "voice": 0.3}))
    assert only_face == pytest.approx({k: round(v, 6) for k, v in face.items()})


def test_missing_modality_is_not_neutral():
    face = dist(FACE_EMOTIONS, sad=0.9)
    out = confidence_fusion({"face": ModalityInput(face), "voice": ModalityInput(None, 0.0)})
    assert max(out, key=out.get) == "sad" and out["sad"] == pytest.approx(0.9, abs=1e-4)
    assert confidence_fusion({"face": ModalityInput(None), "voice": ModalityInput(None)}) is None


def test_low_coverage_and_flat_distributions_weigh_less():
    face = dist(FACE_EMOTIONS, happy=0.8)
    voice = dist(SPEECH_EMOTIONS, angry=0.8)
    even = confidence_fusion({"face": ModalityInput(face, 1.0), "voice": ModalityInput(voice, 1.0)})
    glimpse = confidence_fusion({"face": ModalityInput(face, 0.1), "voice": ModalityInput(voice, 1.0)})
    assert glimpse["angry"] > even["angry"] > glimpse["happy"]
    assert peakedness([1, 0, 0]) == pytest.approx(1) and peakedness([1, 1, 1]) == pytest.approx(0)
    ignored = confidence_fusion({"face": ModalityInput(face, 0.01), "voice": ModalityInput(voice, 1.0)})
    assert max(ignored, key=ignored.get) == "angry" and ignored["happy"] < 0.05  # below min_confidence


def test_weights_from_command_line_or_file(tmp_path):
    assert load_weights("face=0.7,voice=0.3") == {"face": 0.7, "voice": 0.3}
    f = tmp_path / "w.json"
    f.write_text(json.dumps({"weights": {"face": 1, "voice": 2}}))
    assert load_weights(str(f)) == {"face": 1.0, "voice": 2.0}
    for bad in ("face=x", "eyes=1", "face=0,voice=0", "face=-1,voice=1"):
        with pytest.raises(AvemotionError):
            load_weights(bad)


def test_a_misspelt_modality_in_the_weights_is_refused_everywhere():
    import avemotion
    from avemotion.errors import OptionError

    with pytest.raises(OptionError, match=r"got \['vioce'\]"):
        FusionOptions(weights={"face": 1, "vioce": 1})
    with pytest.raises(OptionError, match="vioce"):
        avemotion.AnalyzeConfig.of(weights={"face": 1, "vioce": 1})
