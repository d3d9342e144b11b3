"""Several corpora at once: readers, masked training, leave-one-corpus-out, calibration, the VAD on shouting."""

from pathlib import Path

import numpy as np
import pytest

from .conftest import RAVDESS, SHARED, need

CASIA = SHARED / "casia_speech_16k"
EMOVO = SHARED / "emovo_speech_16k"


def test_expected_calibration_error():
    from avemotion.evaluation import expected_calibration_error

    y = np.array([0, 1] * 50)
    sure_right = np.eye(2)[y]
    assert expected_calibration_error(sure_right, y) == pytest.approx(0.0)
    sure_wrong = np.eye(2)[1 - y]
    assert expected_calibration_error(sure_wrong, y) == pytest.approx(1.0)
    coin = np.full((100, 2), 0.5)  # 50 % confident, 50 % right (argmax picks class 0 every time)
    assert expected_calibration_error(coin, y) == pytest.approx(0.0)


def test_masked_softmax_does_not_learn_that_a_missing_class_is_rare():
    """Corpus B has no class 2 and sounds different (feature 1). Unmasked, the model learns that
    B-like inputs are never class 2; masked, class 2 keeps its probability there."""
    pytest.importorskip("torch")
    from avemotion.training.speech import MaskedSoftmax

    rng = np.random.default_rng(0)
    centres = np.array([[-2.0, 0], [0, 0], [2.0, 0]])
    ya = np.repeat([0, 1, 2], 60)
    yb = np.repeat([0, 1], 60)
    xa = centres[ya] + rng.normal(0, 0.7, (len(ya), 2)) + [0, -2]
    xb = centres[yb] + rng.normal(0, 0.7, (len(yb), 2)) + [0, 2]
    x, y = np.vstack([xa, xb]), np.concatenate([ya, yb])
    masks = np.vstack([np.tile([True, True, True], (len(ya), 1)), np.tile([True, True, False], (len(yb), 1))])
    probe = np.array([[2.0, 2.0]])  # class 2's place, in corpus B's sound
    plain = MaskedSoftmax(C=1.0, n_classes=3).fit(x, y).predict_proba(probe)[0]
    masked = MaskedSoftmax(C=1.0, n_classes=3).fit(x, y, masks).predict_proba(probe)[0]
    assert masked[2] > 0.5 > plain[2]
    # a class no training clip has gets no probability at all
    two = MaskedSoftmax(C=1.0, n_classes=3).fit(xb, yb)
    assert np.all(two.predict_proba(probe)[:, 2] == 0)
    # the absent weight moves between the two: 0 is the mask, 1 is the plain softmax
    for w, like in ((0.0, masked), (1.0, plain)):
        soft = MaskedSoftmax(C=1.0, n_classes=3, absent=np.array([0.0, 0.0, w])).fit(x, y, masks).predict_proba(probe)[0]
        assert np.allclose(soft, like, atol=1e-3)
    half = MaskedSoftmax(C=1.0, n_classes=3, absent=np.array([0.0, 0.0, 0.3])).fit(x, y, masks).predict_proba(probe)[0]
    assert plain[2] < half[2] < masked[2]


def test_the_encoder_recipe_counts_calm_as_wrong_for_corpora_without_it():
    from avemotion.taxonomy import SPEECH_EMOTIONS
    from avemotion.training.speech import absent_weights

    w = dict(zip(SPEECH_EMOTIONS, absent_weights(), strict=True))
    assert w["calm"] == 1.0 and w["disgust"] == 0.0 and w["surprise"] == 0.0



def test_balanced_weights_give_every_corpus_and_class_the_same_say():
    from avemotion.training.speech import balanced_weights

    corpus = np.array(["big"] * 90 + ["small"] * 10)
    y = np.array([0] * 60 + [1] * 30 + [0] * 5 + [1] * 5)
    w = balanced_weights(corpus, y)
    assert w.mean() == pytest.approx(1.0)
    cells = [w[(corpus == c) & (y == k)].sum() for c in ("big", "small") for k in (0, 1)]
    assert cells == pytest.approx([cells[0]] * 4)
    assert w[-1] == pytest.approx(12 * w[0])  # a clip of the small corpus stands for 12 of the big one's


