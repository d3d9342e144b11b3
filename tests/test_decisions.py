"""The rules that decide an answer, checked against hand-computed values.

Fusion with unequal weights and partial coverage, the lanes' window arithmetic (how much each
speech segment and each face frame counts, and what coverage a window gets): a change to any of
these moves the numbers below, not just the shape of the result.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from avemotion.fusion import FusionOptions, ModalityInput, confidence_fusion, peakedness, weighted_average
from avemotion.pipeline import VideoAnalyzer
from avemotion.taxonomy import FACE_EMOTIONS


def onehot_ish(top: str, p: float, labels=FACE_EMOTIONS) -> dict[str, float]:
    rest = (1 - p) / (len(labels) - 1)
    return {lab: p if lab == top else rest for lab in labels}


FACE = onehot_ish("happy", 0.7)
VOICE = onehot_ish("angry", 0.6)


def test_weighted_average_follows_unequal_weights_exactly():
    for wf, wv in ((3.0, 1.0), (1.0, 4.0), (0.2, 0.0)):
        out = weighted_average({"face": ModalityInput(FACE), "voice": ModalityInput(VOICE)},
                               FusionOptions(rule="weighted", weights={"face": wf, "voice": wv}))
        for lab in FACE_EMOTIONS:
            assert out[lab] == pytest.approx((wf * FACE[lab] + wv * VOICE[lab]) / (wf + wv), abs=1e-6), (wf, wv, lab)
    face_heavy = weighted_average({"face": ModalityInput(FACE), "voice": ModalityInput(VOICE)},
                                  FusionOptions(weights={"face": 3.0, "voice": 1.0}))
    voice_heavy = weighted_average({"face": ModalityInput(FACE), "voice": ModalityInput(VOICE)},
                                   FusionOptions(weights={"face": 1.0, "voice": 3.0}))
    assert max(face_heavy, key=face_heavy.get) == "happy" and max(voice_heavy, key=voice_heavy.get) == "angry"


@pytest.mark.parametrize(("cov_face", "cov_voice", "wf", "wv"),
                         [(1.0, 1.0, 1.0, 1.0), (0.4, 1.0, 1.0, 1.0), (1.0, 0.25, 2.0, 1.0), (0.5, 0.5, 1.0, 3.0)])
def test_confidence_fusion_is_weight_times_coverage_times_peakedness(cov_face, cov_voice, wf, wv):
    out = confidence_fusion({"face": ModalityInput(FACE, cov_face), "voice": ModalityInput(VOICE, cov_voice)},
                            FusionOptions(weights={"face": wf, "voice": wv}))
    pf = np.array([FACE[k] for k in FACE_EMOTIONS])
    pv = np.array([VOICE[k] for k in FACE_EMOTIONS])
    cf = wf * cov_face * (0.5 + peakedness(pf))
    cv = wv * cov_voice * (0.5 + peakedness(pv))
    expected = (cf * pf + cv * pv) / (cf + cv)
    assert [out[k] for k in FACE_EMOTIONS] == pytest.approx(list(expected), abs=1e-6)


def test_confidence_fusion_drops_a_modality_below_min_confidence():
    out = confidence_fusion({"face": ModalityInput(FACE, 0.02), "voice": ModalityInput(VOICE, 1.0)},
                            FusionOptions(min_confidence=0.05))
    assert out == pytest.approx({k: round(v, 6) for k, v in VOICE.items()})


def _segment(start, end, top, p=0.8):
    return SimpleNamespace(start=start, end=end, probabilities=onehot_ish(top, p))


def _lanes():
    return SimpleNamespace(speech=SimpleNamespace(labels=list(FACE_EMOTIONS)),
                           faces=SimpleNamespace(labels=list(FACE_EMOTIONS)))


def test_voice_lane_weighs_segments_by_their_overlap_and_covers_only_speech():
    speech = SimpleNamespace(segments=[_segment(0.0, 0.3, "happy"), _segment(0.5, 1.4, "sad")])
    lane = VideoAnalyzer._voice_lane(_lanes(), speech, 0.0, 1.0)
    happy, sad = np.array(list(onehot_ish("happy", 0.8).values())), np.array(list(onehot_ish("sad", 0.8).values()))
    expected = (0.3 * happy + 0.5 * sad) / 0.8  # the second segment overlaps the window for 0.5 s of its 0.9
    assert [lane.probabilities[k] for k in FACE_EMOTIONS] == pytest.approx(list(expected), abs=1e-5)
    assert lane.coverage == pytest.approx(0.8) and lane.status == "ok"
    later = VideoAnalyzer._voice_lane(_lanes(), speech, 1.0, 2.0)
    assert later.coverage == pytest.approx(0.4)
    assert max(later.probabilities, key=later.probabilities.get) == "sad"
    silent = VideoAnalyzer._voice_lane(_lanes(), speech, 2.0, 3.0)
    assert silent.probabilities is None and silent.coverage == 0.0 and silent.status == "no speech"
    assert VideoAnalyzer._voice_lane(_lanes(), None, 0.0, 1.0).status == "missing"


def test_face_lane_averages_the_main_track_and_counts_frames_with_it():
    def frame(t, faces):
        return SimpleNamespace(time=t, faces=[SimpleNamespace(track=k, probabilities=onehot_ish(top, 0.9))
                                              for k, top in faces])

    frames = [frame(0.0, [(1, "happy"), (2, "angry")]), frame(0.2, [(1, "surprise")]), frame(0.4, [(2, "sad")]),
              frame(0.6, []), frame(1.0, [(1, "fear")])]
    times = np.array([f.time for f in frames])
    info = SimpleNamespace(has_video=True)
    lane = VideoAnalyzer._face_lane(_lanes(), frames, times, 1, 0.0, 1.0, info)
    mean = (np.array(list(onehot_ish("happy", 0.9).values())) + np.array(list(onehot_ish("surprise", 0.9).values()))) / 2
    assert [lane.probabilities[k] for k in FACE_EMOTIONS] == pytest.approx(list(mean), abs=1e-5)
    assert lane.coverage == pytest.approx(2 / 4)  # the main track in 2 of the window's 4 sampled frames
    assert VideoAnalyzer._face_lane(_lanes(), frames, times, 3, 0.0, 1.0, info).status == "no face"
    assert VideoAnalyzer._face_lane(_lanes(), frames, times, 1, 0.0, 1.0,
                                    SimpleNamespace(has_video=False)).status == "missing"


# -- the speech analyser: segments, the whole, when the speaker-adapted model reads them ------------


class _Bundle:
    """A stand-in model: the probability of class k is proportional to 1 + k * the segment's level."""

    def __init__(self, name: str, labels, min_segments: int | None = None) -> None:
        self.name, self.labels = name, list(labels)
        self.card = {"adaptation": {"min_segments": min_segments}} if min_segments else {}
        self.calls: list[int] = []

    def run_feeds(self, feeds):
        level = feeds["x"][:, 0]
        self.calls.append(len(level))
        p = 1 + np.outer(level, np.arange(len(self.labels)))
        return p / p.sum(1, keepdims=True)


