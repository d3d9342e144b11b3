"""Fast from the first second: what analysing a file imports, which outputs it makes, the CSV it writes."""

import csv
import json
import subprocess
import sys

import numpy as np
import pytest

from .conftest import CLIPS, need, voice_like
from .test_analyze import write_video

HEAVY = ("librosa", "numba", "pandas", "matplotlib", "scipy", "sklearn", "torch", "ray")

PROBE = """
import sys
from avemotion.cli import main
code = main(sys.argv[1:])
print("EXIT", code)
print("LOADED", " ".join(sorted(m for m in {heavy!r} if m in sys.modules)))
"""


def _imports_of(*argv) -> tuple[int, set[str], str]:
    """Run the avemotion command in a fresh interpreter; its exit code and the heavy modules it loaded."""
    done = subprocess.run([sys.executable, "-c", PROBE.format(heavy=HEAVY), *map(str, argv)],
                          capture_output=True, text=True, timeout=300)
    lines = done.stdout.splitlines()
    code = int(next(line for line in lines if line.startswith("EXIT")).split()[1])
    loaded = set(next(line for line in lines if line.startswith("LOADED")).split()[1:])
    return code, loaded, done.stderr


def test_analysing_a_video_with_speech_imports_no_heavy_module(tmp_path):
    clip = write_video(tmp_path / "talk.mp4", 2.0, audio=voice_like(2.0))
    code, loaded, err = _imports_of("analyze", clip, "--out", tmp_path / "out")
    assert code == 0, err
    assert not loaded, f"analyze imported {sorted(loaded)}"
    data = json.loads((tmp_path / "out" / "result.json").read_text())
    assert set(data["outputs"]) == {"result.json", "timeline.csv", "timeline.png", "annotated.mp4", "report.html"}


def test_speech_and_face_commands_import_no_heavy_module(tmp_path, write_wav):
    wav = write_wav("v.wav", voice_like(2.0))
    code, loaded, err = _imports_of("speech", wav, "--json")
    assert code == 0 and not loaded, (loaded, err)
    image = CLIPS / "multi_face.jpg"
    if image.exists():
        code, loaded, err = _imports_of("face", image, "--json")
        assert code == 0 and not loaded, (loaded, err)


def test_import_avemotion_alone_loads_no_model_runtime():
    done = subprocess.run([sys.executable, "-c", "import sys, avemotion; print(sorted(m for m in "
                           "('onnxruntime', 'av', 'cv2', 'soundfile', *%r) if m in sys.modules))" % (HEAVY,)],
                          capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_only_the_asked_outputs_are_made(tmp_path, capsys):
    from avemotion.cli import main

    clip = write_video(tmp_path / "v.mp4", 1.0)
    assert main(["analyze", str(clip), "--out", str(tmp_path / "a"), "--outputs", "csv,png"]) == 0
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["result.json", "timeline.csv", "timeline.png"]
    assert "result: " in capsys.readouterr().out
    assert main(["analyze", str(clip), "--out", str(tmp_path / "b"), "--outputs", "json,gif"]) == 2
    err = capsys.readouterr().err.strip()
    assert "unknown output 'gif'" in err and len(err.splitlines()) == 1


def test_a_batch_redoes_a_file_asked_for_more_outputs(tmp_path):
    from avemotion.batch import analyze_many

    clip = write_video(tmp_path / "v.mp4", 1.0)
    first = list(analyze_many([clip, clip.with_name("missing.mp4")], tmp_path / "o", outputs=["json"]))
    assert first[0].status == "ok" and first[1].status == "error"
    again = list(analyze_many([clip], tmp_path / "o", outputs=["json"]))
    assert again[0].status == "done earlier"
    more = list(analyze_many([clip], tmp_path / "o", outputs=["json", "csv"]))
    assert more[0].status == "ok" and (more[0].out / "timeline.csv").exists()
    video = list(analyze_many([clip], tmp_path / "o", outputs=["mp4"]))
    assert (video[0].out / "annotated.mp4").exists()
    assert video[0].result.sampled_frames is None  # drawn from the kept frames, then let go


def test_csv_has_a_row_per_window_and_empty_cells_for_gaps(tmp_path):
    import avemotion
    from avemotion.report.outputs import write_csv

    r = avemotion.analyze(write_video(tmp_path / "v.mp4", 2.0), window=0.5)
    rows = list(csv.DictReader(open(write_csv(r.timeline_rows(), tmp_path / "t.csv"), newline="")))
    assert len(rows) == len(r.timeline)
    assert rows[0]["voice_status"] == "missing" and rows[0]["voice_calm"] == ""  # a gap is empty, not 0
    assert float(rows[0]["end"]) == pytest.approx(r.timeline[0].end)
    pd = pytest.importorskip("pandas")
    frame = pd.read_csv(tmp_path / "t.csv")
    assert np.allclose(frame["fused_happy"].to_numpy(float), [w.fused["happy"] if w.fused else np.nan
                                                              for w in r.timeline], equal_nan=True)


def test_the_timeline_png_is_drawn_without_matplotlib(tmp_path):
    import cv2

    import avemotion
    from avemotion.report.draw import COLOURS
    from avemotion.report.outputs import plot_timeline

    r = avemotion.analyze(need(CLIPS / "single_face.mp4"))
    img = cv2.imread(str(plot_timeline(r, tmp_path / "t.png")))
    assert img.shape == (650, 1100, 3) and (img < 200).any(axis=2).mean() > 0.2  # lanes drawn, not blank
    happy = np.array(COLOURS["happy"])
    fused = img[40:250, 130:960].reshape(-1, 3).astype(int)
    assert (np.abs(fused - happy).sum(axis=1) < 30).mean() > 0.3  # the clip's happy band fills the fused lane


def test_a_missing_extra_is_named_in_one_line(monkeypatch):
    import builtins

    from avemotion.errors import MissingExtraError, require

    real = builtins.__import__

    def no_pandas(name, *a, **k):
        if name.split(".")[0] == "pandas":
            raise ImportError(name)
        return real(name, *a, **k)

    monkeypatch.setattr(builtins, "__import__", no_pandas)
    monkeypatch.delitem(sys.modules, "pandas", raising=False)
    with pytest.raises(MissingExtraError, match=r"pip install 'avemotion\[dataframe\]'"):
        require("pandas", "dataframe", "AnalysisResult.to_dataframe")


def test_the_annotated_video_is_at_most_720p(tmp_path):
    import av

    import avemotion
    from avemotion.report.outputs import annotated_video

    big = tmp_path / "big.mp4"
    with av.open(str(big), "w") as out:
        vs = out.add_stream("libx264", rate=5)
        vs.width, vs.height, vs.pix_fmt = 2560, 1440, "yuv420p"
        for i in range(5):
            frame = av.VideoFrame.from_ndarray(np.full((1440, 2560, 3), 40 * i, np.uint8), format="bgr24")
            frame.pts = i
            out.mux(vs.encode(frame))
        out.mux(vs.encode(None))
    r = avemotion.analyze(big, max_side=None)
    with av.open(str(annotated_video(r, tmp_path / "a.mp4"))) as c:
        s = c.streams.video[0]
        assert max(s.width, s.height) <= 1280 and s.width / s.height == pytest.approx(16 / 9, abs=0.01)
