"""Extending avemotion from one file: a toy output format, a toy fusion rule and a toy face detector,
registered here alone, show up in `avemotion analyze --help`, the server's /v1/options and the outputs
of a run."""

import json

import pytest

from avemotion import fusion
from avemotion.face import detect
from avemotion.report import outputs

from .test_analyze import write_video


@pytest.fixture
def toys(monkeypatch):
    """A 'labels' output (one line per window: its fused label) and a 'face_first' fusion rule."""
    monkeypatch.setattr(outputs, "OUTPUTS", dict(outputs.OUTPUTS))
    monkeypatch.setitem(fusion.FUSION_RULES, "face_first",
                        lambda inputs, config=None: dict(inputs["face"].probabilities) if inputs["face"].probabilities
                        else fusion.weighted_average(inputs, config))

    def write_labels(result, path, context):
        path.write_text("".join(f"{w.start:g}\t{w.label or '-'}\n" for w in result.timeline), encoding="utf-8")

    outputs.register_output(outputs.Output("labels", "labels.tsv", write_labels, "the fused label of each window"))

    class WholeFrame:
        """A toy detector: the middle of every frame is a face."""

        name = "middle"
        margin = 0.0

        def detect(self, image):
            h, w = image.shape[:2]
            return [detect.Detection((w // 4, h // 4, w // 2, h // 2), 1.0)]

    monkeypatch.setattr(detect, "DETECTORS", dict(detect.DETECTORS))
    detect.register_detector(WholeFrame)


def test_a_toy_output_and_fusion_rule_appear_everywhere(toys, tmp_path, capsys):
    from avemotion.cli import main

    with pytest.raises(SystemExit):
        main(["analyze", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "labels" in help_text and "face_first" in help_text and "middle" in help_text

    clip = write_video(tmp_path / "v.mp4", 2.0)
    assert main(["analyze", str(clip), "--out", str(tmp_path / "o"), "--fusion", "face_first",
                 "--detector", "middle"]) == 0
    made = json.loads((tmp_path / "o" / "result.json").read_text())
    assert "labels.tsv" in made["outputs"] and made["config"]["fusion"] == "face_first"
    assert made["models"]["detector"] == "middle" and made["status"]["face"] == "ok"  # every frame has its face
    assert len((tmp_path / "o" / "labels.tsv").read_text().splitlines()) == len(made["timeline"])

    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from avemotion.server import ServerConfig, create_app

    with TestClient(create_app(ServerConfig(data_dir=tmp_path / "data", allowed_hosts=["testserver"]))) as client:
        options = client.get("/v1/options").json()
    by_name = {o["name"]: o for o in options["options"]}
    assert "labels" in options["outputs"] and "face_first" in by_name["fusion"]["choices"]
    assert "middle" in by_name["detector"]["choices"]
    assert by_name["fps"]["default"] == 5.0 and options["outputs"]["labels"]["file"] == "labels.tsv"


@pytest.fixture
def toy_option():
    """An analysis option declared here alone: every surface must show it, check it and carry it."""
    from avemotion.options import Option, register_option, unregister_option

    register_option(Option("toy_level", "a toy option declared by a test", kind="integer", default=3,
                           minimum=0, maximum=9))
    yield
    unregister_option("toy_level")


def test_a_toy_option_and_output_reach_every_surface(toys, toy_option, tmp_path, capsys):
    """One declaration each (tests/test_extensions.py): `analyze --help`, the run's config and outputs,
    the checks, the server's form, /v1/options, its links and its download route."""
    from avemotion.cli import main

    with pytest.raises(SystemExit):
        main(["analyze", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "--toy-level" in help_text and "a toy option declared by a test (default: 3)" in help_text
    clip = write_video(tmp_path / "v.mp4", 1.0)
    assert main(["analyze", str(clip), "--out", str(tmp_path / "o"), "--toy-level", "7", "--outputs", "labels"]) == 0
    made = json.loads((tmp_path / "o" / "result.json").read_text())
    assert made["config"]["toy_level"] == 7 and "labels.tsv" in made["outputs"]
    assert main(["analyze", str(clip), "--out", str(tmp_path / "p"), "--toy-level", "12"]) == 2
    assert "toy_level must be between 0 and 9, got '12'" in capsys.readouterr().err
    from avemotion.pipeline import analyze

    assert analyze(clip, toy_level=4).config["toy_level"] == 4

    pytest.importorskip("fastapi")
    import time

    from fastapi.testclient import TestClient

    from avemotion.server import ServerConfig, create_app

    app = create_app(ServerConfig(data_dir=tmp_path / "data", allowed_hosts=["testserver"], annotate=False))
    with TestClient(app) as client:
        options = {o["name"]: o for o in client.get("/v1/options").json()["options"]}
        assert options["toy_level"] == {"name": "toy_level", "kind": "integer", "default": 3, "minimum": 0,
                                        "maximum": 9, "help": "a toy option declared by a test"}
        form = client.get("/openapi.json").json()["components"]["schemas"]["Body_submit_v1_analyze_post"]
        assert "toy_level" in form["properties"]
        with open(clip, "rb") as f:
            refused = client.post("/v1/analyze", files={"file": ("v.mp4", f)}, data={"toy_level": "10"})
        assert refused.status_code == 422 and "toy_level" in refused.json()["detail"]
        with open(clip, "rb") as f:
            job = client.post("/v1/analyze", files={"file": ("v.mp4", f)}, data={"toy_level": "5"}).json()
        assert job["links"]["labels_tsv"] == f"/v1/jobs/{job['id']}/labels.tsv"
        deadline = time.time() + 120
        while client.get(f"/v1/jobs/{job['id']}").json()["status"] not in ("done", "failed") and time.time() < deadline:
            time.sleep(0.2)
        assert client.get(f"/v1/jobs/{job['id']}/result").json()["config"]["toy_level"] == 5
        labels = client.get(job["links"]["labels_tsv"])
        assert labels.status_code == 200 and labels.text.count("\n") >= 1
        assert client.get(f"/v1/jobs/{job['id']}/nothing.txt").status_code == 404


def test_a_fusion_rule_over_time_sees_every_window(toys, monkeypatch, tmp_path):
    """A rule marked over_time is called once with every window's inputs, and its list of
    distributions lands window by window, in order (here: window k gets a certainty of the
    k-th label, and is given nothing when the window before it had no face)."""
    from avemotion.pipeline import analyze

    calls = []

    @fusion.over_time
    def by_position(windows, options):
        calls.append([w["face"].probabilities is not None for w in windows])
        return [{lab: float(i == k % len(options.labels)) for i, lab in enumerate(options.labels)}
                if k == 0 or windows[k - 1]["face"].probabilities else None for k in range(len(windows))]

    monkeypatch.setitem(fusion.FUSION_RULES, "by_position", by_position)
    clip = write_video(tmp_path / "v.mp4", 3.0)
    r = analyze(clip, fusion="by_position", detector="middle")  # the toy detector: a face in every frame
    assert calls == [[True, True, True]]
    assert [w.label for w in r.timeline] == list(r.fused_labels[:3])
    assert r.summary["fused"] is not None and r.fused_labels == list(fusion.FusionOptions().labels)