def _speech(min_segments: int | None):
    from avemotion.speech.analyzer import SpeechAnalyzer

    labels = ["a", "b", "c"]
    ns = SimpleNamespace(labels=labels, bundle=_Bundle("plain", labels), inputs={"x": {"kind": "functionals"}},
                         adaptive=_Bundle("plain_adaptive", labels, min_segments) if min_segments else None,
                         features=lambda seg: {"x": np.array([[float(seg.mean())]], np.float32)})
    ns._adapt = lambda feeds: SpeechAnalyzer._adapt(ns, feeds)
    return ns


def _pieces(levels_and_spans):
    return [(s, e, np.full(100, level, np.float32)) for level, (s, e) in levels_and_spans]


def test_speech_result_is_the_duration_weighted_mean_of_its_segments():
    from avemotion.speech.analyzer import SpeechAnalyzer

    sa = _speech(None)
    r = SpeechAnalyzer._result(sa, "x.wav", 10.0, _pieces([(0.0, (0.0, 1.0)), (2.0, (2.0, 5.0))]))
    p0, p2 = np.array([1, 1, 1]) / 3, np.array([1, 3, 5]) / 9
    assert [s.probabilities["c"] for s in r.segments] == pytest.approx([p0[2], p2[2]], abs=1e-6)
    assert [r.probabilities[k] for k in "abc"] == pytest.approx(list((1 * p0 + 3 * p2) / 4), abs=1e-6)
    assert (r.has_speech, r.speech_seconds, r.duration, r.model, r.adapted) == (True, 4.0, 10.0, "plain", False)
    assert [(s.start, s.end) for s in r.segments] == [(0.0, 1.0), (2.0, 5.0)] and r.label == "c"
    none = SpeechAnalyzer._result(sa, "x.wav", 3.0, [])
    assert (none.has_speech, none.probabilities, none.speech_seconds, none.label) == (False, None, 0.0, None)


