"""The shipped models on fixed sets of real labelled clips and faces: labels and a floor of accuracy.

These are behaviour checks, not accuracy figures (those come from `avemotion evaluate`): the speech
clips are from corpora the shipped speech model was trained on, so the floors sit well below what it
scores. What they catch is a model whose answers no longer mean what its labels say — labels
swapped in a card, a class index off by one, an input standardised twice — which every shape and
schema test passes. Each set is chosen by sorted file name, so it never changes between runs.
"""

from __future__ import annotations

import csv
from pathlib import Path
from collections import defaultdict

import numpy as np
import pytest

from avemotion.taxonomy import try_canonical

from .conftest import SHARED, need

SPEECH_CORPORA = ("ravdess_speech_16k", "casia_speech_16k", "emovo_speech_16k")
SPEECH_CLASSES = ("angry", "happy", "neutral", "sad")
PER_CLASS = 4


def speech_set() -> list[tuple[str, str, str]]:
    """(path, label, speaker): the first clips by path of each class in each corpus, one speaker per corpus."""
    out = []
    for name in SPEECH_CORPORA:
        root = need(SHARED / name)
        with open(root / "manifest.csv", newline="") as f:
            rows = sorted(csv.DictReader(f), key=lambda r: r["path"])
        speaker = rows[0]["speaker"]
        chosen: dict[str, int] = defaultdict(int)
        for r in rows:
            lab = try_canonical(r["emotion"])
            if r["speaker"] == speaker and lab in SPEECH_CLASSES and chosen[lab] < PER_CLASS:
                chosen[lab] += 1
                out.append((str(root / r["path"]), lab, f"{name}/{speaker}"))
    return out


@pytest.fixture(scope="module")
def speech_clips():
    from avemotion.media import load_audio
    from avemotion.speech.analyzer import SpeechAnalyzer

    clips = speech_set()
    sa = SpeechAnalyzer(adapt=True)
    feeds = [sa.features(load_audio(p)) for p, _, _ in clips]
    return sa, clips, feeds


def _recalls(labels: list[str], predicted: list[str]) -> dict[str, float]:
    return {c: float(np.mean([p == c for t, p in zip(labels, predicted) if t == c])) for c in sorted(set(labels))}


def test_shipped_speech_model_hears_the_emotions_it_names(speech_clips):
    sa, clips, feeds = speech_clips
    predicted = [sa.labels[int(np.argmax(sa.bundle.run_feeds(f)[0]))] for f in feeds]
    predicted = ["neutral" if p == "calm" else p for p in predicted]
    truth = [lab for _, lab, _ in clips]
    recalls = _recalls(truth, predicted)
    assert np.mean([recalls[c] for c in SPEECH_CLASSES]) >= 0.6, recalls
    assert min(recalls.values()) >= 0.25, recalls


def test_shipped_speaker_adapted_model_hears_them_across_one_voice(speech_clips):
    sa, clips, feeds = speech_clips
    assert sa.adaptive is not None
    truth, predicted = [], []
    for speaker in sorted({s for _, _, s in clips}):
        rows = [i for i, c in enumerate(clips) if c[2] == speaker]
        batch = {k: np.concatenate([feeds[i][k] for i in rows]) for k in sa.adaptive.card["inputs"]}  # as analyze does
        probs = np.asarray(sa.adaptive.run_feeds(batch))
        predicted += ["neutral" if sa.labels[j] == "calm" else sa.labels[j] for j in probs.argmax(1)]
        truth += [clips[i][1] for i in rows]
    recalls = _recalls(truth, predicted)
    assert np.mean(list(recalls.values())) >= 0.6, recalls
    assert min(recalls.values()) >= 0.25, recalls


FACE_PER_CLASS = 10


def test_shipped_face_model_reads_fer_plus_test_faces():
    """Ten FER2013 test faces of each class (by FER+'s majority; the model never trained on test/)."""
    from avemotion.evaluation.face import labelled_items
    from avemotion.face.classify import FaceClassifier
    from avemotion.face.preprocess import crop_face
    from avemotion.media import read_image

    fc = FaceClassifier("face")
    items, _, _ = labelled_items(need(SHARED / "fer2013" / "test"), "ferplus", fc.labels)
    chosen: dict[str, list] = defaultdict(list)
    for it in sorted(items, key=lambda i: Path(i.path).name):  # by name, not folder: FER+ relabels across folders
        if len(chosen[it.label]) < FACE_PER_CLASS:
            chosen[it.label].append(it)
    faces = [it for lab in fc.labels for it in chosen[lab]]
    probs = fc.predict_proba(np.stack([crop_face(read_image(it.path), size=fc.size) for it in faces]))
    recalls = _recalls([it.label for it in faces], [fc.labels[j] for j in probs.argmax(1)])
    assert np.mean(list(recalls.values())) >= 0.55, recalls
    for lab in ("happy", "neutral", "surprise", "angry", "sad"):
        assert recalls[lab] >= 0.4, recalls
