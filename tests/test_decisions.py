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
        self.card = {"inputs": {"x": {"kind": "functionals"}}}
        if min_segments:
            self.card["adaptation"] = {"min_segments": min_segments}
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


# -- the timeline: how many windows, where they start and end, what each fuses --------------------------


def _timeline_self(window: float, rule: str = "confidence", weights=None):
    from avemotion.fusion import FusionOptions

    ns = _lanes()
    ns.config = SimpleNamespace(fusion=FusionOptions(rule=rule, window=window,
                                                     weights=weights or {"face": 0.5, "voice": 0.5}))
    ns._face_lane = lambda *a: VideoAnalyzer._face_lane(ns, *a)
    ns._voice_lane = lambda *a: VideoAnalyzer._voice_lane(ns, *a)
    return ns


def test_timeline_windows_cover_the_file_and_fuse_each_window():
    from avemotion.fusion import FusionOptions

    def frame(t, top):
        return SimpleNamespace(time=t, faces=[SimpleNamespace(track=0, probabilities=onehot_ish(top, 0.9))])

    frames = [frame(0.0, "happy"), SimpleNamespace(time=0.25, faces=[]), frame(0.5, "happy"), frame(1.0, "sad"),
              frame(1.5, "sad"), frame(2.0, "sad")]
    speech = SimpleNamespace(segments=[_segment(0.2, 1.2, "angry")])
    info = SimpleNamespace(has_video=True)
    ns = _timeline_self(1.0)
    windows = VideoAnalyzer._timeline(ns, 2.3333, frames, 0, speech, info)
    assert [(w.start, w.end) for w in windows] == [(0.0, 1.0), (1.0, 2.0), (2.0, 2.333)]
    assert [w.face.coverage for w in windows] == [0.667, 1.0, 1.0] and [w.voice.coverage for w in windows] == [0.8, 0.2, 0.0]
    assert windows[2].voice.status == "no speech" and windows[2].fused == pytest.approx(
        {k: round(v, 6) for k, v in onehot_ish("sad", 0.9).items()}, abs=1e-5)
    for w in windows:  # each window's fused value is the rule applied to that window's lanes
        expected = confidence_fusion({"face": ModalityInput(w.face.probabilities, w.face.coverage),
                                      "voice": ModalityInput(w.voice.probabilities, w.voice.coverage)},
                                     FusionOptions(window=1.0))
        assert w.fused == pytest.approx(expected, abs=1e-6)
    weighted = VideoAnalyzer._timeline(_timeline_self(1.0, "weighted", {"face": 1.0, "voice": 3.0}),
                                       2.3333, frames, 0, speech, info)
    assert max(weighted[0].fused, key=weighted[0].fused.get) == "angry"
    assert len(VideoAnalyzer._timeline(ns, 2.0, frames, 0, speech, info)) == 2  # no empty window at the end
    assert len(VideoAnalyzer._timeline(ns, 2.0000000001, frames, 0, speech, info)) == 2
    empty = VideoAnalyzer._timeline(_timeline_self(0.5), 0.0, [], None, None, SimpleNamespace(has_video=False))
    assert [(w.start, w.end, w.face.status, w.voice.status, w.fused) for w in empty] == [(0.0, 0.5, "missing", "missing", None)]
    rounded = VideoAnalyzer._timeline(_timeline_self(0.3), 0.7, [], None, None, SimpleNamespace(has_video=False))
    assert [(w.start, w.end) for w in rounded] == [(0.0, 0.3), (0.3, 0.6), (0.6, 0.7)]


def test_fuse_timeline_calls_a_rule_per_window_or_once_over_time():
    from avemotion.fusion import FusionOptions, fuse_timeline, over_time

    seen = []

    def per_window(window, options):
        seen.append((window, options))
        return {"w": window["k"]}

    opts = FusionOptions()
    assert fuse_timeline(per_window, [{"k": 1}, {"k": 2}], opts) == [{"w": 1}, {"w": 2}]
    assert seen == [({"k": 1}, opts), ({"k": 2}, opts)]

    @over_time
    def whole(windows, options):
        seen.append(("all", list(windows), options))
        return [{"n": len(windows)}] * len(windows)

    assert whole.over_time is True
    assert fuse_timeline(whole, ({"k": 1}, {"k": 2}), opts) == [{"n": 2}, {"n": 2}]
    assert seen[-1] == ("all", [{"k": 1}, {"k": 2}], opts)
    short = over_time(lambda windows, options: [None])
    with pytest.raises(ValueError, match=r"^fusion rule over time gave 1 windows for 2$"):
        fuse_timeline(short, [{}, {}], opts)


