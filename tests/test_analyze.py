"""`avemotion analyze`, the pipeline and its outputs, on real clips, generated files and bad input."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import av
import numpy as np
import pandas as pd
import pytest

from avemotion.cli import main
from avemotion.pipeline import AnalyzeConfig
from avemotion.taxonomy import FACE_EMOTIONS

from .conftest import CLIPS, RAVDESS, ROOT, SHARED, need, need_chromium, voice_like


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def check_schema(data: dict) -> None:
    """result.json against its published JSON Schema (where jsonschema is installed: the test extra)."""
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads((ROOT / "src" / "avemotion" / "schemas" / "analysis-1.1.json").read_text())
    jsonschema.validate(json.loads(json.dumps(data)), schema)


def face_labels(result, lo, hi):
    return [max(w.face.probabilities, key=w.face.probabilities.get) if w.face.probabilities else None
            for w in result.timeline if lo <= w.start < hi]


def write_video(path: Path, seconds: float = 1.0, fps: int = 10, audio: np.ndarray | None = None) -> Path:
    """A small synthetic H.264 video (moving grey gradient), with an audio track if given."""
    from fractions import Fraction

    webm = path.suffix == ".webm"
    with av.open(str(path), "w") as out:
        codec = {".webm": "libvpx-vp9", ".avi": "mpeg4"}.get(path.suffix, "libx264")  # AVI: MPEG-4 part 2, as Xvid
        vs = out.add_stream(codec, rate=fps)
        vs.width, vs.height, vs.pix_fmt = 160, 120, "yuv420p"
        aus = None
        if audio is not None:
            aus = out.add_stream("libopus" if webm else "aac", rate=48000 if webm else 16000)
            aus.layout = "mono"
        for i in range(int(seconds * fps)):
            img = np.full((120, 160, 3), (i * 20) % 255, np.uint8)
            vf = av.VideoFrame.from_ndarray(img, format="bgr24")
            vf.pts = i
            out.mux(vs.encode(vf))
        out.mux(vs.encode(None))
        if aus is not None:
            resampler = av.AudioResampler(format="flt", layout="mono", rate=48000)
            for s in range(0, audio.size, 1024):
                af = av.AudioFrame.from_ndarray(audio[None, s:s + 1024], format="flt", layout="mono")
                af.sample_rate, af.pts, af.time_base = 16000, s, Fraction(1, 16000)
                for frame in (resampler.resample(af) if webm else [af]):
                    out.mux(aus.encode(frame))
            out.mux(aus.encode(None))
    return path


# -- real clips -------------------------------------------------------------------------------


def test_crying_then_laughing_and_a_silent_track(va):
    r = va.analyze(need(CLIPS / "WolfgangLanger_Pexels.mp4"))
    early = [w.face.probabilities for w in r.timeline if w.start < 9 and w.face.probabilities]
    mean_early = {lab: np.mean([p[lab] for p in early]) for lab in FACE_EMOTIONS}
    assert max(mean_early, key=mean_early.get) == "sad"
    late = face_labels(r, 10, 20)
    assert late.count("happy") >= 0.9 * len(late)
    assert r.status == {"face": "ok", "voice": "no speech"}
    assert r.summary["voice"] is None
    assert all(w.voice.status == "no speech" and w.voice.probabilities is None for w in r.timeline)


def test_face_then_no_face(va):
    r = va.analyze(need(CLIPS / "face_noface.mov"))
    assert all(w.face.status == "ok" for w in r.timeline if w.end <= 2.7)
    assert all(w.face.status == "no face" and w.face.probabilities is None for w in r.timeline if w.start >= 3.0)
    assert len(r.tracks) == 1 and r.main_track == 0


def test_no_face_anywhere(va):
    r = va.analyze(need(CLIPS / "no_face.mp4"))
    assert r.tracks == [] and r.main_track is None and r.summary["face"] is None
    assert all(not fr.faces for fr in r.frames)
    assert r.status["face"] == "no face" and r.label is None  # no face, no speech: nothing to say


def test_ravdess_speech_on_a_real_face_carries_a_voice_lane(tmp_path, va):
    need(RAVDESS)
    need(CLIPS)
    subprocess.run([sys.executable, str(ROOT / "scripts" / "make_clips.py"), "--out", str(tmp_path),
                    "--shared", str(SHARED), "--only", "face_with_speech"], check=True, capture_output=True)
    r = va.analyze(tmp_path / "face_with_speech.mp4")
    assert r.status == {"face": "ok", "voice": "ok"}
    voiced = [w for w in r.timeline if w.voice.status == "ok"]
    assert len(voiced) >= 2 and all(set(w.voice.probabilities) >= {"calm", "neutral"} for w in voiced)
    assert r.summary["voice"] and r.summary["fused"]
    # Voice's calm has no face counterpart: it folds into neutral, the fused set is the face's seven.
    assert set(r.summary["fused"]) == set(FACE_EMOTIONS)
    check_schema(r.to_dict())
    # The file's fused answer is the rule once on the two lane summaries (what `evaluate fusion` scores),
    # not the mean of the windows' fusions.
    from avemotion.fusion import FUSION_RULES, ModalityInput

    main = next(t for t in r.tracks if t.id == r.main_track)
    heard = sum(s["end"] - s["start"] for s in r.speech_segments) / r.duration
    once = FUSION_RULES[va.config.fusion.rule](
        {"face": ModalityInput(r.summary["face"], main.presence), "voice": ModalityInput(r.summary["voice"], heard)},
        va.config.fusion,
    )
    assert once is not None and all(abs(once[k] - r.summary["fused"][k]) < 1e-4 for k in FACE_EMOTIONS)


def test_every_output_for_a_real_clip(tmp_path, capsys):
    out = tmp_path / "out"
    code, stdout, _ = run(capsys, "analyze", need(CLIPS / "face_noface.mov"), "--out", out)
    assert code == 0 and "report.html" in stdout and "fused" in stdout
    for name in ("result.json", "timeline.csv", "timeline.png", "annotated.mp4", "report.html"):
        assert (out / name).stat().st_size > 0, name
    data = json.loads((out / "result.json").read_text())
    assert data["schema"] == "avemotion.analysis" and data["schema_version"] == "1.1"
    check_schema(data)
    for lane in ("fused", "face"):
        assert set(data["summary"][lane]) == set(FACE_EMOTIONS)
        assert sum(data["summary"][lane].values()) == pytest.approx(1, abs=1e-3)
    assert data["summary"]["voice"] is None and data["status"]["voice"] == "no speech"
    assert len(data["timeline"]) == 7 and {"start", "end", "face", "voice", "fused"} <= set(data["timeline"][0])
    csv = pd.read_csv(out / "timeline.csv")
    assert len(csv) == 7 and {"fused_happy", "face_happy", "voice_calm", "face_status"} <= set(csv.columns)
    with av.open(str(out / "annotated.mp4")) as c:
        assert c.streams.video and c.streams.audio  # the original audio is kept
        assert c.streams.video[0].frames == len(data["frames"])


def test_report_opens_in_headless_chromium(tmp_path, capsys):
    chromium = need_chromium()
    playwright = pytest.importorskip("playwright.sync_api")
    out = tmp_path / "out"
    code, _, _ = run(capsys, "analyze", need(CLIPS / "WolfgangLanger_Pexels.mp4"), "--out", out)
    assert code == 0
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium,
                                    args=["--no-sandbox", "--disable-background-networking"])
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        page.goto((out / "report.html").as_uri())
        assert page.inner_text("#label").strip() == "happy"
        assert page.locator("img[alt=timeline]").evaluate("img => img.naturalWidth") > 500
        assert page.locator("#windows tr").count() == 21  # header + 20 one-second windows
        shot = tmp_path / "screenshots" / "report.png"
        shot.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(shot), full_page=True)
        browser.close()
    assert shot.stat().st_size > 10_000


# -- generated files: modalities missing, API, batch --------------------------------------------


def test_audio_file_image_and_silent_video_report_missing_modalities(tmp_path, write_wav, va):
    import cv2

    r = va.analyze(write_wav("talk.wav", voice_like(3.0)))
    assert r.status["face"] == "missing" and all(w.face.status == "missing" for w in r.timeline)
    check_schema(r.to_dict())
    img = tmp_path / "grey.png"
    cv2.imwrite(str(img), np.full((64, 64, 3), 128, np.uint8))
    r = va.analyze(img)
    assert r.status == {"face": "no face", "voice": "missing"} and len(r.timeline) == 1
    r = va.analyze(write_video(tmp_path / "mute.mp4"))
    assert r.status == {"face": "no face", "voice": "missing"}
    assert r.label is None and r.summary == {"fused": None, "face": None, "voice": None}


@pytest.mark.parametrize("ext", [".mkv", ".webm", ".avi", ".mov"])
def test_containers(tmp_path, va, ext):
    r = va.analyze(write_video(tmp_path / f"v{ext}", 1.0, audio=voice_like(1.0)))
    times = [f.time for f in r.frames]
    assert 5 <= len(times) <= 6 and times == sorted(times) and times[0] < 0.2  # 1 s sampled at 5/s
    # the audio track was decoded in every container (the synthetic buzz is speech-shaped: whether the
    # VAD's slowed retry calls it speech may differ with the codec's rounding, which is not tested here)
    assert r.status["face"] == "no face" and r.status["voice"] != "missing" and r.media["has_audio"]


def test_python_api_and_dataframe(tmp_path):
    import avemotion

    r = avemotion.analyze(write_video(tmp_path / "v.mp4", 2.0, audio=voice_like(2.0)), window=0.5)
    assert isinstance(r, avemotion.AnalysisResult) and len(r.timeline) in (4, 5)  # AAC pads the end a little
    assert all(w.end - w.start <= 0.5 + 1e-6 for w in r.timeline)
    df = r.to_dataframe()
    assert len(df) == len(r.timeline) and {"start", "end", "fused_label", "voice_status"} <= set(df.columns)
    assert r.to_dict()["config"]["window"] == 0.5


def test_batch_goes_on_past_broken_files_and_reruns_only_them(tmp_path, write_wav, capsys):
    import cv2

    src = tmp_path / "in"
    src.mkdir()
    for i in range(3):
        cv2.imwrite(str(src / f"img{i}.png"), np.full((64, 64, 3), 60 * i, np.uint8))
    for i in range(2):
        shutil.copy(write_wav(f"w{i}.wav", voice_like(1.0, seed=i)), src / f"talk{i}.wav")
    for i in range(2):
        write_video(src / f"clip{i}.mp4", audio=voice_like(1.0, seed=5 + i) if i else None)
    (src / "empty.mp4").write_bytes(b"")
    (src / "notes.mov").write_text("not a video")
    good = (src / "clip0.mp4").read_bytes()
    (src / "truncated.mp4").write_bytes(good[: len(good) // 3])
    out = tmp_path / "out"
    code, stdout, _ = run(capsys, "analyze", src, "--out", out, "--no-annotate")
    lines = [json.loads(s) for s in stdout.splitlines()]
    assert code == 1 and len(lines) == 10
    errors = [d for d in lines if "error" in d]
    assert sorted(Path(d["path"]).name for d in errors) == ["empty.mp4", "notes.mov", "truncated.mp4"]
    assert all(d["error"] and "\n" not in d["error"] for d in errors)
    assert len(list(out.glob("*/result.json"))) == 7 and len(list(out.glob("*/error.json"))) == 3
    code, stdout, _ = run(capsys, "analyze", src, "--out", out, "--no-annotate")
    lines = [json.loads(s) for s in stdout.splitlines()]
    assert code == 1
    assert sum(d.get("status") == "done earlier" for d in lines) == 7
    assert sorted(Path(d["path"]).name for d in lines if "error" in d) == ["empty.mp4", "notes.mov", "truncated.mp4"]


def test_weights_from_the_command_line_and_a_file(tmp_path, capsys):
    video = write_video(tmp_path / "v.mp4", 2.0, audio=voice_like(2.0))
    code, _, _ = run(capsys, "analyze", video, "--out", tmp_path / "a", "--fusion", "weighted",
                     "--weights", "face=0,voice=1", "--no-annotate")
    data = json.loads((tmp_path / "a" / "result.json").read_text())
    assert code == 0 and data["config"]["weights"] == {"face": 0.0, "voice": 1.0}
    (tmp_path / "w.json").write_text(json.dumps({"weights": {"face": 0.7, "voice": 0.3}}))
    code, _, _ = run(capsys, "analyze", video, "--out", tmp_path / "b", "--weights", tmp_path / "w.json", "--no-annotate")
    assert code == 0 and json.loads((tmp_path / "b" / "result.json").read_text())["config"]["weights"]["face"] == 0.7
    code, _, err = run(capsys, "analyze", video, "--out", tmp_path / "c", "--weights", "face=oops")
    assert code != 0 and "weights" in err and len(err.strip().splitlines()) == 1


def test_demo_runs_on_the_bundled_clip(tmp_path, capsys):
    code, out, _ = run(capsys, "analyze", "--demo", "--out", tmp_path / "demo")
    assert code == 0 and (tmp_path / "demo" / "report.html").exists()
    assert "report:" in out and "face: ok" in out and "overall: happy" in out
    # What the README promises of the clip: a man going from neutral to a smile.
    frames = json.loads((tmp_path / "demo" / "result.json").read_text())["frames"]
    tops = [max(f["faces"][0]["probabilities"], key=f["faces"][0]["probabilities"].get) for f in frames]
    assert tops[0] == "neutral" and tops[-1] == "happy" and tops.index("happy") > 0, tops


def test_single_bad_file_is_one_line(tmp_path, capsys):
    bad = tmp_path / "notes.mp4"
    bad.write_text("hello")
    code, out, err = run(capsys, "analyze", bad, "--out", tmp_path / "o")
    assert code == 1 and "notes.mp4" in err and len(err.strip().splitlines()) == 1


def test_config_rejects_nonsense():
    with pytest.raises(ValueError):
        AnalyzeConfig.of(fusion="vote")
    with pytest.raises(ValueError):
        AnalyzeConfig.of(fps=0)


# -- live -------------------------------------------------------------------------------------


def test_live_streams_frames_with_a_running_state(capsys):
    code, out, _ = run(capsys, "live", "--source", need(CLIPS / "single_face.mp4"), "--max-frames", 30, "--fps", 10)
    rows = [json.loads(s) for s in out.splitlines()]
    assert code == 0 and 8 <= len(rows) <= 30
    assert all(r["faces"] and r["state"] and r["main_track"] == 0 for r in rows)
    assert sum(rows[-1]["state"].values()) == pytest.approx(1, abs=1e-3)


def test_live_without_camera_or_display_says_so(capsys, tmp_path):
    code, _, err = run(capsys, "live", "--camera", "7", "--max-frames", "1")
    assert code != 0 and "camera 7" in err and len(err.strip().splitlines()) == 1
    video = write_video(tmp_path / "v.mp4")
    code, out, err = run(capsys, "live", "--source", video, "--show", "--max-frames", "3")
    assert code == 0 and "--show needs a display" in err and len(out.splitlines()) == 3


def test_huge_and_tiny_images(tmp_path, va):
    import cv2

    big = tmp_path / "big.jpg"  # 100 MP: decoded at a quarter of its size (over the PNG decoding budget)
    cv2.imwrite(str(big), np.full((10000, 10000, 3), 200, np.uint8))
    r = va.analyze(big)
    assert r.status == {"face": "no face", "voice": "missing"}
    files = __import__("avemotion.report.outputs", fromlist=["write_outputs"]).write_outputs(r, tmp_path / "o")
    with av.open(str(files["annotated.mp4"])) as c:
        assert max(c.streams.video[0].width, c.streams.video[0].height) <= 960
    tiny = tmp_path / "tiny.png"
    cv2.imwrite(str(tiny), np.zeros((1, 1, 3), np.uint8))
    r = va.analyze(tiny)
    assert r.status["face"] == "no face"
    files = __import__("avemotion.report.outputs", fromlist=["write_outputs"]).write_outputs(r, tmp_path / "t")
    assert set(files) >= {"result.json", "report.html", "annotated.mp4"}


def test_an_unexpected_failure_is_one_record_and_the_batch_goes_on(tmp_path, write_wav, capsys, monkeypatch):
    from avemotion.pipeline import VideoAnalyzer as VA

    real = VA.analyze

    def flaky(self, path, progress=None, **options):
        if Path(path).name == "b.wav":
            raise RuntimeError("boom\nsecond line")
        return real(self, path, progress, **options)

    monkeypatch.setattr(VA, "analyze", flaky)
    src = tmp_path / "in"
    src.mkdir()
    for name in ("a.wav", "b.wav", "c.wav"):
        shutil.copy(write_wav(name, voice_like(1.0)), src / name)
    code, out, _ = run(capsys, "analyze", src, "--out", tmp_path / "out", "--no-annotate")
    lines = [json.loads(s) for s in out.splitlines()]
    assert code == 1 and [d.get("status") for d in lines] == ["ok", "error", "ok"]
    assert lines[1]["error"] == "unexpected error (RuntimeError: boom second line)"


def test_batch_outputs_never_collide_and_options_count(tmp_path):
    """Same names in two folders, or one stem with two extensions, get folders of their own; a rerun
    with other options redoes the work instead of keeping the old configuration's result."""
    import avemotion

    photo = need(CLIPS / "single_face.jpg")
    for rel in ("a/sub/x.jpg", "b/sub/x.jpg", "a/y.jpg"):
        (tmp_path / "in" / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(photo, tmp_path / "in" / rel)
    shutil.copy(need(CLIPS / "single_face.mp4"), tmp_path / "in" / "a" / "y.mp4")
    items = list(avemotion.analyze_many([tmp_path / "in"], out=tmp_path / "out", annotate=False))
    assert [i.status for i in items] == ["ok"] * 4
    assert len({i.out for i in items}) == 4
    again = list(avemotion.analyze_many([tmp_path / "in"], out=tmp_path / "out", annotate=False))
    assert [i.status for i in again] == ["done earlier"] * 4
    other = avemotion.AnalyzeConfig.of(fps=2.0)
    redone = list(avemotion.analyze_many([tmp_path / "in"], out=tmp_path / "out", config=other, annotate=False))
    assert [i.status for i in redone] == ["ok"] * 4


def test_a_file_name_that_is_not_utf8_is_analysed(tmp_path, capsys):
    import os
    import shutil

    if sys.platform == "darwin":
        pytest.skip("macOS file systems refuse names that are not UTF-8")
    folder = tmp_path / "in"
    folder.mkdir()
    name = os.fsdecode(b"caf\xe9.mp4")  # Latin-1 bytes: a surrogate escape in Python
    shutil.copy(write_video(tmp_path / "v.mp4", 1.0), folder / name)
    code, _, err = run(capsys, "analyze", folder, "--out", tmp_path / "out")
    assert code == 0, err
    made = next((tmp_path / "out").iterdir())
    assert {p.name for p in made.iterdir()} >= {"result.json", "timeline.png", "report.html", "timeline.csv"}
    assert json.loads((made / "result.json").read_text(encoding="utf-8"))["path"].endswith(name)


def test_a_file_cut_short_says_where_decoding_stopped(tmp_path, va):
    whole = write_video(tmp_path / "whole.mkv", 4.0)
    cut = tmp_path / "cut.mkv"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])  # Matroska keeps its declared length
    r = va.analyze(cut)
    assert len(r.notes) == 1 and "stopped early at" in r.notes[0] and "of 4 s" in r.notes[0]
    check_schema(r.to_dict())
    assert va.analyze(whole).notes == []