def test_masked_softmax_sample_weight():
    """Equal weights change nothing; weighing one class up moves the boundary towards the other."""
    pytest.importorskip("torch")
    from avemotion.training.speech import MaskedSoftmax

    rng = np.random.default_rng(1)
    y = np.repeat([0, 1], [150, 50])
    x = rng.normal(0, 1, (200, 1)) + 1.5 * y[:, None]
    probe = np.array([[0.75]])  # half-way between the two classes
    plain = MaskedSoftmax(C=1.0, n_classes=2).fit(x, y).predict_proba(probe)[0]
    same = MaskedSoftmax(C=1.0, n_classes=2).fit(x, y, sample_weight=np.full(200, 3.0)).predict_proba(probe)[0]
    assert same == pytest.approx(plain, abs=1e-4)
    up = MaskedSoftmax(C=1.0, n_classes=2).fit(x, y, sample_weight=np.where(y == 1, 3.0, 1.0)).predict_proba(probe)[0]
    assert plain[1] < 0.5 < up[1]

def test_temperature_undoes_overconfidence():
    pytest.importorskip("torch")
    from avemotion.training.export import fit_temperature

    rng = np.random.default_rng(0)
    y = rng.integers(0, 4, 2000)
    logits = rng.normal(0, 1, (2000, 4))
    logits[np.arange(2000), y] += 1.0
    assert fit_temperature(logits * 3, y) == pytest.approx(3.0, rel=0.1)


@pytest.mark.slow
def test_readers_keep_corpora_and_speakers_apart():
    from avemotion.datasets import read_corpora

    items = read_corpora([need(RAVDESS), need(CASIA), need(EMOVO)])
    by = {c: [it for it in items if it.corpus == c] for c in ("ravdess", "casia", "emovo")}
    assert {c: len(v) for c, v in by.items()} == {"ravdess": 1440, "casia": 1200, "emovo": 588}
    assert {it.label for it in by["casia"]} == {"angry", "fear", "happy", "neutral", "sad", "surprise"}
    assert {it.label for it in by["emovo"]} == {"angry", "disgust", "fear", "happy", "neutral", "sad", "surprise"}
    speakers = {c: {it.speaker for it in v} for c, v in by.items()}
    assert [len(speakers[c]) for c in ("ravdess", "casia", "emovo")] == [24, 4, 6]
    assert not (speakers["ravdess"] & speakers["casia"]) and not (speakers["casia"] & speakers["emovo"])


@pytest.mark.slow
def test_leave_one_corpus_out_never_trains_on_the_held_out_corpus(monkeypatch):
    """A few clips of each corpus: the protocol's bookkeeping (not its accuracy) is what is tested."""
    pytest.importorskip("torch")
    import avemotion.evaluation.protocols as ts
    from avemotion.datasets import read_corpora

    items = read_corpora([need(RAVDESS), need(CASIA), need(EMOVO)])
    rng = np.random.default_rng(0)
    items = [items[i] for i in sorted(rng.choice(len(items), 90, replace=False))]
    seen = []
    real = ts.fit_predict

    def spy(model, feats, y, tr, te, *a, **k):
        seen.append(({items_by[i] for i in tr}, {items_by[i] for i in te}))
        return real(model, feats, y, tr, te, *a, **k)

    monkeypatch.setattr(ts, "fit_predict", spy)
    items_by = [it.corpus for it in items]
    report = ts.leave_one_corpus_out(items, "encoder", calibrate=False, progress=False)
    assert set(report["corpora"]) == {"ravdess", "casia", "emovo"}
    for trained, tested in seen:
        assert len(tested) == 1 and not (trained & tested)
    rav = report["corpora"]["ravdess"]
    assert "calm" not in rav["metrics"]["per_class_recall"]  # CASIA and EMOVO have no calm: scored as neutral
    assert "disgust" not in report["corpora"]["casia"]["metrics"]["per_class_recall"]
    per = [r["metrics"]["expected_calibration_error"] for r in report["corpora"].values()]
    uas = [r["metrics"]["unweighted_accuracy"] for r in report["corpora"].values()]
    assert report["mean_expected_calibration_error"] == pytest.approx(np.mean(per), abs=1e-4)
    assert report["mean_unweighted_accuracy"] == pytest.approx(np.mean(uas), abs=1e-4)
    assert report["min_unweighted_accuracy"] == pytest.approx(min(uas), abs=1e-4)
    for r in report["corpora"].values():  # UA is the mean of the per-class recalls it reports
        assert r["metrics"]["unweighted_accuracy"] == pytest.approx(np.mean(list(r["metrics"]["per_class_recall"].values())),
                                                                    abs=1e-3)


