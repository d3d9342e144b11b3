"""Speech features: shapes, the shared-STFT path, and the on-disk cache."""

import numpy as np
import pytest

from avemotion.speech.features import (BASELINE_DIM, FUNCTIONAL_DIM, baseline_features, functional_features,
                                       speech_inputs, speech_log_mel)

from avemotion.training.features import extract_many

from .conftest import voice_like


def test_shapes():
    y = voice_like(2.0)
    assert baseline_features(y).shape == (BASELINE_DIM,) == (193,)
    assert functional_features(y).shape == (FUNCTIONAL_DIM,)
    m = speech_log_mel(y)
    assert m.shape[0] == 64 and 150 < m.shape[1] <= 201 and m.dtype == np.float32


@pytest.mark.parametrize("n", [300, 3000, 5000, 32000])
def test_shared_path_equals_one_by_one(n):
    y = voice_like(n / 16000 + 0.01)[:n]
    d = speech_inputs(y, ["logmel", "functionals", "baseline"])
    assert np.array_equal(d["logmel"], speech_log_mel(y))
    assert np.array_equal(d["functionals"], functional_features(y))
    assert np.array_equal(d["baseline"], baseline_features(y))
    assert np.all(np.isfinite(d["functionals"]))


def test_cache_is_keyed_by_content(tmp_path, write_wav):
    a = write_wav("a.wav", voice_like(1.0, seed=1))
    b = write_wav("b.wav", voice_like(1.0, f0=200, seed=2))
    first = extract_many([a, b], "functionals", cache_dir=tmp_path / "c", progress=False)
    assert len(list((tmp_path / "c" / "functionals").glob("*.npy"))) == 2
    again = extract_many([a, b], "functionals", cache_dir=tmp_path / "c", progress=False)
    assert all(np.array_equal(x, y) for x, y in zip(first, again))
    assert not np.array_equal(first[0], first[1])
    write_wav("a.wav", voice_like(1.0, f0=90, seed=3))  # same name, new content → recomputed
    changed = extract_many([a], "functionals", cache_dir=tmp_path / "c", progress=False)
    assert not np.array_equal(changed[0], first[0])


def test_speed_perturbation_scales_time_and_is_cached_apart(tmp_path, write_wav):
    from avemotion.training.features import extract_many, speed_perturb

    y = voice_like(2.0)
    assert speed_perturb(y, 1.0) is y
    assert abs(speed_perturb(y, 1.1).size - y.size / 1.1) <= 2 and abs(speed_perturb(y, 0.9).size - y.size / 0.9) <= 2
    path = write_wav("v.wav", y)
    plain, fast = (extract_many([path], "logmel", cache_dir=tmp_path / "c", progress=False, speed=s)[0] for s in (1.0, 1.1))
    assert fast.shape[1] < plain.shape[1]  # fewer frames: the copy is shorter
    assert len(list((tmp_path / "c" / "logmel").glob("*.npy"))) == 2  # two cache entries, not one


# --- the numpy front end against librosa, whose features the shipped models were trained on ------

def _librosa_dsp(monkeypatch):
    """Swap every numpy step of :mod:`avemotion.speech.dsp` for the librosa call it reproduces."""
    librosa = pytest.importorskip("librosa")
    from avemotion.speech import dsp

    def power(y, n_fft, hop, win=None):
        s = librosa.stft(np.asarray(y, np.float32), n_fft=n_fft, hop_length=hop, win_length=win, center=True)
        return (s.real ** 2 + s.imag ** 2).astype(np.float32)

    monkeypatch.setattr(dsp, "power_spectrogram", power)
    monkeypatch.setattr(dsp, "mel_filters", lambda sr, n_fft, n_mels, fmin=0.0, fmax=None: librosa.filters.mel(
        sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax).astype(np.float32))
    monkeypatch.setattr(dsp, "mfcc", lambda lm, n=20: librosa.feature.mfcc(S=lm, n_mfcc=n))
    monkeypatch.setattr(dsp, "delta", lambda x, width=5: librosa.feature.delta(x, width=width, mode="nearest"))
    monkeypatch.setattr(dsp, "zero_crossing_rate", lambda y, fl, hop: librosa.feature.zero_crossing_rate(
        y, frame_length=fl, hop_length=hop)[0])
    monkeypatch.setattr(dsp, "trim", lambda y, top_db, frame_length, hop_length: librosa.effects.trim(
        y, top_db=top_db, frame_length=frame_length, hop_length=hop_length)[0])


#: The stated tolerance of the numpy features against librosa's: every number within 1e-3 of the
#: reference's scale (its largest magnitude in the same feature group) or 2 % of its own value.
def _close(ours: np.ndarray, ref: np.ndarray) -> np.ndarray:
    return np.abs(ours - ref) <= np.maximum(1e-3 * np.abs(ref).max(), 0.02 * np.abs(ref))


def _real_clips(n_each: int = 3) -> list:
    from .conftest import SHARED

    clips = []
    for corpus in ("ravdess_speech_16k", "casia_speech_16k", "emovo_speech_16k"):
        files = sorted((SHARED / corpus).rglob("*.flac"))
        clips += files[:: max(1, len(files) // n_each)][:n_each]
    return clips


@pytest.mark.slow
def test_numpy_features_equal_librosa_ones_on_real_clips(monkeypatch):
    from avemotion.media import load_audio

    clips = _real_clips()
    if not clips:
        pytest.skip("needs the speech corpora in ../shared/data")
    ours = [speech_inputs(load_audio(p), ["logmel", "functionals", "voice"]) for p in clips]
    _librosa_dsp(monkeypatch)
    for p, o in zip(clips, ours, strict=True):
        ref = speech_inputs(load_audio(p), ["logmel", "functionals", "voice"])
        for kind in ("logmel", "functionals", "voice"):
            assert o[kind].shape == ref[kind].shape, (p, kind)
            ok = _close(o[kind], ref[kind])
            assert ok.all(), (p.name, kind, int((~ok).sum()), float(np.abs(o[kind] - ref[kind]).max()))


def test_numpy_features_equal_librosa_ones_on_a_synthetic_voice(monkeypatch):
    y = voice_like(2.5, seed=4)
    ours = speech_inputs(y, ["logmel", "functionals"])
    _librosa_dsp(monkeypatch)
    ref = speech_inputs(y, ["logmel", "functionals"])
    for kind in ("logmel", "functionals"):
        assert _close(ours[kind], ref[kind]).all(), kind