def test_a_live_result_is_typed_and_drawn_by_the_report_layer():
    import cv2

    from avemotion.live import LiveAnalyzer, LiveResult
    from avemotion.report.draw import draw_live

    image = cv2.imread(str(need(CLIPS / "single_face.jpg")))
    live = LiveAnalyzer()
    out = [live.step(image, t) for t in (0.0, 0.2, 0.4)][-1]
    assert isinstance(out, LiveResult) and len(out.faces) == 1 and out.main_track == out.faces[0].track
    assert out.label == max(out.state, key=out.state.get)
    d = out.to_dict()
    assert set(d) == {"time", "faces", "main_track", "state", "label"} and d["faces"][0]["track"] == out.main_track
    drawn = draw_live(image, out)
    assert drawn.shape == image.shape and (drawn != image).any() and (image == cv2.imread(str(CLIPS / "single_face.jpg"))).all()


def test_what_a_killed_writer_left_is_removed_on_the_next_run(tmp_path):
    from avemotion.batch import analyze_many

    clip = write_video(tmp_path / "v.mp4", 1.0)
    out = tmp_path / "out" / "v"
    out.mkdir(parents=True)
    (out / ".annotated.mp4.4242.tmp.mp4").write_bytes(b"half a video")  # kill -9 mid-write, earlier
    (out / ".result.json.4242.tmp.json").write_text("{")
    item = next(analyze_many([clip], tmp_path / "out", outputs=["json", "png"]))
    assert item.status == "ok" and not list(out.glob(".*tmp*"))

