"""Shared fixtures: generated audio files and the path to ../shared/data (tests skip without it)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("AVEMOTION_SHARED_DATA", ROOT.parent / "shared" / "data"))
CLIPS = SHARED / "clips"
RAVDESS = SHARED / "ravdess_speech_16k"


def need(path: Path) -> Path:
    """Skip the test cleanly when a shared dataset is absent."""
    if not path.exists():
        pytest.skip(f"shared data not found: {path}")
    return path


def voice_like(seconds: float = 2.0, sr: int = 16000, f0: float = 140.0, seed: int = 0) -> np.ndarray:
    """A buzzy harmonic signal with a wobbling pitch: not speech, but speech-shaped for shapes/timing."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    pitch = f0 * (1 + 0.05 * np.sin(2 * np.pi * 3 * t))
    phase = 2 * np.pi * np.cumsum(pitch) / sr
    y = sum(np.sin(k * phase) / k for k in range(1, 20))
    y = y * (0.5 + 0.5 * np.sin(2 * np.pi * 4 * t) ** 2) + 0.01 * rng.standard_normal(t.size)
    return (0.3 * y / np.max(np.abs(y))).astype(np.float32)


def need_chromium() -> str:
    """Debian's Chromium for the browser tests. Skipped where absent, unless AVEMOTION_REQUIRE_BROWSER
    is set (CI sets it): there a missing browser fails the run instead of hiding two tests."""
    import shutil

    pytest.importorskip("playwright.sync_api")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        if os.environ.get("AVEMOTION_REQUIRE_BROWSER"):
            pytest.fail("AVEMOTION_REQUIRE_BROWSER is set and no chromium is installed")
        pytest.skip("no chromium on this machine")
    return chromium


@pytest.fixture(scope="module")
def va():
    """The video analyser with the shipped models, loaded once per test module."""
    from avemotion.pipeline import VideoAnalyzer

    return VideoAnalyzer()


@pytest.fixture(autouse=True)
def _cache(tmp_path_factory, monkeypatch):
    """Every test gets its own feature cache, never the user's."""
    monkeypatch.setenv("AVEMOTION_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))


@pytest.fixture
def write_wav(tmp_path):
    import soundfile as sf

    def _write(name: str, y: np.ndarray, sr: int = 16000) -> Path:
        p = tmp_path / name
        p.parent.mkdir(parents=True, exist_ok=True)
        sf.write(p, y, sr)
        return p

    return _write
