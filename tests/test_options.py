"""Numeric options are checked on every surface: NaN, infinities and costly extremes are one-line errors."""

import math

import pytest

from avemotion.cli import main
from avemotion.errors import OptionError
from avemotion.pipeline import AnalyzeConfig

from .conftest import voice_like


@pytest.mark.parametrize("options", [{"fps": math.nan}, {"fps": math.inf}, {"fps": 1e-9}, {"window": 1e-7},
                                     {"window": math.nan}, {"weights": {"face": math.inf, "voice": 1.0}},
                                     {"weights": {"face": 0.0, "voice": 0.0}}, {"weights": [1, 2]},
                                     {"face_smoothing": -1.0}, {"fusion": "vote"}])
def test_config_rejects(options):
    with pytest.raises(OptionError):
        AnalyzeConfig.of(**options)


@pytest.mark.parametrize("args", [["--fps", "nan"], ["--window", "0.0001"], ["--weights", "face=inf,voice=1"],
                                  ["--weights", "face=nan"]])
def test_analyze_options_are_one_line_errors(capsys, write_wav, args):
    wav = write_wav("a.wav", voice_like(1.0))
    assert main(["analyze", str(wav), "--out", str(wav.parent / "out"), *args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("avemotion: error:")


@pytest.mark.parametrize("content", ["[1, 2]", '{"weights": 5}', '{"face": "x"}'])
def test_weights_file_of_the_wrong_shape(capsys, tmp_path, write_wav, content):
    wav = write_wav("a.wav", voice_like(1.0))
    (tmp_path / "w.json").write_text(content)
    assert main(["analyze", str(wav), "--out", str(tmp_path / "out"), "--weights", str(tmp_path / "w.json")]) == 2
    assert "Traceback" not in capsys.readouterr().err


@pytest.mark.parametrize("segment", ["0", "-1", "0.001", "nan"])
def test_max_segment(capsys, segment):
    assert main(["speech", "--demo", "--max-segment", segment]) == 2
    assert "max_segment" in capsys.readouterr().err


def test_a_decompression_bomb_is_refused_before_decoding(capsys, tmp_path):
    """A small PNG that would decode to more than MAX_IMAGE_PIXELS is one error line, not gigabytes."""
    import cv2
    import numpy as np

    import avemotion

    side = int(np.sqrt(avemotion.MAX_IMAGE_PIXELS)) + 100
    ok, buf = cv2.imencode(".png", np.zeros((side, side), np.uint8), [cv2.IMWRITE_PNG_COMPRESSION, 9])
    (tmp_path / "bomb.png").write_bytes(buf.tobytes())
    assert (tmp_path / "bomb.png").stat().st_size < 1_000_000
    assert main(["face", str(tmp_path / "bomb.png")]) == 1
    assert "image too large" in capsys.readouterr().err


@pytest.mark.parametrize("args", [["--workers", "-3"], ["--workers", "0"], ["--max-upload-mb", "-1"],
                                  ["--port", "99999"], ["--retention-days", "nan"]])
def test_serve_options(capsys, args):
    pytest.importorskip("fastapi")
    assert main(["serve", *args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("avemotion: error:")


def test_os_errors_are_named_not_unexpected():
    from pathlib import Path

    from avemotion.batch import as_error

    err = as_error(PermissionError(13, "Permission denied", "/out/x/result.json"), Path("a.mp4"))
    assert str(err) == "a.mp4: permission denied (/out/x/result.json)"
    assert "unexpected" in str(as_error(RuntimeError("boom"), Path("a.mp4")))


@pytest.mark.parametrize("case", ["out_is_a_file", "live_smooth_0", "annotate_txt", "annotate_folder"])
def test_the_reported_tracebacks_are_one_line_errors(capsys, tmp_path, case):
    from .conftest import CLIPS, need

    clip = need(CLIPS / "single_face.jpg")
    (tmp_path / "taken").write_text("a file")
    (tmp_path / "folder.png").mkdir()
    argv = {"out_is_a_file": ["analyze", str(clip), str(clip), "--out", str(tmp_path / "taken")],
            "live_smooth_0": ["live", "--source", str(clip), "--smooth", "0", "--max-frames", "1"],
            "annotate_txt": ["face", str(clip), "--annotate", str(tmp_path / "out.txt")],
            "annotate_folder": ["face", str(clip), "--annotate", str(tmp_path / "folder.png")]}[case]
    assert main(argv) in (1, 2)
    err = capsys.readouterr().err.strip().splitlines()
    assert err and err[-1].startswith("avemotion: error:") and not any("Traceback" in line for line in err), err


@pytest.mark.parametrize("args", [["--onnx", "speech", "--adapt-segments", "0"], ["--protocol", "loco", "--mixup", "3"],
                                  ["--mixup", "nan"]])
def test_evaluate_options_are_one_line_errors(capsys, tmp_path, args):
    assert main(["evaluate", "speech", str(tmp_path), *args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("avemotion: error:")


@pytest.mark.parametrize(("module", "extra"), [("matplotlib", "plots"), ("ray", "ray"), ("torch", "train"),
                                               ("pandas", "dataframe"), ("fastapi", "server")])
def test_a_missing_module_names_the_extra_that_brings_it(module, extra, capsys, monkeypatch):
    import avemotion.cli as cli

    def missing(args):
        raise ModuleNotFoundError(f"No module named '{module}'", name=module)

    monkeypatch.setattr(cli.models, "run", missing)
    assert cli.main(["models"]) == 2
    err = capsys.readouterr().err
    assert f"pip install 'avemotion[{extra}]'" in err and len(err.strip().splitlines()) == 1