def test_lanes_that_see_nothing_have_no_coverage():
    frames = [SimpleNamespace(time=0.0, faces=[]), SimpleNamespace(time=1.0, faces=[])]
    times = np.array([0.0, 1.0])
    for info, status in ((SimpleNamespace(has_video=False), "missing"), (SimpleNamespace(has_video=True), "no face")):
        lane = VideoAnalyzer._face_lane(_lanes(), frames, times, 0, 0.0, 1.0, info)
        assert (lane.probabilities, lane.coverage, lane.status) == (None, 0.0, status)
    for speech, status in ((None, "missing"), (SimpleNamespace(segments=[]), "no speech")):
        lane = VideoAnalyzer._voice_lane(_lanes(), speech, 0.0, 1.0)
        assert (lane.probabilities, lane.coverage, lane.status) == (None, 0.0, status)


def test_face_lane_window_edges_and_rounding():
    def frame(t):
        return SimpleNamespace(time=t, faces=[SimpleNamespace(track=0, probabilities=onehot_ish("fear", 0.9))])

    frames = [frame(t) for t in (0.0, 0.999999, 1.0, 1.5, 2.0)] + [SimpleNamespace(time=1.7, faces=[])]
    times = np.array([f.time for f in frames])
    info = SimpleNamespace(has_video=True)
    first = VideoAnalyzer._face_lane(_lanes(), frames, times, 0, 1.0, 2.0, info)
    assert first.status == "ok" and first.coverage == 0.75  # 1.0 and 1.5 and 0.999999 (within 1e-6), not 2.0; 1.7 empty
    third = VideoAnalyzer._face_lane(_lanes(), frames[:3] + [frame(1.1), frame(1.2), SimpleNamespace(time=1.3, faces=[]),
                                                             SimpleNamespace(time=1.4, faces=[])],
                                     np.array([0.0, 0.999999, 1.0, 1.1, 1.2, 1.3, 1.4]), 0, 1.0, 2.0, info)
    assert third.coverage == 0.667  # 4 of 6 frames, rounded to three digits


# -- fusion's own arithmetic ------------------------------------------------------------------------------


def test_fusion_edge_cases_are_exact():
    from avemotion.taxonomy import SPEECH_EMOTIONS

    voice = {lab: (0.5 if lab == "calm" else 0.5 / 7) for lab in SPEECH_EMOTIONS}  # calm folds into neutral
    face = onehot_ish("happy", 0.6)
    out = weighted_average({"face": ModalityInput(face), "voice": ModalityInput(voice)},
                           FusionOptions(weights={"face": 1.0, "voice": 1.0}))
    assert out["neutral"] == pytest.approx((face["neutral"] + 0.5 + 0.5 / 7) / 2, abs=1e-6)
    assert sum(out.values()) == pytest.approx(1.0, abs=1e-5)
    # a modality with no weight, or a weight of zero, says nothing; coverage above 1 counts as 1
    only_voice = confidence_fusion({"face": ModalityInput(FACE, 1.0), "voice": ModalityInput(VOICE, 1.0)},
                                   FusionOptions(weights={"face": 0.0, "voice": 1.0}))
    assert only_voice == pytest.approx({k: round(v, 6) for k, v in VOICE.items()})
    over = confidence_fusion({"face": ModalityInput(FACE, 5.0), "voice": ModalityInput(VOICE, 1.0)})
    capped = confidence_fusion({"face": ModalityInput(FACE, 1.0), "voice": ModalityInput(VOICE, 1.0)})
    assert over == capped
    neg = confidence_fusion({"face": ModalityInput(FACE, -1.0), "voice": ModalityInput(VOICE, 1.0)})
    assert neg == pytest.approx({k: round(v, 6) for k, v in VOICE.items()})  # negative coverage: no weight
    # exactly at the minimum confidence the modality still counts
    from avemotion.fusion import _aligned

    pa, mask = _aligned(FACE, FACE_EMOTIONS)
    at = float(np.clip(0.5, 0, 1)) * (0.5 + peakedness(pa[mask]))
    kept = confidence_fusion({"face": ModalityInput(FACE, 0.5), "voice": ModalityInput(None)},
                             FusionOptions(min_confidence=at))
    assert kept is not None and max(kept, key=kept.get) == "happy"
    # both present in the first modality listed only: the loop goes on past a skipped one
    later = confidence_fusion({"face": ModalityInput(None), "voice": ModalityInput(VOICE, 1.0)})
    assert later == pytest.approx({k: round(v, 6) for k, v in VOICE.items()})
    assert weighted_average({"face": ModalityInput(None), "voice": ModalityInput(VOICE)}) == pytest.approx(
        {k: round(v, 6) for k, v in VOICE.items()})
    assert peakedness([0.5, 0.5]) == pytest.approx(0.0) and peakedness([0.9, 0.1]) == pytest.approx(0.531, abs=1e-3)


