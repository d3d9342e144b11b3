import numpy as np
import pytest

from avemotion.errors import MediaError
from avemotion.media import iter_frames, load_audio, normalize_loudness, probe

from .conftest import CLIPS, need, voice_like


def _encode(path, y, sr, codec, layout="stereo", fmt="fltp"):
    """Write audio with PyAV (FFmpeg), e.g. an 8 kHz stereo MP3."""
    import av

    with av.open(str(path), "w") as out:
        stream = out.add_stream(codec, rate=sr, layout=layout)
        data = np.stack([y, y]) if layout == "stereo" else y[None]
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(data, dtype=np.float32), format=fmt, layout=layout)
        frame.sample_rate = sr
        for packet in stream.encode(frame):
            out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)


def test_8khz_stereo_mp3_comes_out_16k_mono(tmp_path):
    y = voice_like(2.0, 8000)
    p = tmp_path / "clip.mp3"
    _encode(p, y, 8000, "mp3")
    out = load_audio(p)
    assert out.ndim == 1 and out.dtype == np.float32
    assert abs(out.size / 16000 - 2.0) < 0.15


def test_loudness_normalisation_levels_quiet_and_loud():
    y = voice_like(1.0)
    quiet, loud = normalize_loudness(y * 0.01), normalize_loudness(y * 0.5)
    assert np.sqrt(np.mean(quiet ** 2)) == pytest.approx(np.sqrt(np.mean(loud ** 2)), rel=0.1)
    assert np.max(np.abs(normalize_loudness(y))) <= 0.99
    silence = np.zeros(16000, np.float32)
    assert np.array_equal(normalize_loudness(silence), silence)


def test_wav_resampled_and_downmixed(write_wav):
    y = voice_like(1.0, 44100)
    p = write_wav("stereo44.wav", np.stack([y, y], axis=1), 44100)
    out = load_audio(p, normalize=False)
    assert abs(out.size - 16000) <= 2
    assert np.max(np.abs(out)) == pytest.approx(np.max(np.abs(y)), rel=0.1)


@pytest.mark.parametrize("content,match", [(b"", "empty"), (b"this is not audio at all\n" * 4, "not a readable media file")])
def test_bad_files_raise_one_line(tmp_path, content, match):
    p = tmp_path / "bad.wav"
    p.write_bytes(content)
    with pytest.raises(MediaError, match=match) as info:
        load_audio(p)
    assert "\n" not in str(info.value) and str(p) in str(info.value)


def test_zero_length_audio(write_wav):
    p = write_wav("zero.wav", np.zeros(0, np.float32))
    with pytest.raises(MediaError, match="zero length|no samples|not a readable"):
        load_audio(p)


def test_video_audio_track_and_probe():
    clip = need(CLIPS / "face_noface.mov")
    info = probe(clip)
    assert info.kind == "video" and info.has_audio and info.has_video
    y = load_audio(clip)
    assert y.size > 16000


def test_missing_file():
    with pytest.raises(MediaError, match="no such file"):
        load_audio("/nonexistent/x.wav")


def _rotated_mp4(path, quarter_turns_clockwise: int = 1):
    """A 64x32 H.264 MP4 (left half white) whose track header says: show it turned 90° clockwise,
    as a phone records a portrait video (the matrix is written into 'tkhd' by hand)."""
    import struct

    import av

    with av.open(str(path), "w") as out:
        vs = out.add_stream("libx264", rate=5)
        vs.width, vs.height, vs.pix_fmt = 64, 32, "yuv420p"
        for i in range(5):
            img = np.zeros((32, 64, 3), np.uint8)
            img[:, :32] = 255
            frame = av.VideoFrame.from_ndarray(img, format="bgr24")
            frame.pts = i
            out.mux(vs.encode(frame))
        out.mux(vs.encode(None))
    data = bytearray(path.read_bytes())
    at = data.find(b"tkhd")
    version = data[at + 4]
    matrix = at + 4 + (52 if version == 1 else 40)
    one, minus_one = 0x00010000, 0xFFFF0000
    values = (0, one, 0, minus_one, 0, 0, 32 << 16, 0, 0x40000000)  # 90° clockwise, moved back into view
    data[matrix:matrix + 36] = struct.pack(">9I", *values)
    path.write_bytes(bytes(data))
    return path


def test_a_portrait_phone_video_is_turned_upright(tmp_path):
    clip = _rotated_mp4(tmp_path / "portrait.mp4")
    frame = next(iter_frames(clip, fps=5))
    assert frame.image.shape[:2] == (64, 32)  # shown as 32 wide, 64 tall
    top, bottom = frame.image[:32].mean(), frame.image[32:].mean()
    assert top > 200 and bottom < 50  # the stored left half is on top once turned clockwise


def test_the_audio_track_with_sound_is_chosen_over_a_silent_first_one(tmp_path):
    from fractions import Fraction

    import av

    from avemotion.media import audio_stream_index

    path = tmp_path / "two_tracks.mkv"
    voice = voice_like(2.0)
    with av.open(str(path), "w") as out:
        tracks = [out.add_stream("aac", rate=16000) for _ in range(2)]
        for t in tracks:
            t.layout = "mono"
        for k, (stream, signal) in enumerate(zip(tracks, (np.zeros_like(voice), voice))):
            for s in range(0, signal.size, 1024):
                frame = av.AudioFrame.from_ndarray(signal[None, s:s + 1024], format="flt", layout="mono")
                frame.sample_rate, frame.pts, frame.time_base = 16000, s, Fraction(1, 16000)
                out.mux(stream.encode(frame))
            out.mux(stream.encode(None))
    assert probe(path).audio_streams == 2 and audio_stream_index(path) == 1
    y = load_audio(path, normalize=False)
    assert np.sqrt(np.mean(y ** 2)) > 0.05  # the voice, not the silence
