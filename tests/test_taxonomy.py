import numpy as np
import pytest

from avemotion.errors import AvemotionError
from avemotion.taxonomy import (CORPUS_LABELS, EMOTIONS, FACE_EMOTIONS, SPEECH_EMOTIONS, align, canonical,
                                modelled)


def test_every_corpus_label_is_canonical():
    for corpus, mapping in CORPUS_LABELS.items():
        assert set(mapping.values()) <= set(EMOTIONS), corpus


def test_corpus_class_counts():
    assert len(set(CORPUS_LABELS["ravdess"].values())) == 8
    assert len(set(CORPUS_LABELS["fer2013"].values())) == 7
    assert len(set(CORPUS_LABELS["cremad"].values())) == 6
    assert len(set(CORPUS_LABELS["tess"].values())) == 7
    assert len(set(CORPUS_LABELS["savee"].values())) == 7
    assert "boredom" in CORPUS_LABELS["emodb"].values()


@pytest.mark.parametrize("raw,expected", [("Anger", "angry"), ("sadness", "sad"), ("happiness", "happy"),
                                          ("fearful", "fear"), ("ps", "surprise"), ("Surprised", "surprise")])
def test_synonyms(raw, expected):
    assert canonical(raw) == expected


def test_unknown_label_is_a_clear_error():
    with pytest.raises(AvemotionError, match="unknown emotion label 'grumpy'"):
        canonical("grumpy")


def test_calm_folds_into_neutral_when_target_lacks_it():
    p = np.zeros(len(SPEECH_EMOTIONS), np.float32)
    p[SPEECH_EMOTIONS.index("calm")] = 0.6
    p[SPEECH_EMOTIONS.index("happy")] = 0.4
    q = align(p, SPEECH_EMOTIONS, FACE_EMOTIONS)
    assert q.shape == (7,)
    assert q[FACE_EMOTIONS.index("neutral")] == pytest.approx(0.6)
    assert q[FACE_EMOTIONS.index("happy")] == pytest.approx(0.4)


def test_dropped_class_renormalises_and_unmodelled_is_reported():
    source = ["happy", "contempt"]
    target = ["happy", "sad"]  # contempt's parent (disgust) is absent: dropped
    q = align(np.array([0.25, 0.75]), source, target)
    assert q.tolist() == pytest.approx([1.0, 0.0])
    assert modelled(FACE_EMOTIONS, list(SPEECH_EMOTIONS)) == list(FACE_EMOTIONS)
    assert "calm" not in modelled(FACE_EMOTIONS, list(SPEECH_EMOTIONS))