def test_weights_are_read_exactly_and_refused_with_their_reason(tmp_path):
    import json

    from avemotion.errors import AvemotionError, OptionError
    from avemotion.fusion import load_weights

    assert load_weights("face=0.6,voice=0.4") == {"face": 0.6, "voice": 0.4}
    assert load_weights(" face = 2 ") == {"face": 2.0, "voice": 0.0}  # a modality not named gets no weight
    f = tmp_path / "w.json"
    f.write_text(json.dumps({"weights": {"voice": 3}}))
    assert load_weights(str(f)) == {"face": 0.0, "voice": 3.0}
    f.write_text(json.dumps({"face": 1, "voice": 1}))
    assert load_weights(str(f)) == {"face": 1.0, "voice": 1.0}
    with pytest.raises(AvemotionError, match=r"weights must look like face=0.6,voice=0.4, got '" + str(f)):
        load_weights(str(f), allow_file=False)  # the web form never names a file
    cases = [("{not json", r"weights file is not valid JSON \("), ("[1, 2]", r'weights file must hold \{"face": number'),
             ('{"weights": 5}', r'weights file must hold \{"face": number')]
    for text, why in cases:
        f.write_text(text)
        with pytest.raises(AvemotionError, match=why) as err:
            load_weights(str(f))
        assert err.value.path == str(f)
    with pytest.raises(AvemotionError, match=r"^weights name face and/or voice only; got \['vioce'\]$"):
        load_weights("face=1,vioce=1")
    with pytest.raises(AvemotionError, match=r"^weights must not all be zero; got \{'face': 0.0, 'voice': 0.0\}$"):
        load_weights("face=0,voice=0")
    with pytest.raises(AvemotionError, match=r"^weights must look like face=0.6,voice=0.4, got 'face'$"):
        load_weights("face")
    with pytest.raises(OptionError, match="weight of face"):
        load_weights("face=-1,voice=1")


def test_fusion_options_say_what_is_wrong():
    from avemotion.errors import OptionError

    with pytest.raises(OptionError, match=r"^fusion must be one of confidence, weighted, product, learned, not 'vote'$"):
        FusionOptions(rule="vote")
    with pytest.raises(OptionError, match=r"^weights must map face/voice to numbers, got \[1, 2\]$"):
        FusionOptions(weights=[1, 2])
    with pytest.raises(OptionError, match=r"^weights must not all be zero$"):
        FusionOptions(weights={"face": 0, "voice": 0})
    with pytest.raises(OptionError, match="window"):
        FusionOptions(window=0.01)
    ok = FusionOptions(rule="weighted", weights={"face": 1, "voice": 0}, window=2)
    assert (ok.rule, ok.weights, ok.window) == ("weighted", {"face": 1.0, "voice": 0.0}, 2.0)


def test_the_adapted_variant_is_found_only_when_its_card_matches(tmp_path):
    import json
    import shutil

    from avemotion.bundles import MODELS_DIR, ModelBundle
    from avemotion.speech.analyzer import _adaptive_variant

    for name in ("speech", "speech_adaptive"):
        for ext in (".onnx", ".json"):
            shutil.copy(MODELS_DIR / f"{name}{ext}", tmp_path / f"{name}{ext}")
    plain = ModelBundle.load(tmp_path / "speech.onnx")
    found = _adaptive_variant(plain, None)
    assert found is not None and found.name == "speech_adaptive" and found.path == tmp_path / "speech_adaptive.onnx"
    card = json.loads((tmp_path / "speech_adaptive.json").read_text())
    plain_inputs = plain.card["inputs"]
    assert set(card["inputs"]) <= set(plain_inputs)  # the variant reads some of speech's inputs (not its frames)
    other_dim = {k: {**v, "dim": 7} for k, v in card["inputs"].items()}
    for change in ({"adaptation": {**card["adaptation"], "adapts": "other"}}, {"labels": card["labels"][::-1]},
                   {"inputs": {}}, {"inputs": other_dim}, {"inputs": {**card["inputs"], "extra": {"kind": "voice"}}}):
        (tmp_path / "speech_adaptive.json").write_text(json.dumps(card | change))
        assert _adaptive_variant(plain, None) is None, change
    (tmp_path / "speech_adaptive.onnx").unlink()
    assert _adaptive_variant(plain, None) is None