@pytest.mark.slow
def test_shouted_speech_is_speech():
    """RAVDESS's strong happy from actor 06: Silero rates it low at its own level; the quieter retry finds it."""
    from avemotion.speech.analyzer import SpeechAnalyzer

    clip = need(RAVDESS) / "Actor_06" / "03-01-03-02-02-01-06.flac"
    r = SpeechAnalyzer().analyze_file(clip)
    assert r.has_speech and r.probabilities


@pytest.mark.slow
def test_shouts_missed_at_every_level_are_found_slowed_down():
    """Strong anger from actors 06 and 18: no segment at the clip's own level nor quieter; played
    slower (pitch divided by 1.5 or 2) Silero finds the line, and its times are the original's.
    Music and near-silence stay "no speech" through the same retries."""
    from avemotion.media import load_audio
    from avemotion.speech.vad import VADConfig, speech_segments

    from .conftest import CLIPS

    cfg = VADConfig(min_silence=0.5)
    for name in ("Actor_06/03-01-05-02-02-01-06.flac", "Actor_18/03-01-05-02-02-01-18.flac"):
        y = load_audio(need(RAVDESS) / name)
        assert not speech_segments(y, cfg=VADConfig(min_silence=0.5, retry_slower=()))
        found = speech_segments(y, cfg=cfg)
        assert len(found) == 1 and 0.5 < found[0][0] < found[0][1] <= len(y) / 16000 + 1e-3
        assert found[0][1] - found[0][0] > 1.5  # the whole line, about two seconds
    for name in ("no_face.mp4", "single_face.mp4"):
        assert not speech_segments(load_audio(need(CLIPS / name)), cfg=cfg)


def test_voice_statistics_come_from_the_shipped_encoder():
    from avemotion.speech.features import VOICE_DIM, speech_inputs, voice_statistics

    from .conftest import voice_like

    y = voice_like(2.0)
    v = voice_statistics(y)
    assert v.shape == (VOICE_DIM,) and np.all(np.isfinite(v))
    np.testing.assert_array_equal(speech_inputs(y, ["voice"])["voice"], v)
    assert not np.allclose(voice_statistics(voice_like(2.0, f0=220.0, seed=3)), v)


def test_whisper_statistics_come_from_the_shipped_encoder():
    from avemotion.speech.features import WHISPER_DIM, speech_inputs, whisper_statistics

    from .conftest import voice_like

    y = voice_like(2.0)
    w = whisper_statistics(y)
    assert w.shape == (WHISPER_DIM,) and np.all(np.isfinite(w))
    np.testing.assert_array_equal(speech_inputs(y, ["whisper", "voice"])["whisper"], w)
    assert not np.allclose(whisper_statistics(voice_like(2.0, f0=220.0, seed=3)), w)
    # the shortest input a segment can be (a quarter of a frame's worth of samples) still gives numbers
    assert np.all(np.isfinite(whisper_statistics(y[:300])))


def test_whisper_reads_audio_longer_than_its_30_seconds_in_pieces(monkeypatch):
    """Whisper's encoder has 1,500 positions (30 s): longer audio is read in 30-s pieces, averaged
    by length, so a minute of the same voice gives what one piece of it gives (not an error)."""
    from avemotion.speech import features as F

    from .conftest import voice_like

    piece = voice_like(30.0)
    seen = []
    real = F.whisper_encoder()

    class Spy:
        def run_outputs(self, feeds, names):
            seen.append(feeds["mel"].shape[2])
            return real.run_outputs(feeds, names)

    monkeypatch.setattr(F, "whisper_encoder", lambda: Spy())
    one, one_frames = F._whisper_both(piece)
    seen.clear()
    two, two_frames = F._whisper_both(np.concatenate([piece, piece]))
    assert seen and max(seen) <= F.WHISPER_MEL["max_frames"] and len(seen) >= 2
    assert np.allclose(one, two, atol=0.05 * np.abs(one).max())
    assert abs(len(two_frames) - 2 * len(one_frames)) <= 2  # the frames of every piece, in order


