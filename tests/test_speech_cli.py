"""The `avemotion speech` command and SpeechAnalyzer, on good and bad input."""

import json

import numpy as np
import pytest

from avemotion.cli import main
from avemotion.speech import SpeechAnalyzer

from .conftest import CLIPS, RAVDESS, need, voice_like
from .test_media import _encode

MODELS = ["speech", "speech_baseline", "speech_ravdess"]


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def test_json_has_probabilities_and_segments(capsys):
    code, out, _ = run(capsys, "speech", "--demo", "--json")
    assert code == 0
    d = json.loads(out)
    assert set(d["probabilities"]) == {"angry", "disgust", "fear", "happy", "neutral", "sad", "surprise", "calm"}
    assert sum(d["probabilities"].values()) == pytest.approx(1.0, abs=1e-3)
    assert d["segments"] and all({"start", "end", "probabilities"} <= set(s) for s in d["segments"])
    assert all(0 <= s["start"] < s["end"] <= d["duration"] + 1e-3 for s in d["segments"])


def test_table_and_plot(capsys, tmp_path):
    png = tmp_path / "speech.png"
    code, out, _ = run(capsys, "speech", "--demo", "--plot", str(png))
    assert code == 0 and "emotion" in out and "calm" in out
    assert png.exists() and png.read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize("content,why", [(b"", "empty"), (b"hello, I am text\n" * 20, "not a readable media file")])
def test_bad_file_one_line_error(capsys, tmp_path, content, why):
    p = tmp_path / "bad.wav"
    p.write_bytes(content)
    code, out, err = run(capsys, "speech", str(p))
    assert code != 0 and why in err and str(p) in err
    assert len(err.strip().splitlines()) == 1


def test_zero_length_audio(capsys, write_wav):
    p = write_wav("zero.wav", np.zeros(0, np.float32))
    code, _, err = run(capsys, "speech", str(p))
    assert code != 0 and len(err.strip().splitlines()) == 1 and "zero.wav" in err


def test_pure_silence_is_no_speech(capsys, write_wav):
    p = write_wav("silence.wav", np.zeros(16000 * 3, np.float32))
    code, out, _ = run(capsys, "speech", "--json", str(p))
    d = json.loads(out)
    assert code == 0 and d["has_speech"] is False and d["probabilities"] is None and d["status"] == "no speech"


def test_8khz_stereo_mp3(capsys, tmp_path):
    p = tmp_path / "clip.mp3"
    _encode(p, voice_like(3.0, 8000), 8000, "mp3")
    code, out, _ = run(capsys, "speech", "--json", "--no-vad", str(p))
    d = json.loads(out)
    assert code == 0 and d["duration"] == pytest.approx(3.0, abs=0.15) and d["has_speech"]


def test_ten_minute_file(capsys, write_wav):
    y = np.tile(voice_like(10.0), 60)  # 10 minutes
    p = write_wav("long.wav", y)
    code, out, _ = run(capsys, "speech", "--json", str(p))
    d = json.loads(out)
    assert code == 0 and d["duration"] == pytest.approx(600.0, abs=0.1)
    assert all(s["end"] - s["start"] <= 4.0 + 1e-6 for s in d["segments"])


def test_batch_goes_on_past_broken_file(capsys, tmp_path, write_wav):
    write_wav("dir/a.wav", voice_like(2.0))
    (tmp_path / "dir" / "b.wav").write_bytes(b"not audio")
    write_wav("dir/c.wav", np.zeros(8000, np.float32))
    code, out, _ = run(capsys, "speech", str(tmp_path / "dir"))
    rows = [json.loads(line) for line in out.strip().splitlines()]
    assert [r["path"].rsplit("/", 1)[1] for r in rows] == ["a.wav", "b.wav", "c.wav"]
    assert "error" in rows[1] and "error" not in rows[0] and "error" not in rows[2]
    assert code == 1


@pytest.mark.parametrize("model", MODELS)
def test_models_load_and_agree_on_shape(model):
    sa = SpeechAnalyzer(model)
    p = sa.predict_proba(voice_like(2.0))
    assert p.shape == (8,) and p.sum() == pytest.approx(1.0, abs=1e-4)
    assert sa.predict(voice_like(2.0)) == sa.labels[int(p.argmax())]  # predict: a label, as in scikit-learn


def test_video_audio_track_is_read():
    clip = need(CLIPS / "face_noface.mov")
    r = SpeechAnalyzer().analyze_file(clip)
    assert r.duration > 3.0  # the track was decoded


def test_silent_track_and_music_are_no_speech():
    sa = SpeechAnalyzer()
    silent = sa.analyze_file(need(CLIPS / "WolfgangLanger_Pexels.mp4"))
    assert not silent.has_speech and silent.probabilities is None
    music = sa.analyze_file(need(CLIPS / "no_face.mp4"))  # title-card music, no voice
    assert not music.has_speech


def test_real_speech_is_found_and_classified():
    clip = need(RAVDESS / "Actor_01" / "03-01-05-02-01-01-01.flac")
    r = SpeechAnalyzer().analyze_file(clip)
    assert r.has_speech and 0.8 < r.speech_seconds < 3.5


def test_missing_model_is_one_line(capsys, write_wav):
    p = write_wav("a.wav", voice_like(1.0))
    code, _, err = run(capsys, "speech", "--model", "no_such_model", str(p))
    assert code == 2 and "no model 'no_such_model'" in err and len(err.strip().splitlines()) == 1


def test_a_long_recording_streams_to_the_same_result(tmp_path, monkeypatch):
    """Past STREAM_AFTER_S a file is analysed in blocks (bounded memory): same segments and
    probabilities as decoding it whole, here on 48 kHz stereo speech with pauses."""
    import soundfile as sf
    import soxr

    from avemotion.speech import analyzer as speech_analyzer

    from avemotion.media import load_audio

    clips = sorted(need(RAVDESS).glob("Actor_0[45]/*.flac"))[::9][:8]
    y = np.concatenate([np.concatenate([load_audio(c, normalize=False), np.zeros(16000, np.float32)]) for c in clips])
    y48 = soxr.resample(y, 16000, 48000)
    wav = tmp_path / "long.wav"
    sf.write(wav, np.stack([y48, 0.5 * y48], axis=1), 48000)
    sa = SpeechAnalyzer(vad=True)
    whole = sa.analyze_file(wav)
    monkeypatch.setattr(speech_analyzer, "STREAM_AFTER_S", 1.0)
    monkeypatch.setattr(speech_analyzer, "audio_blocks", _small_blocks)
    streamed = sa.analyze_file(wav)
    assert len(whole.segments) >= 6 and streamed.duration == pytest.approx(whole.duration, abs=1e-3)
    assert [(s.start, s.end) for s in streamed.segments] == [(s.start, s.end) for s in whole.segments]
    for a, b in zip(streamed.segments, whole.segments, strict=True):
        assert max(abs(a.probabilities[k] - b.probabilities[k]) for k in a.probabilities) < 1e-4


def _small_blocks(path):
    from avemotion.media import audio_blocks

    return audio_blocks(path, seconds=3.3)  # blocks that cut through speech and VAD frames alike
