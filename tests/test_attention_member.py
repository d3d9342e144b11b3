"""The speech model's attention member: Whisper's frames, a small network over them, its export."""

import numpy as np
import pytest


def test_whisper_frames_are_the_tensors_its_statistics_pool():
    """One pass of the encoder gives both: the frames (25 a second, 1,024 wide) averaged over time are
    the statistics' means, and asking for frames leaves the statistics unchanged."""
    from avemotion.speech.features import WHISPER_FRAMES, speech_inputs, whisper_frames, whisper_statistics

    from .conftest import voice_like

    y = voice_like(2.0)
    both = speech_inputs(y, ["whisper", "whisperframes"])
    np.testing.assert_array_equal(both["whisper"], whisper_statistics(y))
    f = both["whisperframes"]
    assert f.shape[1] == WHISPER_FRAMES["dim"] and 20 <= len(f) <= 55
    np.testing.assert_array_equal(f, whisper_frames(y))
    means = np.concatenate([both["whisper"][:512], both["whisper"][1024:1536]])  # (mean, std) per block
    assert np.allclose(f.mean(axis=0), means, atol=0.02 * np.abs(f).max())
    assert len(whisper_frames(y[:300])) >= 1  # the shortest segment still gives a frame


def _toy(rng, n, classes=3, dim=8):
    """Clips of 40-160 noise frames; a clip of class k holds a 2-frame burst of pattern k somewhere
    (its mean over time barely shows it; attention can find it)."""
    patterns = np.eye(dim)[:classes] * 4.0
    y = rng.integers(0, classes, n)
    frames = []
    for k in y:
        f = rng.normal(0, 1, (int(rng.integers(40, 161)), dim)).astype(np.float32)
        at = int(rng.integers(0, len(f) - 1))
        f[at : at + 2] += patterns[k]
        frames.append(f)
    return frames, y


def test_attention_member_finds_the_frames_that_matter_and_never_predicts_an_unseen_class():
    pytest.importorskip("torch")
    from avemotion.training.speech import AttentionMember, fit_attention

    rng = np.random.default_rng(0)
    frames, y = _toy(rng, 600)
    masks = np.ones((len(y), 4), bool)  # a fourth class no clip has
    m = AttentionMember(kind="toy", hidden=16, epochs=25, batch=32, lr=5e-3)
    clf = fit_attention(m, frames, y, masks, np.ones(len(y)), 4)
    test_frames, test_y = _toy(np.random.default_rng(1), 200)
    p = clf.predict_proba(test_frames)
    assert p.shape == (200, 4) and np.allclose(p.sum(axis=1), 1, atol=1e-5)
    assert (p.argmax(axis=1) == test_y).mean() > 0.9
    assert np.all(p[:, 3] == 0)  # exactly: a calibration reads log p, and 1e-13 is not 0


def test_padding_is_invisible_and_the_export_reads_what_training_read(tmp_path):
    """Clips of different lengths in one padded batch score as each alone, and the exported member
    (one clip a call, as the shipped graph runs) gives the same probabilities."""
    torch = pytest.importorskip("torch")
    from avemotion.bundles import inference_session
    from avemotion.training.speech import AttentionClassifier
    from avemotion.training.speech_nets import AttentionPooling, AttentionProbabilities

    nets = []
    for seed in (0, 1):  # a member of two networks (AttentionMember.seeds): their mean
        torch.manual_seed(seed)
        net = AttentionPooling(8, 16, 3).eval()
        net.mean.copy_(torch.linspace(-1, 1, 8))
        net.unseen.copy_(torch.tensor([0.0, 0.0, -30.0]))
        nets.append(net)
    clips = [np.random.default_rng(i).normal(0, 1, (n, 8)).astype(np.float32) for i, n in enumerate((5, 9, 2))]
    seen = np.array([True, True, False])
    clf = AttentionClassifier(nets, seen)
    together = clf.predict_proba(clips)
    alone = np.concatenate([clf.predict_proba([c]) for c in clips])
    np.testing.assert_allclose(together, alone, atol=1e-6)
    assert np.all(together[:, 2] == 0)
    each = [AttentionClassifier([n], seen).predict_proba(clips) for n in nets]
    np.testing.assert_allclose(together, (each[0] + each[1]) / 2, atol=1e-6)
    assert np.abs(each[0] - each[1]).max() > 1e-3

    path = tmp_path / "m.onnx"
    torch.onnx.export(AttentionProbabilities(nets), (torch.randn(1, 7, 8),), str(path), input_names=["frames"],
                      output_names=["p"], dynamic_axes={"frames": {0: "batch", 1: "t"}}, opset_version=17, dynamo=False)
    session = inference_session(path)
    got = np.concatenate([session.run(None, {"frames": c[None]})[0] for c in clips])
    np.testing.assert_allclose(got, together, atol=1e-5)


def test_a_training_crop_is_a_contiguous_stretch_of_at_least_its_share():
    from avemotion.training.speech import _stretch

    f = np.arange(100)[:, None].astype(np.float32)
    rng = np.random.default_rng(0)
    assert _stretch(f, 1.0, rng) is f
    lengths = []
    for _ in range(200):
        part = _stretch(f, 0.6, rng)
        assert 60 <= len(part) <= 100 and np.all(np.diff(part[:, 0]) == 1)
        lengths.append(len(part))
    assert min(lengths) < 70 and max(lengths) > 90  # it varies over the range
    assert len(_stretch(f[:1], 0.5, rng)) == 1


