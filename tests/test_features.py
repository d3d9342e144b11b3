"""Speech features: shapes, the shared-STFT path, and the on-disk cache."""

import numpy as np
import pytest

from avemotion.speech.features import (FUNCTIONAL_DIM, SEED_DIM, functional_features, seed_features,
                                       speech_inputs, speech_log_mel)

from avemotion.training.features import extract_many

from .conftest import voice_like


def test_shapes():
    y = voice_like(2.0)
    assert seed_features(y).shape == (SEED_DIM,) == (193,)
    assert functional_features(y).shape == (FUNCTIONAL_DIM,)
    m = speech_log_mel(y)
    assert m.shape[0] == 64 and 150 < m.shape[1] <= 201 and m.dtype == np.float32


@pytest.mark.parametrize("n", [300, 3000, 5000, 32000])
def test_shared_path_equals_one_by_one(n):
    y = voice_like(n / 16000 + 0.01)[:n]
    d = speech_inputs(y, ["logmel", "functionals", "seed"])
    assert np.array_equal(d["logmel"], speech_log_mel(y))
    assert np.array_equal(d["functionals"], functional_features(y))
    assert np.array_equal(d["seed"], seed_features(y))
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
