"""Training code (the `train` extra): ONNX export parity, deterministic speaker-independent CV."""

import json

import numpy as np
import pytest

from .conftest import voice_like

torch = pytest.importorskip("torch")


def test_cnn_onnx_matches_torch_on_any_length(tmp_path):
    from avemotion.bundles import ModelBundle, write_card
    from avemotion.training.speech import CNNConfig, export_cnn, predict_cnn, train_cnn

    rng = np.random.default_rng(0)
    mels = [rng.standard_normal((64, int(rng.integers(80, 260)))).astype(np.float32) for _ in range(16)]
    labels = rng.integers(0, 8, 16)
    net = train_cnn(mels, labels, CNNConfig(epochs=1, batch_size=8, crop_frames=64))
    path = export_cnn(net, tmp_path / "m.onnx")
    write_card(path, {"name": "m", "task": "speech", "labels": list("abcdefgh")})
    bundle = ModelBundle.load(path)
    for m in (mels[0], mels[1][:, :70], rng.standard_normal((64, 400)).astype(np.float32)):
        want = predict_cnn(net, [m])[0]
        got = bundle.run(m[None, None])[0]
        np.testing.assert_allclose(got, want, atol=1e-4)


def _tiny_corpus(write_wav, n_speakers=4):
    for spk in range(1, n_speakers + 1):
        for emo, f0 in (("05", 220.0), ("04", 110.0)):
            for rep in (1, 2):
                write_wav(f"Actor_{spk:02d}/03-01-{emo}-01-01-{rep:02d}-{spk:02d}.wav",
                          voice_like(1.0, f0=f0 * (1 + 0.05 * spk), seed=spk * 10 + rep))


def test_cross_validation_is_speaker_independent_and_repeatable(tmp_path, write_wav):
    from avemotion.datasets import read_corpus
    from avemotion.evaluation.protocols import cross_validate

    _tiny_corpus(write_wav)
    items = read_corpus(tmp_path, "speech")
    a = cross_validate(items, "baseline", folds=2, progress=False)
    b = cross_validate(items, "baseline", folds=2, progress=False)
    assert a.metrics == b.metrics and a.fold_metrics == b.fold_metrics
    spk = a.fold_speakers
    assert len(spk) == 2 and not set(spk[0]) & set(spk[1]) and sorted(spk[0] + spk[1]) == ["01", "02", "03", "04"]
    assert a.train_metrics["unweighted_accuracy"] >= a.metrics["unweighted_accuracy"]


def test_train_command_writes_model_and_card(tmp_path, write_wav):
    from avemotion.cli import main
    from avemotion.speech import SpeechAnalyzer

    _tiny_corpus(write_wav)
    out = tmp_path / "models"
    assert main(["train", "speech", str(tmp_path), "--model", "baseline", "--out", str(out)]) == 0
    card = json.loads((out / "speech_baseline.json").read_text())
    assert card["task"] == "speech" and card["data"]["speakers"] == 4 and len(card["sha256"]) == 64
    assert card["labels"] == ["angry", "sad"]  # the only classes the tiny corpus has
    sa = SpeechAnalyzer(out / "speech_baseline.onnx", vad=False)
    p = sa.predict_proba(voice_like(1.0))
    assert p.shape == (2,) and sa.labels == ["angry", "sad"]


def test_cnn_training_is_repeatable():
    from avemotion.training.speech import CNNConfig, predict_cnn, train_cnn

    rng = np.random.default_rng(1)
    mels = [rng.standard_normal((64, 120)).astype(np.float32) for _ in range(12)]
    labels = rng.integers(0, 8, 12)
    cfg = CNNConfig(epochs=2, batch_size=6, crop_frames=64)
    a = predict_cnn(train_cnn(mels, labels, cfg), mels[:3])
    b = predict_cnn(train_cnn(mels, labels, cfg), mels[:3])
    np.testing.assert_array_equal(a, b)


def test_ensemble_onnx_averages_its_members(tmp_path):
    import onnx

    from avemotion.bundles import ModelBundle, write_card
    from avemotion.speech.features import FUNCTIONAL_DIM
    from avemotion.training.speech import (CNNConfig, average_onnx, export_cnn, make_linear, predict_cnn,
                                           sklearn_to_onnx, train_cnn)

    rng = np.random.default_rng(2)
    mels = [rng.standard_normal((64, 100)).astype(np.float32) for _ in range(16)]
    feats = rng.standard_normal((48, FUNCTIONAL_DIM)).astype(np.float32)
    y = np.arange(48) % 8
    net = train_cnn(mels, y[:16], CNNConfig(epochs=1, batch_size=8, crop_frames=64))
    lin = make_linear().fit(feats, y)
    export_cnn(net, tmp_path / "cnn.onnx")
    merged = average_onnx({"cnn": onnx.load(str(tmp_path / "cnn.onnx")),
                           "linear": sklearn_to_onnx(lin, FUNCTIONAL_DIM, "functionals")}, {"cnn": 1.0, "linear": 1.0})
    path = tmp_path / "ens.onnx"
    path.write_bytes(merged.SerializeToString())
    write_card(path, {"name": "ens", "task": "speech", "labels": list("abcdefgh")})
    got = ModelBundle.load(path).run_feeds({"logmel": mels[0][None, None], "functionals": feats[:1]})[0]
    want = (predict_cnn(net, [mels[0]])[0] + lin.predict_proba(feats[:1])[0]) / 2
    np.testing.assert_allclose(got, want, atol=1e-4)