def test_the_adapted_model_reads_a_recording_only_from_its_minimum_of_segments():
    from avemotion.speech.analyzer import SpeechAnalyzer

    sa = _speech(3)
    two = SpeechAnalyzer._result(sa, None, 5.0, _pieces([(1.0, (0, 1)), (2.0, (1, 2))]))
    assert two.model == "plain" and not two.adapted and sa.adaptive.calls == [] and sa.bundle.calls == [1, 1]
    assert two.adaptation == "not adapted: 2 speech segments, fewer than the 3 it needs"
    three = SpeechAnalyzer._result(sa, None, 5.0, _pieces([(1.0, (0, 1)), (2.0, (1, 2)), (0.5, (2, 3))]))
    assert three.model == "plain_adaptive" and three.adapted and sa.adaptive.calls == [3]  # one batch of all three
    assert three.adaptation == "adapted: 3 segments, one voice assumed"  # no voice input: nothing to check
    assert SpeechAnalyzer._result(_speech(None), None, 5.0, _pieces([(1.0, (0, 1))] * 4)).adaptation is None


def test_long_speech_is_cut_into_equal_pieces_no_longer_than_the_maximum():
    from avemotion.speech.analyzer import _split

    assert _split(0.0, 4.0, 4.0) == [(0.0, 4.0)]
    pieces = _split(1.0, 11.0, 4.0)
    assert len(pieces) == 3 and pieces[0][0] == 1.0 and pieces[-1][1] == pytest.approx(11.0)
    assert all(e - s == pytest.approx(10 / 3) for s, e in pieces)
    assert all(a[1] == pytest.approx(b[0]) for a, b in zip(pieces, pieces[1:]))
    assert len(_split(0.0, 8.0, 4.0)) == 2 and len(_split(0.0, 8.01, 4.0)) == 3


# -- the face analyser: which detections count, in what order, which face gets which answer ----------


def test_face_detect_keeps_confident_faces_largest_first_up_to_the_maximum():
    from avemotion.face.analyzer import FaceAnalyzer
    from avemotion.face.detect import Detection

    dets = [Detection((0, 0, 10, 10), 0.9), Detection((0, 0, 40, 40), 0.55), Detection((0, 0, 30, 30), 0.7),
            Detection((0, 0, 20, 20), 0.6)]
    fa = SimpleNamespace(detector=SimpleNamespace(detect=lambda img: list(dets)), min_score=0.6, max_faces=2)
    assert [d.box[2] for d in FaceAnalyzer.detect(fa, None)] == [30, 20]
    fa.max_faces = 0  # no maximum
    assert [d.box[2] for d in FaceAnalyzer.detect(fa, None)] == [30, 20, 10]
    fa.min_score = 0.6000001
    assert [d.box[2] for d in FaceAnalyzer.detect(fa, None)] == [30, 10]


def test_face_analyze_batch_gives_each_face_its_own_probabilities():
    from avemotion.face.analyzer import FaceAnalyzer
    from avemotion.face.detect import Detection

    labels = list(FACE_EMOTIONS)
    per_image = {0: [Detection((0, 0, 20, 20), 0.9), Detection((30, 0, 20, 20), 0.8)], 1: [],
                 2: [Detection((5, 5, 20, 20), 0.7)]}
    images = [np.full((48, 64, 3), k, np.uint8) for k in range(3)]

    def predict_proba(crops):
        out = np.zeros((len(crops), len(labels)), np.float32)
        out[np.arange(len(crops)), np.arange(len(crops)) % len(labels)] = 1.0  # the i-th crop says class i
        return out

    fa = SimpleNamespace(detect=lambda img: per_image[int(img[0, 0, 0])], margin=0.1, align=True, labels=labels,
                         classifier=SimpleNamespace(size=48, predict_proba=predict_proba))
    faces = FaceAnalyzer.analyze_batch(fa, images)
    assert [len(f) for f in faces] == [2, 0, 1]
    assert [f.label for f in faces[0] + faces[2]] == labels[:3]
    assert [f.box for f in faces[0]] == [(0, 0, 20, 20), (30, 0, 20, 20)] and faces[2][0].score == 0.7
    whole = FaceAnalyzer.analyze_batch(fa, images[:1], detect=False)
    assert [(f.box, f.score, f.label) for f in whole[0]] == [((0, 0, 64, 48), 1.0, labels[0])]
    assert FaceAnalyzer.analyze_batch(fa, [images[1]]) == [[]]
