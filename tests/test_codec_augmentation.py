"""The encoder recipe's codec copies: a round trip through Opus, and which training rows get a copy."""

import numpy as np

from avemotion.training import speech as ts
from avemotion.training.features import codec_roundtrip

from .conftest import voice_like


def test_an_opus_round_trip_keeps_the_signal_but_changes_it():
    y = voice_like(1.5)
    z = codec_roundtrip(y, "opus32")
    assert z.dtype == np.float32 and abs(len(z) - len(y)) < 400
    n = min(len(y), len(z))
    assert np.corrcoef(y[:n], z[:n])[0, 1] > 0.9 and not np.allclose(y[:n], z[:n], atol=1e-4)
    assert codec_roundtrip(y, None) is y


def test_only_rows_with_a_codec_copy_are_added_after_the_originals(monkeypatch):
    monkeypatch.setattr(ts, "ENCODER_CODEC", "opus32")
    x = [np.full(2, i, np.float32) for i in range(4)]
    copies = [np.full(2, 10 + i, np.float32) if i % 2 == 0 else None for i in range(4)]  # rows 0, 2 lossless
    feats = {"voice": x, "voice@opus32": copies}
    rows = np.array([0, 1, 2])
    assert ts.codec_rows(feats, rows).tolist() == [0, 2]
    assert ts.with_codec_copies(feats, "voice", rows)[:, 0].tolist() == [0, 1, 2, 10, 12]
    monkeypatch.setattr(ts, "ENCODER_CODEC", None)
    assert ts.codec_rows(feats, rows).tolist() == [] and len(ts.with_codec_copies(feats, "voice", rows)) == 3


def test_codec_pairs_point_at_a_clip_and_its_copy(monkeypatch):
    monkeypatch.setattr(ts, "ENCODER_CODEC", "opus32")
    x = [np.full(2, i, np.float32) for i in range(5)]
    copies = [np.full(2, 10 + i, np.float32) if i in (1, 4) else None for i in range(5)]
    feats = {"voice": x, "voice@opus32": copies}
    rows = np.array([4, 0, 1])
    a, b = ts.codec_pairs(feats, rows)
    stacked = ts.with_codec_copies(feats, "voice", rows)[:, 0]
    assert (stacked[b] - stacked[a]).tolist() == [10, 10] and stacked[a].tolist() == [4, 1]


def test_consistency_keeps_the_regression_off_what_the_codec_moves():
    """Feature 0 tells the class best but the codec scrambles it; feature 1 tells it less well and
    survives the codec. With the penalty the logits move less between a clip and its copy."""
    pytest = __import__("pytest")
    pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    n = 400
    y = rng.integers(0, 2, n)
    clean = np.c_[y * 2.0 + rng.normal(0, 0.5, n), y * 1.0 + rng.normal(0, 0.8, n)]
    coded = clean + np.c_[rng.normal(0, 1.5, n), rng.normal(0, 0.05, n)]
    x = np.concatenate([clean, coded])
    pairs = (np.arange(n), np.arange(n, 2 * n))
    yy = np.concatenate([y, y])

    def moved(weight: float) -> tuple[float, np.ndarray]:
        clf = ts.MaskedSoftmax(C=1.0, n_classes=2, consistency=weight).fit(x, yy, pairs=pairs)
        p, q = clf.predict_proba(clean), clf.predict_proba(coded)
        return float(np.abs(p - q).mean()), np.abs(clf.coef_[1] - clf.coef_[0])

    free, w_free = moved(0.0)
    held, w_held = moved(10.0)
    assert held < 0.5 * free
    assert w_held[0] / w_held[1] < 0.5 * w_free[0] / w_free[1]  # the codec-moved feature lost its weight
    assert moved(10.0)[0] == held  # deterministic