def test_speech_result_rounds_times_to_the_millisecond_and_keeps_float32():
    from avemotion.speech.analyzer import SpeechAnalyzer

    sa = _speech(None)
    r = SpeechAnalyzer._result(sa, "a.wav", 10.12345, _pieces([(0.5, (0.0004, 1.23456)), (1.0, (2.00049, 3.0005))]))
    assert [(s.start, s.end) for s in r.segments] == [(0.0, 1.235), (2.0, 3.001)]
    assert (r.duration, r.speech_seconds, r.path, r.labels) == (10.123, 2.234, "a.wav", ["a", "b", "c"])
    assert all(isinstance(v, float) for s in r.segments for v in s.probabilities.values())
    adapted = SpeechAnalyzer._result(_speech(2), None, 4.0, _pieces([(1.0, (0, 1)), (2.0, (1, 2))]))
    assert adapted.adapted and [s.label for s in adapted.segments] == ["c", "c"]


def test_a_modality_the_weights_do_not_name_has_no_say():
    out = confidence_fusion({"face": ModalityInput(FACE), "voice": ModalityInput(VOICE)},
                            FusionOptions(weights={"face": 1.0}))
    assert out == pytest.approx({k: round(v, 6) for k, v in FACE.items()})
    out = weighted_average({"face": ModalityInput(FACE), "voice": ModalityInput(VOICE)}, FusionOptions(weights={"voice": 2.0}))
    assert out == pytest.approx({k: round(v, 6) for k, v in VOICE.items()})
    zero = weighted_average({"face": ModalityInput(FACE), "voice": ModalityInput(VOICE)},
                            FusionOptions(weights={"face": 0.0, "voice": 2.0}))
    assert zero == pytest.approx({k: round(v, 6) for k, v in VOICE.items()})


def test_a_label_no_modality_can_express_is_zero():
    voice = {"angry": 0.7, "happy": 0.1, "neutral": 0.1, "sad": 0.1}  # a four-class voice model
    out = weighted_average({"face": ModalityInput(None), "voice": ModalityInput(voice)})
    assert out == {"angry": 0.7, "disgust": 0.0, "fear": 0.0, "happy": 0.1, "neutral": 0.1, "sad": 0.1, "surprise": 0.0}


def test_voice_lane_coverage_is_the_share_of_a_short_window_and_rounded():
    speech = SimpleNamespace(segments=[_segment(0.0, 0.2, "sad"), _segment(0.3, 0.3004, "happy")])
    lane = VideoAnalyzer._voice_lane(_lanes(), speech, 0.0, 0.5)
    assert lane.coverage == 0.4 and max(lane.probabilities, key=lane.probabilities.get) == "sad"  # 0.2 of 0.5 s
    thirds = VideoAnalyzer._voice_lane(_lanes(), SimpleNamespace(segments=[_segment(0.0, 1.0, "sad")]), 0.0, 1.5)
    assert thirds.coverage == 0.667


def test_a_voice_with_fewer_labels_fuses_label_by_label():
    """Labels only the face can express come from the face alone; shared ones are weighed; peakedness is the voice's own."""
    from avemotion.fusion import _aligned

    voice = {"angry": 0.7, "happy": 0.1, "neutral": 0.1, "sad": 0.1}
    face = onehot_ish("happy", 0.6)
    wf, wv = 1.0, 3.0
    out = weighted_average({"face": ModalityInput(face), "voice": ModalityInput(voice)},
                           FusionOptions(weights={"face": wf, "voice": wv}))
    raw = {k: (wf * face[k] + wv * voice[k]) / (wf + wv) if k in voice else face[k] for k in FACE_EMOTIONS}
    total = sum(raw.values())
    assert out == pytest.approx({k: v / total for k, v in raw.items()}, abs=1e-6)
    conf = confidence_fusion({"face": ModalityInput(face, 1.0), "voice": ModalityInput(voice, 0.5)},
                             FusionOptions(weights={"face": wf, "voice": wv}))
    pf, mf = _aligned(face, FACE_EMOTIONS)
    pv, mv = _aligned(voice, FACE_EMOTIONS)
    cf = wf * 1.0 * (0.5 + peakedness(pf[mf]))
    cv = wv * 0.5 * (0.5 + peakedness(pv[mv]))  # over the voice's four labels, not seven
    raw = {k: (cf * face[k] + cv * voice[k]) / (cf + cv) if k in voice else face[k] for k in FACE_EMOTIONS}
    total = sum(raw.values())
    assert conf == pytest.approx({k: v / total for k, v in raw.items()}, abs=1e-6)


