"""The web app and REST API: jobs, files, limits, restarts, concurrency, the page in Chromium."""

import json
import re
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
httpx = pytest.importorskip("httpx")

from .conftest import CLIPS, need, need_chromium, voice_like
from .test_analyze import write_video


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`avemotion serve` in a subprocess on a free port (the real thing: uvicorn, threads, SQLite)."""

    def __init__(self, data: Path, *extra: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.args = [sys.executable, "-m", "avemotion.cli", "serve", "--port", str(self.port), "--data-dir",
                     str(data), *extra]
        self.proc = None

    def start(self) -> "Server":
        self.proc = subprocess.Popen(self.args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                if httpx.get(f"{self.url}/v1/health", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.2)
        raise RuntimeError("server did not start")

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def server(tmp_path):
    s = Server(tmp_path / "data").start()
    yield s
    s.stop()


def submit(url: str, path: Path, name: str | None = None, **form) -> httpx.Response:
    with open(path, "rb") as f:
        return httpx.post(f"{url}/v1/analyze", files={"file": (name or path.name, f)},
                          data={k: str(v) for k, v in form.items()}, timeout=60)


def wait(url: str, job_id: str, timeout: float = 120) -> dict:
    deadline = time.time() + timeout
    while time.time() < deadline:
        job = httpx.get(f"{url}/v1/jobs/{job_id}", timeout=10).json()
        if job["status"] in ("done", "failed"):
            return job
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} not finished in {timeout} s")


@pytest.fixture
def clip(tmp_path):
    return write_video(tmp_path / "talk.mp4", 2.0, audio=voice_like(2.0))


# -- the API ----------------------------------------------------------------------------------


def test_upload_poll_and_fetch_every_file(server, clip):
    r = submit(server.url, clip, window=0.5)
    assert r.status_code == 202
    job_id = r.json()["id"]
    job = wait(server.url, job_id)
    assert job["status"] == "done" and job["progress"] == 1.0 and job["filename"] == "talk.mp4"
    result = httpx.get(f"{server.url}/v1/jobs/{job_id}/result").json()
    assert result["path"] == "talk.mp4" and result["config"]["window"] == 0.5
    assert result["status"] == {"face": "no face", "voice": "no speech"}
    csv = httpx.get(f"{server.url}/v1/jobs/{job_id}/timeline.csv")
    assert csv.status_code == 200 and csv.text.startswith("start,end")
    mp4 = httpx.get(f"{server.url}/v1/jobs/{job_id}/annotated.mp4")
    assert mp4.status_code == 200 and mp4.headers["content-type"] == "video/mp4" and len(mp4.content) > 1000
    assert httpx.get(f"{server.url}/v1/jobs/{'0' * 32}").status_code == 404
    assert httpx.get(f"{server.url}/v1/jobs/..%2F..%2Fetc").status_code == 404
    assert any(j["id"] == job_id for j in httpx.get(f"{server.url}/v1/jobs").json())


def test_health_docs_and_page_work_offline(server):
    h = httpx.get(f"{server.url}/v1/health").json()
    assert h["status"] == "ok" and h["workers"] == 1
    docs = httpx.get(f"{server.url}/docs").text
    assert "/swagger/swagger-ui-bundle.js" in docs and "cdn" not in docs.lower()
    assert httpx.get(f"{server.url}/swagger/swagger-ui-bundle.js").status_code == 200
    assert "/v1/analyze" in httpx.get(f"{server.url}/openapi.json").json()["paths"]
    page = httpx.get(f"{server.url}/").text
    assert "/static/app.js" in page and "http" not in page.replace("http-equiv", "")
    js = httpx.get(f"{server.url}/static/app.js").text
    assert "getUserMedia" in js and "WebSocket" in js
    assert set(re.findall(r"https?://[^\"'\s`]+", js)) <= {"http://www.w3.org/2000/svg"}  # an XML namespace, not a fetch
    assert httpx.get(f"{server.url}/static/app.css").status_code == 200


def test_oversized_non_media_and_hostile_names(tmp_path):
    data = tmp_path / "data"
    s = Server(data, "--max-upload-mb", "0.05").start()
    try:
        big = tmp_path / "big.wav"
        big.write_bytes(b"\0" * 200_000)
        r = submit(s.url, big)
        assert r.status_code == 413 and "too large" in r.json()["detail"]
        text = tmp_path / "notes.mp4"
        text.write_text("this is not a video")
        r = submit(s.url, text)
        assert r.status_code == 415 and "notes.mp4" in r.json()["detail"]
        r = submit(s.url, write_video(tmp_path / "ok.mp4", 0.5), name="../../etc/passwd")
        assert r.status_code == 202
        job = wait(s.url, r.json()["id"])
        assert job["filename"] == "passwd" and job["status"] == "done"
        r = submit(s.url, write_video(tmp_path / "ok2.mp4", 0.5), window="-1")
        assert r.status_code == 422
        r = submit(s.url, write_video(tmp_path / "ok3.mp4", 0.5), weights=str(data / "jobs.sqlite"))
        assert r.status_code == 422 and "face=0.6" in r.json()["detail"]  # a form field never names a server file
    finally:
        s.stop()
    written = {p.resolve() for p in tmp_path.rglob("*")}
    assert all(p.is_relative_to(tmp_path.resolve()) for p in written)
    assert not (tmp_path / "etc").exists() and not list(data.parent.glob("passwd"))
    assert sorted(p.suffix for p in (data / "uploads").iterdir()) == [".bin"]  # stored under a generated name


def test_restart_in_the_middle_of_a_job_loses_nothing(tmp_path):
    data = tmp_path / "data"
    s = Server(data).start()
    first = submit(s.url, write_video(tmp_path / "short.mp4", 0.5)).json()["id"]
    assert wait(s.url, first)["status"] == "done"
    long_clip = write_video(tmp_path / "long.mp4", 40.0, fps=25, audio=voice_like(40.0))
    job_id = submit(s.url, long_clip).json()["id"]
    deadline = time.time() + 60
    while httpx.get(f"{s.url}/v1/jobs/{job_id}").json()["status"] != "running" and time.time() < deadline:
        time.sleep(0.05)
    s.kill()  # SIGKILL: no clean shutdown
    s = Server(data).start()
    try:
        job = wait(s.url, job_id)
        assert job["status"] == "done" or (job["status"] == "failed" and job["error"])
        assert job["status"] == "done" and job["note"].startswith("resumed after a server restart")
        assert httpx.get(f"{s.url}/v1/jobs/{first}/result").status_code == 200  # earlier results still served
    finally:
        s.stop()


def test_twenty_concurrent_uploads_all_complete(tmp_path):
    source = CLIPS / "single_face.mp4"
    clip = source if source.exists() else write_video(tmp_path / "c.mp4", 1.0, audio=voice_like(1.0))
    s = Server(tmp_path / "data", "--workers", "2").start()
    try:
        t0 = time.time()
        with ThreadPoolExecutor(20) as pool:
            ids = [r.json()["id"] for r in pool.map(lambda i: submit(s.url, clip, name=f"c{i}.mp4"), range(20))]
        jobs = [wait(s.url, i, timeout=240) for i in ids]
        assert time.time() - t0 < 240
        assert [j["status"] for j in jobs] == ["done"] * 20
        results = [httpx.get(f"{s.url}/v1/jobs/{i}/result").json() for i in ids]
        assert len({json.dumps(r["summary"], sort_keys=True) for r in results}) == 1  # the same answer each time
        assert {r["path"] for r in results} == {f"c{i}.mp4" for i in range(20)}
    finally:
        s.stop()


def test_live_websocket_returns_faces(tmp_path):
    from fastapi.testclient import TestClient

    from avemotion.server import ServerConfig, create_app

    app = create_app(ServerConfig(data_dir=tmp_path / "data", allowed_hosts=["testserver"]))
    jpg = need(CLIPS / "single_face.jpg").read_bytes()
    with TestClient(app) as client, client.websocket_connect("/v1/live") as ws:
        ws.send_bytes(jpg)
        out = ws.receive_json()
        assert len(out["faces"]) == 1 and out["label"] and out["state"]
        ws.send_bytes(b"not an image")
        assert "error" in ws.receive_json()
        ws.send_text("hello")  # a text frame and an empty one: an error message, the connection stays
        assert "binary" in ws.receive_json()["error"]
        ws.send_bytes(b"")
        assert "binary" in ws.receive_json()["error"]
        ws.send_bytes(jpg)
        assert len(ws.receive_json()["faces"]) == 1


# -- the page in a browser ----------------------------------------------------------------------


def test_page_end_to_end_in_headless_chromium(server, tmp_path):
    chromium = need_chromium()
    playwright = pytest.importorskip("playwright.sync_api")
    clip = need(CLIPS / "face_noface.mov")
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-background-networking"])
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        page.goto(server.url)
        page.set_input_files("#file", str(clip))
        page.wait_for_selector("#result:not([hidden])", timeout=120_000)
        assert page.inner_text("#label") in {"happy", "neutral"}
        assert page.locator("#summary tr").count() == 9  # header + 7 face emotions + calm
        assert page.locator("#timeline-svg .fused-line").count() == 7
        page.hover("#timeline-svg", position={"x": 200, "y": 100})
        assert "fused" in page.inner_text("#tooltip")
        shot = tmp_path / "screenshots" / "web.png"
        shot.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(shot), full_page=True)
        browser.close()
    assert shot.stat().st_size > 10_000


def test_serve_refuses_nothing_silently_without_the_extra(monkeypatch, capsys):
    import builtins

    from avemotion.cli import main

    real = builtins.__import__

    def no_fastapi(name, *a, **k):
        if name == "fastapi":
            raise ImportError(name)
        return real(name, *a, **k)

    monkeypatch.setattr(builtins, "__import__", no_fastapi)
    assert main(["serve"]) == 2
    assert "server extra" in capsys.readouterr().err



def test_retention_deletes_old_finished_jobs_with_their_files(tmp_path):
    from avemotion.jobs import Jobs
    from avemotion.server import ServerConfig

    jobs = Jobs(ServerConfig(data_dir=tmp_path / "data", retention_days=1))
    for job_id, age_days, status in (("a" * 32, 3, "done"), ("b" * 32, 0.1, "done"), ("c" * 32, 3, "queued")):
        (jobs.uploads / f"{job_id}.mp4").write_bytes(b"x")
        jobs.result_dir(job_id).mkdir()
        jobs.store.add(job_id, "x.mp4", f"{job_id}.mp4", {})
        jobs.store.update(job_id, status=status, finished=time.time() - age_days * 86400)
    assert jobs.clean() == 1
    assert jobs.store.get("a" * 32) is None and not jobs.result_dir("a" * 32).exists()
    assert not (jobs.uploads / f"{'a' * 32}.mp4").exists()
    assert jobs.store.get("b" * 32) and jobs.store.get("c" * 32)  # recent, or not finished: kept


def test_safe_names():
    from avemotion.jobs import safe_name

    assert safe_name("../../etc/passwd") == "passwd"
    assert safe_name("C:\\\\Users\\\\me\\\\clip.mp4") == "clip.mp4"
    assert safe_name("") == "upload" and safe_name("..") == "upload"
    assert "/" not in safe_name("a/b<script>.mp4")


# -- who may talk to the server -------------------------------------------------------------------


# -- failed jobs, unfinished results, recovery (in process) --------------------------------------


def test_failed_job_reports_its_reason_and_an_unfinished_result_is_409(tmp_path, monkeypatch):
    import threading

    from fastapi.testclient import TestClient

    import avemotion.steps as batch
    from avemotion.errors import AvemotionError
    from avemotion.server import ServerConfig, create_app

    release = threading.Event()

    def fake_analysis(va, upload, out, filename, annotate=True, progress=None):
        release.wait(30)
        if filename.startswith("bad"):
            raise AvemotionError("cannot be decoded past 0.4 s", filename)
        return batch.analyze_upload.__wrapped__(va, upload, out, filename, annotate, progress)

    fake_analysis.__wrapped__ = batch.analyze_upload
    monkeypatch.setattr(batch, "analyze_upload", fake_analysis)
    clip = write_video(tmp_path / "c.mp4", 0.5)
    app = create_app(ServerConfig(data_dir=tmp_path / "data", annotate=False))
    with TestClient(app, base_url="http://127.0.0.1") as client:  # a loopback Host, as the guard wants
        def post(name):
            with open(clip, "rb") as f:
                return client.post("/v1/analyze", files={"file": (name, f)}).json()["id"]

        bad, good = post("bad.mp4"), post("good.mp4")
        for job_id in (bad, good):  # running or queued: not done yet
            r = client.get(f"/v1/jobs/{job_id}/result")
            assert r.status_code == 409 and f"job {job_id} is " in r.json()["detail"]
        release.set()
        deadline = time.time() + 60
        while time.time() < deadline and {client.get(f"/v1/jobs/{j}").json()["status"] for j in (bad, good)} - \
                {"done", "failed"}:
            time.sleep(0.1)
        failed = client.get(f"/v1/jobs/{bad}").json()
        assert failed["status"] == "failed" and failed["error"] == "cannot be decoded past 0.4 s"
        r = client.get(f"/v1/jobs/{bad}/result")
        assert r.status_code == 409 and r.json()["detail"] == f"job {bad} is failed: cannot be decoded past 0.4 s"
        assert client.get(f"/v1/jobs/{good}").json()["status"] == "done"
        assert client.get(f"/v1/jobs/{good}/result").status_code == 200


def test_recover_requeues_jobs_with_uploads_and_fails_those_without(tmp_path):
    from avemotion.jobs import Jobs
    from avemotion.server import ServerConfig

    jobs = Jobs(ServerConfig(data_dir=tmp_path / "data"))
    for job_id, status in (("q1", "queued"), ("r1", "running"), ("gone", "running"), ("d1", "done")):
        jobs.store.add(job_id, f"{job_id}.mp4", f"{job_id}.bin", {})
        jobs.store.update(job_id, status=status)
        if job_id != "gone":
            (jobs.uploads / f"{job_id}.bin").write_bytes(b"x")
    jobs.recover()
    get = jobs.store.get
    assert get("q1")["status"] == "queued" and get("q1")["note"] == "queued again after a server restart"
    assert get("r1")["status"] == "queued" and get("r1")["note"].startswith("resumed after a server restart")
    assert get("gone")["status"] == "failed"
    assert get("gone")["error"] == "the server stopped during this job and its upload is gone"
    assert get("d1")["status"] == "done"
    assert [jobs.queue.get_nowait() for _ in range(2)] == ["q1", "r1"]  # waiting jobs first, the running one last
    assert jobs.queue.empty()