def test_the_adapted_variant_keeps_the_regressions_only():
    """speech_adaptive standardises fixed-size statistics within a recording; frames are not among them.
    The shipped `speech` (`encoder`) adds the network to the regressions; `encoder_regressions` has none."""
    from avemotion.training.speech import AttentionMember, adapted_features, encoder_members

    assert any(isinstance(m, AttentionMember) for m in encoder_members().values())  # `speech` as shipped
    assert not any(isinstance(m, AttentionMember) for m in encoder_members(adaptive=True).values())
    assert not any(isinstance(m, AttentionMember) for m in encoder_members("encoder_regressions").values())
    rng = np.random.default_rng(0)
    feats = {"voice": list(rng.normal(size=(6, 3))), "whisperframes": [rng.normal(size=(int(t), 4)) for t in range(2, 8)]}
    out = adapted_features(feats, np.array(list("aabbcc")), np.arange(4), np.arange(4, 6), 1, 0)
    assert set(out) == {"voice"}


def test_codec_consistency_keeps_the_network_from_reading_what_the_codec_changes():
    """Originals carry their class twice: a burst (which survives the 'codec') and a level on one
    feature (which the codec copy loses). Held to read the same from both, the network's logits move
    far less between a clip and its copy than when it merely sees both."""
    torch = pytest.importorskip("torch")
    from avemotion.training.speech import AttentionMember, fit_attention

    rng = np.random.default_rng(0)
    frames, y = _toy(rng, 300)
    originals = [f.copy() for f in frames]
    for f, k in zip(originals, y):
        f[:, 5] += 1.5 * k  # the shortcut
    copies = [f.copy() for f in frames]  # the codec took the shortcut away
    both = originals + copies
    labels = np.concatenate([y, y])
    pairs = (np.arange(300), 300 + np.arange(300))
    masks = np.ones((600, 3), bool)

    def change(consistency: float) -> float:
        m = AttentionMember(kind="toy", hidden=16, epochs=10, batch=32, lr=5e-3, consistency=consistency)
        clf = fit_attention(m, both, labels, masks, np.ones(600), 3, pairs=pairs)
        with torch.no_grad():
            from avemotion.training.speech import _padded

            za, zb = clf.nets[0](*_padded(originals[:100])), clf.nets[0](*_padded(copies[:100]))
        return float(((za - zb) ** 2).sum(dim=1).mean())

    assert change(10.0) < 0.3 * change(0.0)


@pytest.mark.slow
def test_the_attention_recipe_exports_its_member_and_the_analyser_feeds_it(tmp_path):
    """`train speech` (the `encoder` recipe) on a few clips of three corpora: the model's card names the
    frames input, the analyser computes it, and the graph reads it — its answer moves when the frames do."""
    pytest.importorskip("torch")
    import json

    from avemotion.datasets import read_corpora
    from avemotion.media import load_audio
    from avemotion.speech import SpeechAnalyzer
    from avemotion.training.speech import train_and_export

    from .conftest import RAVDESS, SHARED, need

    items = read_corpora([need(RAVDESS), need(SHARED / "casia_speech_16k"), need(SHARED / "emovo_speech_16k")])
    rng = np.random.default_rng(1)
    items = [items[i] for i in sorted(rng.choice(len(items), 60, replace=False))]
    path = train_and_export(items, "encoder", tmp_path)
    card = json.loads(path.with_suffix(".json").read_text())
    assert path.name == "speech.onnx" and card["inputs"]["attention"]["kind"] == "whisperframes"
    sa = SpeechAnalyzer(path, vad=False)
    feeds = sa.features(load_audio(items[0].path))
    assert feeds["attention"].ndim == 3 and feeds["attention"].shape[2] == card["inputs"]["attention"]["dim"]
    p = sa.bundle.run_feeds(feeds)[0]
    assert p.shape == (len(card["labels"]),) and abs(float(p.sum()) - 1) < 1e-4
    moved = sa.bundle.run_feeds({**feeds, "attention": feeds["attention"][:, ::-1] * -1.0})[0]
    assert np.abs(moved - p).max() > 1e-3


@pytest.mark.parametrize("name, adaptive", [("speech", False), ("speech_adaptive", True)])
def test_the_shipped_models_are_the_recipe_as_written(name, adaptive):
    """The shipped `speech` and `speech_adaptive` were trained from `encoder_members()` as it stands
    (a recipe edited without retraining fails here), and each graph reads the inputs its card names."""
    pytest.importorskip("torch")
    import json
    from importlib.resources import files

    import onnxruntime as ort

    from avemotion.training.speech import _member_card, encoder_members

    models = files("avemotion") / "models"
    card = json.loads((models / f"{name}.json").read_text())
    assert card["kind"] == "encoder"
    members = encoder_members("encoder", adaptive).items()
    want = json.loads(json.dumps({k: _member_card(m, codec=not adaptive) for k, m in members}))  # as the card stores it
    assert card["training"]["members"] == want
    session = ort.InferenceSession(str(models / f"{name}.onnx"), providers=["CPUExecutionProvider"])
    assert {i.name for i in session.get_inputs()} == set(card["inputs"])
    assert ("attention" in card["inputs"]) is not adaptive