def test_more_exact_edges():
    from avemotion.face.analyzer import FaceAnalyzer
    from avemotion.face.detect import Detection
    from avemotion.speech.analyzer import SpeechAnalyzer, _split

    assert len(_split(2.0, 6.0, 4.0)) == 1 and _split(2.0, 6.0, 4.0) == [(2.0, 6.0)]
    r = SpeechAnalyzer._result(_speech(None), None, 5.0, _pieces([(0.5, (1.2345, 2.5))]))
    assert (r.segments[0].start, r.segments[0].end) == (1.234, 2.5)  # not 1: three decimals
    wide, tall = Detection((0, 0, 40, 10), 0.9), Detection((0, 0, 15, 25), 0.9)  # areas 400 and 375
    fa = SimpleNamespace(detector=SimpleNamespace(detect=lambda img: [tall, wide]), min_score=0.5, max_faces=0)
    assert FaceAnalyzer.detect(fa, None) == [wide, tall]
    windows = VideoAnalyzer._timeline(_timeline_self(1 / 3), 1.0, [], None, None, SimpleNamespace(has_video=False))
    assert [(w.start, w.end) for w in windows] == [(0.0, 0.333), (0.333, 0.667), (0.667, 1.0)]


def test_analyze_batch_crops_each_face_where_it_was_found():
    from avemotion.face.analyzer import FaceAnalyzer, face_crops
    from avemotion.face.detect import Detection

    img = np.zeros((60, 80, 3), np.uint8)
    img[10:30, 10:30] = 255
    dets = [Detection((10, 10, 20, 20), 0.9)]  # no eye points: cut around the box with the margin
    seen = []

    def predict_proba(crops):
        seen.append(np.array(crops))
        return np.full((len(crops), 7), 1 / 7, np.float32)

    fa = SimpleNamespace(detect=lambda image: dets, margin=0.1, align=True, labels=list(FACE_EMOTIONS),
                         classifier=SimpleNamespace(size=48, predict_proba=predict_proba))
    FaceAnalyzer.analyze_batch(fa, [img])
    assert np.array_equal(seen[-1], np.stack(face_crops(img, dets, 0.1, True, 48)))
    FaceAnalyzer.analyze_batch(fa, [img], detect=False)
    assert np.array_equal(seen[-1], np.stack(face_crops(img, None, 0.1, size=48)))
    eyes = [Detection((10, 10, 20, 20), 0.9, [(14.0, 16.0), (26.0, 19.0)])]  # tilted eyes: aligned, not cut
    fa.detect = lambda image: eyes
    FaceAnalyzer.analyze_batch(fa, [img])
    aligned = np.stack(face_crops(img, eyes, 0.1, True, 48))
    assert np.array_equal(seen[-1], aligned) and not np.array_equal(aligned, np.stack(face_crops(img, eyes, 0.1, False, 48)))


def test_a_card_without_adaptation_has_no_adapted_variant(tmp_path):
    import json
    import shutil

    from avemotion.bundles import MODELS_DIR, ModelBundle
    from avemotion.speech.analyzer import _adaptive_variant

    for name in ("speech", "speech_adaptive"):
        for ext in (".onnx", ".json"):
            shutil.copy(MODELS_DIR / f"{name}{ext}", tmp_path / f"{name}{ext}")
    card = json.loads((tmp_path / "speech_adaptive.json").read_text())
    card.pop("adaptation")
    (tmp_path / "speech_adaptive.json").write_text(json.dumps(card))
    assert _adaptive_variant(ModelBundle.load(tmp_path / "speech.onnx"), None) is None
