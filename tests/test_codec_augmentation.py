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
