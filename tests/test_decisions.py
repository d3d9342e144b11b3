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