def test_ctranslate2_reader_reads_what_a_model_bin_holds(tmp_path):
    """The converter's reader of CTranslate2's ``model.bin`` (the layout Whisper's weights ship in):
    a file written by hand in that layout comes back name by name, shape and dtype intact."""
    import importlib.util
    import struct

    spec = importlib.util.spec_from_file_location("cw", Path(__file__).parents[1] / "scripts/convert_whisper_encoder.py")
    cw = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cw)

    def text(t: str) -> bytes:
        b = t.encode() + b"\0"
        return struct.pack("<H", len(b)) + b

    arrays = {"encoder/conv1/weight": np.arange(6, dtype=np.float16).reshape(2, 3),
              "encoder/num_heads": np.array(8, dtype=np.int16)}
    blob = struct.pack("<I", 6) + text("WhisperSpec") + struct.pack("<II", 3, len(arrays))
    for name, a in arrays.items():
        code = {np.dtype(np.float16): 4, np.dtype(np.int16): 2}[a.dtype]
        blob += text(name) + struct.pack("<B", a.ndim) + struct.pack("<" + "I" * a.ndim, *a.shape)
        blob += struct.pack("<BI", code, a.nbytes) + a.tobytes()
    blob += struct.pack("<I", 0)
    got = cw.read_ctranslate2(blob)
    assert list(got) == list(arrays)
    for name, a in arrays.items():
        assert got[name].dtype == a.dtype and np.array_equal(got[name], a)
    with pytest.raises(ValueError, match="version"):
        cw.read_ctranslate2(struct.pack("<I", 5) + blob[4:])


def test_recording_norm_in_the_graph_is_the_speaker_standardisation_of_training(tmp_path):
    """The exported speaker-adapted head standardises a batch (a recording's segments) exactly as
    training standardised a speaker's clips: same numbers, for any number of segments."""
    torch = pytest.importorskip("torch")
    import onnxruntime as ort

    from avemotion.training.speech import ADAPT_SHRINK, standardise_by_speaker
    from avemotion.training.speech_nets import RecordingNorm

    rng = np.random.default_rng(0)
    reference_var = rng.uniform(0.5, 2.0, 6)
    torch.onnx.export(RecordingNorm(reference_var, ADAPT_SHRINK), (torch.randn(5, 6),), str(tmp_path / "n.onnx"),
                      input_names=["x"], output_names=["z"], dynamic_axes={"x": {0: "n"}, "z": {0: "n"}},
                      opset_version=17, dynamo=False)
    sess = ort.InferenceSession(str(tmp_path / "n.onnx"), providers=["CPUExecutionProvider"])
    for n in (1, 5, 12):
        x = rng.normal(3.0, 2.0, (n, 6)).astype(np.float32)
        want = standardise_by_speaker(x, np.zeros(n), reference_var)
        assert np.allclose(sess.run(None, {"x": x})[0], want, atol=1e-4)
    # one segment alone: nothing to compare it with, every feature at the voice's own mean
    assert np.allclose(sess.run(None, {"x": x[:1]})[0], 0.0)


def test_enrolment_uses_only_other_clips_of_the_same_speaker():
    from avemotion.training.speech import standardise_by_enrolment

    speakers = np.array(["a"] * 4 + ["b"] * 4)
    x = np.vstack([np.full((4, 3), 10.0), np.full((4, 3), -10.0)]) + np.arange(8)[:, None] * 0.01
    z = standardise_by_enrolment(x, speakers, k=3, reference_var=np.ones(3))
    assert np.abs(z).max() < 0.1  # each row compared with its own speaker only (not the other's -10)


def _one_voice(actor: str, n: int, step: int = 6) -> np.ndarray:
    """``n`` RAVDESS clips of one actor, in a row with 0.75 s of silence between: a recording of one voice."""
    from avemotion.media import load_audio

    files = sorted(need(RAVDESS / actor).glob("*.flac"))[::step][:n]
    silence = np.zeros(12000, np.float32)
    return np.concatenate([part for f in files for part in (load_audio(f), silence)])


def test_a_recording_of_one_voice_is_read_against_itself():
    """Five or more segments: the speaker-adapted model reads them in one batch; the numbers are
    those of the shipped graph on the stacked segment features, and a segment's reading depends
    on the rest of the recording (that is the adaptation). Fewer segments, or adapt=False: each
    segment alone by `speech`, as before."""
    from avemotion.speech import SpeechAnalyzer

    y = _one_voice("Actor_01", 8)
    assert not SpeechAnalyzer().analyze(y).adapted  # on request only
    sa = SpeechAnalyzer(adapt=True)
    r = sa.analyze(y)
    assert r.adapted and r.model == "speech_adaptive" and len(r.segments) == 8
    assert r.adaptation.startswith("adapted: 8 segments of one voice")
    feeds = [sa.features(y[int(s.start * 16000):int(s.end * 16000)]) for s in r.segments]
    batch = {k: np.concatenate([f[k] for f in feeds]) for k in sa.adaptive.card["inputs"]}
    direct = sa.adaptive.run_feeds(batch)
    got = np.array([[s.probabilities[lab] for lab in sa.labels] for s in r.segments])
    assert np.allclose(got, direct, atol=1e-5)

    plain = SpeechAnalyzer(adapt=False).analyze(y)
    assert not plain.adapted and plain.model == "speech"
    short = sa.analyze(_one_voice("Actor_01", 2))
    assert not short.adapted and short.model == "speech" and "fewer than the 5" in short.adaptation

    # the same first clip in another actor's recording reads differently
    other = np.concatenate([y[: int(r.segments[1].start * 16000)], _one_voice("Actor_03", 7)])
    r2 = sa.analyze(other)
    assert r2.adapted and r2.segments[0].probabilities != r.segments[0].probabilities


def test_two_voices_are_not_standardised_as_one():
    """A man and a woman taking turns (RAVDESS actors 1 and 2): not read against each other, and said so."""
    from avemotion.speech import SpeechAnalyzer

    a, b = _one_voice("Actor_01", 4), _one_voice("Actor_02", 4)
    r = SpeechAnalyzer(adapt=True).analyze(np.concatenate([a, b, a[: a.size // 2]]))
    assert len(r.segments) >= 8 and not r.adapted and r.model == "speech"
    assert r.adaptation.startswith("not adapted: the segments sound like more than one voice")


def test_evaluating_a_shipped_model_with_speaker_adaptation(tmp_path):
    """`evaluate speech DATA --onnx speech --adapt K`: each clip read with K others of its speaker by
    speech_adaptive; a model without such a variant is a one-line error."""
    from avemotion.datasets import read_corpora
    from avemotion.errors import AvemotionError
    from avemotion.evaluation.speech import evaluate_model

    items = [it for it in read_corpora([need(RAVDESS)]) if it.speaker in ("01", "02", "Actor_01", "Actor_02")]
    items = [it for k, it in enumerate(sorted(items, key=lambda it: str(it.path))) if k % 8 == 0]
    assert len({it.speaker for it in items}) == 2 and len(items) >= 12
    report = evaluate_model(items, "speech", tmp_path / "a", adapt=3)
    assert report["model"] == "speech_adaptive" and report["adapt"] == 3
    assert report["metrics"]["n"] == len(items) and not report["errors"]
    with pytest.raises(AvemotionError, match="no speaker-adapted variant"):
        evaluate_model(items, "speech_ravdess", tmp_path / "b", adapt=3)


def test_encoder_export_checks_onnx_against_torch(tmp_path):
    """The convert scripts' one export step: variable-length input, batch-first output, and the
    ONNX file gives what the torch module gives."""
    torch = pytest.importorskip("torch")
    from avemotion.bundles import inference_session
    from avemotion.training.export import export_encoder

    class MeanStd(torch.nn.Module):
        def forward(self, x):  # (N, frames, 4)
            return torch.cat([x.mean(dim=1), x.std(dim=1)], dim=1)

    path = export_encoder(MeanStd(), torch.rand(1, 7, 4), tmp_path / "e.onnx", "x", "statistics", {0: "batch", 1: "frames"})
    x = np.random.default_rng(0).random((3, 11, 4)).astype(np.float32)
    got = inference_session(path).run(None, {"x": x})[0]
    assert got.shape == (3, 8) and np.allclose(got, np.concatenate([x.mean(1), x.std(1, ddof=1)], 1), atol=1e-5)


def test_temperature_groups_weigh_alike():
    """A large well-calibrated group and a small over-confident one: pooled, the large one sets T;
    with groups, each counts the same and T lands between."""
    pytest.importorskip("torch")
    from avemotion.training.export import fit_temperature

    rng = np.random.default_rng(0)
    y = rng.integers(0, 4, 4400)
    logits = rng.normal(0, 1, (4400, 4))
    logits[np.arange(4400), y] += 1.0
    logits[4000:] *= 3  # the small group: three times over-confident
    groups = np.r_[np.zeros(4000), np.ones(400)]
    pooled = fit_temperature(logits, y)
    alike = fit_temperature(logits, y, groups)
    assert pooled < 1.3 and 1.5 < alike < 2.8
    one = fit_temperature(logits[:4000], y[:4000], groups[:4000])
    assert one == pytest.approx(fit_temperature(logits[:4000], y[:4000]))


def test_temperature_can_minimise_each_groups_calibration_error():
    """target="ece": the temperature that minimises the groups' mean expected calibration error (the
    figure the speech protocols report). It recovers a known over-confidence, weighs a small group as
    much as a large one, and beats the likelihood's temperature on that figure where groups disagree."""
    pytest.importorskip("torch")
    from avemotion.evaluation import expected_calibration_error
    from avemotion.training.export import fit_temperature

    rng = np.random.default_rng(1)
    y = rng.integers(0, 4, 4400)
    logits = rng.normal(0, 1, (4400, 4))
    logits[np.arange(4400), y] += 1.0
    assert fit_temperature(logits[:4000] * 3, y[:4000], target="ece") == pytest.approx(3.0, rel=0.15)
    logits[4000:] *= 3
    groups = np.r_[np.zeros(4000), np.ones(400)]
    assert fit_temperature(logits, y, target="ece") < 1.3  # pooled, the large group sets it
    alike = fit_temperature(logits, y, groups, target="ece")
    assert 1.3 < alike < 2.9

    def mean_ece(t: float) -> float:
        z = logits / t
        p = np.exp(z - z.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        return float(np.mean([expected_calibration_error(p[groups == g], y[groups == g]) for g in (0, 1)]))

    assert mean_ece(alike) < mean_ece(fit_temperature(logits, y, groups)) - 0.002
    with pytest.raises(ValueError, match="calibration target"):
        fit_temperature(logits, y, target="brier")


def test_a_member_reads_its_descriptors_and_exports_over_all_columns():
    pytest.importorskip("torch")
    import torch

    from avemotion.speech.features import DESCRIPTORS, FUNCTIONAL_DIM
    from avemotion.training.speech import SPECTRAL_PROSODIC, MaskedSoftmax, Member, _standardised_linear

    m = Member("functionals", 0.003, descriptors=SPECTRAL_PROSODIC)
    cols = m.columns()
    assert len(cols) == 680 and cols.min() == 84 * 20 and cols.max() == FUNCTIONAL_DIM - 1
    assert DESCRIPTORS[SPECTRAL_PROSODIC[0]] == "spectral_centroid" and DESCRIPTORS[-1] == "pitch_semitones"
    rng = np.random.default_rng(0)
    x = rng.normal(0, 1, (300, FUNCTIONAL_DIM)).astype(np.float32)
    y = (x[:, 100 * 20] > 0).astype(int)  # the pitch descriptor's mean tells the class
    x[:, 0] += y * 5  # a log-mel band the member must not read
    clf = MaskedSoftmax(C=1.0, n_classes=2).fit(m.read(x), y)
    net = _standardised_linear(clf, cols, FUNCTIONAL_DIM)
    with torch.no_grad():
        full = net(torch.from_numpy(x)).numpy()
    assert full == pytest.approx(clf.predict_proba(m.read(x)), abs=1e-5)
    assert float(net.linear.weight[:, 0].abs().max()) == 0.0
    assert Member("voice", 0.003).read(x) is x


def test_the_card_names_codec_consistency_only_where_codec_copies_trained():
    from avemotion.training.speech import ENCODER_MEMBERS, _member_card

    voice = ENCODER_MEMBERS["voice"]
    assert voice.consistency > 0 and _member_card(voice)["codec_consistency"] == voice.consistency
    assert "codec_consistency" not in _member_card(voice, codec=False)  # speech_adaptive: no codec copies
    card = _member_card(ENCODER_MEMBERS["functionals"])
    assert card["dim_read"] == 680 and card["descriptors"][-1] == "pitch_semitones"
