"""The hostile reproductions of issue 13: against a live `avemotion serve`, and the command line's.

Here: (1) options that would stall a worker, then a normal job in its usual time, and the order
of jobs after a restart; (2) decompression bombs: three uploads at once, one through `face` and
`analyze`, one as a live frame (memory under 1 GB above idle); (3) NaN, inf and absurd numbers in
every form field and weights string; (7) a long recording's memory; (8) chunked uploads over the
limit; (9) other sites, host names, a token. Elsewhere, by the same numbers: (3, 5) tracebacks and
option ranges in test_options.py; (4) batch collisions, (6) non-UTF-8 names, (8) partial decodes
and leftover temporary files in test_analyze.py; (8) rotation and audio tracks in test_media.py;
WebSocket text and empty frames in test_server.py; damaged files in test_fuzz.py.
"""

import json
import os
import socket
import time
from pathlib import Path

import httpx
import numpy as np
import pytest

from .test_analyze import write_video
from .conftest import voice_like
from .test_server import Server, submit, wait

pytest.importorskip("fastapi")

BAD_FORMS = [
    {"window": "1e-7"}, {"fps": "1e-9"}, {"fps": "nan"}, {"fps": "inf"}, {"window": "nan"}, {"window": "-1"},
    {"window": "0.0001"}, {"window": "inf"}, {"fps": "1e400"}, {"fusion": "nonsense"},
    {"weights": "face=inf,voice=1"}, {"weights": "face=nan,voice=1"}, {"weights": "face=1e400,voice=1"},
    {"weights": "face=-1,voice=1"}, {"weights": "face=0,voice=0"}, {"weights": "[1,2]"}, {"weights": '{"weights": 5}'},
]


@pytest.fixture
def clip(tmp_path):
    return write_video(tmp_path / "talk.mp4", 2.0, audio=voice_like(2.0))


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    s = Server(tmp_path_factory.mktemp("hostile") / "data").start()
    yield s
    s.stop()


@pytest.mark.parametrize("form", BAD_FORMS, ids=lambda f: ",".join(f"{k}={v}" for k, v in f.items()))
def test_absurd_numbers_are_refused_at_the_door(server, tmp_path, form):
    r = submit(server.url, write_video(tmp_path / "v.mp4", 0.5), **form)
    assert r.status_code == 422, (form, r.status_code, r.text[:200])
    detail = r.json()["detail"]
    assert isinstance(detail, str) and "\n" not in detail and len(detail) < 300


def test_after_hostile_requests_a_normal_job_takes_its_usual_time(server, tmp_path):
    ok = write_video(tmp_path / "ok.mp4", 1.0)
    for form in BAD_FORMS:
        submit(server.url, ok, **form)
    t0 = time.time()
    job = wait(server.url, submit(server.url, ok).json()["id"], timeout=60)
    assert job["status"] == "done" and time.time() - t0 < 30
    text = httpx.get(f"{server.url}/v1/jobs/{job['id']}/result", timeout=10).text
    json.loads(text, parse_constant=lambda c: pytest.fail(f"{c} in result.json"))
    assert httpx.get(f"{server.url}/v1/health", timeout=5).json()["queued"] == 0


# -- (9) other sites, host names, a token ----------------------------------------------------------


def test_other_sites_and_host_names_are_refused_the_page_works(server, clip):
    own = server.url
    with open(clip, "rb") as f:  # a cross-site form post from a page on another site
        r = httpx.post(f"{own}/v1/analyze", files={"file": ("x.mp4", f)}, headers={"Origin": "http://evil.example"})
    assert r.status_code == 403 and "evil.example" in r.json()["detail"]
    assert httpx.get(f"{own}/v1/jobs", headers={"Origin": "http://evil.example"}).status_code == 403
    # DNS rebinding: a name of the attacker's that resolves to 127.0.0.1
    assert httpx.get(f"{own}/v1/jobs", headers={"Host": f"evil.example:{server.port}"}).status_code == 400
    # the page itself (same origin), and clients that send no Origin, work
    with open(clip, "rb") as f:
        r = httpx.post(f"{own}/v1/analyze", files={"file": ("x.mp4", f)}, headers={"Origin": own})
    assert r.status_code == 202
    assert httpx.get(f"{own}/", headers={"Host": f"localhost:{server.port}"}).status_code == 200
    assert submit(own, clip).status_code == 202


def test_a_websocket_from_another_site_is_closed(tmp_path):
    from fastapi.testclient import TestClient
    from starlette.websockets import WebSocketDisconnect

    from avemotion.server import ServerConfig, create_app

    with TestClient(create_app(ServerConfig(data_dir=tmp_path / "data", allowed_hosts=["testserver"]))) as client:
        with pytest.raises(WebSocketDisconnect):
            with client.websocket_connect("/v1/live", headers={"Origin": "http://evil.example"}) as ws:
                ws.receive_json()
        with client.websocket_connect("/v1/live", headers={"Origin": "http://testserver"}) as ws:
            ws.send_text("hi")
            assert "error" in ws.receive_json()


def test_a_token_when_one_is_set(tmp_path, clip):
    s = Server(tmp_path / "data", "--token", "s3cret").start()
    try:
        assert httpx.get(f"{s.url}/v1/jobs").status_code == 401
        assert httpx.get(f"{s.url}/v1/jobs", headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert httpx.get(f"{s.url}/v1/jobs", headers={"Authorization": "Bearer s3cret"}).status_code == 200
        with httpx.Client(base_url=s.url) as browser:  # opening /?token=... once sets the cookie
            assert browser.get("/?token=s3cret", follow_redirects=True).status_code == 200
            assert browser.get("/v1/jobs").status_code == 200
    finally:
        s.stop()


def test_a_chunked_upload_over_the_limit_is_refused_while_it_streams(tmp_path):
    """No Content-Length to check first: the 413 must come while the body is still arriving."""
    s = Server(tmp_path / "data", "--max-upload-mb", "1").start()
    try:
        sock = socket.create_connection(("127.0.0.1", s.port), timeout=10)
        boundary = "x" * 16
        head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.mp4\"\r\n"
                "Content-Type: video/mp4\r\n\r\n").encode()
        sock.sendall((f"POST /v1/analyze HTTP/1.1\r\nHost: 127.0.0.1:{s.port}\r\nTransfer-Encoding: chunked\r\n"
                      f"Content-Type: multipart/form-data; boundary={boundary}\r\n\r\n").encode())
        sock.sendall(f"{len(head):x}\r\n".encode() + head + b"\r\n")
        sent, answer = 0, b""
        chunk = os.urandom(256 * 1024)
        sock.setblocking(False)
        while sent < 200 * 1024 * 1024 and not answer:
            try:
                sock.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                sent += len(chunk)
            except (BlockingIOError, BrokenPipeError, ConnectionResetError):
                time.sleep(0.01)
            try:
                answer = sock.recv(4096)
            except BlockingIOError:
                pass
            except ConnectionResetError:
                break
        sock.close()
        assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
        assert sent < 20 * 1024 * 1024  # refused after about the limit, not after the 200 MB
        assert not list((tmp_path / "data" / "uploads").iterdir())  # nothing left behind
    finally:
        s.stop()


def _peak_mb(pid: int) -> float:
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads the server's peak memory from /proc")
def test_three_decompression_bombs_at_once_cost_the_server_little(tmp_path, clip):
    import concurrent.futures

    import cv2

    import avemotion

    side = int(np.sqrt(avemotion.MAX_IMAGE_PIXELS)) + 100  # 11,054 px square: 366 MB once decoded in colour
    ok, buf = cv2.imencode(".png", np.zeros((side, side), np.uint8), [cv2.IMWRITE_PNG_COMPRESSION, 9])
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(buf.tobytes())
    s = Server(tmp_path / "data").start()
    try:
        idle = _peak_mb(s.proc.pid)
        with concurrent.futures.ThreadPoolExecutor(3) as pool:
            answers = list(pool.map(lambda _: submit(s.url, bomb), range(3)))
        assert [a.status_code for a in answers] == [415] * 3 and "too large" in answers[0].json()["detail"]
        assert _peak_mb(s.proc.pid) - idle < 1024
        t0 = time.time()
        job = wait(s.url, submit(s.url, clip).json()["id"])  # a normal job after them: its usual time
        assert job["status"] == "done" and time.time() - t0 < 60
    finally:
        s.stop()


def test_after_a_restart_waiting_jobs_go_before_the_one_that_was_running(tmp_path):
    from avemotion.jobs import Jobs
    from avemotion.server import ServerConfig

    jobs = Jobs(ServerConfig(data_dir=tmp_path / "data"))
    for job_id, status in (("a" * 32, "running"), ("b" * 32, "queued"), ("c" * 32, "queued")):
        (jobs.uploads / f"{job_id}.mp4").write_bytes(b"x")
        jobs.store.add(job_id, "f.mp4", f"{job_id}.mp4", {})
        jobs.store.update(job_id, status=status)
        time.sleep(0.01)
    jobs.recover()
    order = [jobs.queue.get_nowait() for _ in range(3)]
    assert order == ["b" * 32, "c" * 32, "a" * 32]  # a running job may be what stopped the server
    assert jobs.store.get("a" * 32)["note"].startswith("resumed after a server restart")


# -- (2) decompression bombs through the command line and the live WebSocket --------------------------


def _bomb(tmp_path) -> Path:
    import cv2

    import avemotion

    side = int(np.sqrt(avemotion.MAX_IMAGE_PIXELS)) + 100
    ok, buf = cv2.imencode(".png", np.zeros((side, side), np.uint8), [cv2.IMWRITE_PNG_COMPRESSION, 9])
    path = tmp_path / "bomb.png"
    path.write_bytes(buf.tobytes())
    return path


from .test_hostile_input import peak_of as _peak_of  # noqa: E402 (the child's own peak, VmHWM)


@pytest.mark.skipif(os.name != "posix", reason="ru_maxrss in kilobytes is Linux's")
def test_a_bomb_through_the_command_line_costs_little(tmp_path):
    bomb = _bomb(tmp_path)
    _, idle = _peak_of()
    for argv in (("face", bomb), ("analyze", bomb, "--out", tmp_path / "out")):
        code, peak = _peak_of(*argv)
        assert code != 0 and peak - idle < 1024, (argv[0], code, peak, idle)
    assert "too large" in json.loads((tmp_path / "out" / "error.json").read_text())["error"]


def test_a_bomb_sent_as_a_live_frame_is_refused_and_the_socket_goes_on(tmp_path):
    from fastapi.testclient import TestClient

    from avemotion.server import ServerConfig, create_app

    from .conftest import CLIPS, need

    jpg = need(CLIPS / "single_face.jpg").read_bytes()
    with TestClient(create_app(ServerConfig(data_dir=tmp_path / "data", allowed_hosts=["testserver"]))) as client:
        with client.websocket_connect("/v1/live") as ws:
            ws.send_bytes(_bomb(tmp_path).read_bytes())
            assert "error" in ws.receive_json()
            ws.send_bytes(jpg)
            assert len(ws.receive_json()["faces"]) == 1


# -- (7) memory does not grow with the recording's length ----------------------------------------------


@pytest.mark.skipif(os.name != "posix", reason="ru_maxrss in kilobytes is Linux's")
def test_a_twenty_minute_recording_is_analysed_in_little_memory(tmp_path):
    """20 min of 48 kHz stereo (230 MB as 16-bit WAV; 460 MB as float32 decoded whole, 850 MB with
    the copies the old path made): streamed, `avemotion speech` stays far below."""
    import soundfile as sf

    wav = tmp_path / "long.wav"
    voice = np.concatenate([voice_like(3.0, sr=48000), np.zeros(48000, np.float32)])
    with sf.SoundFile(str(wav), "w", 48000, 2, subtype="PCM_16") as out:
        for _ in range(20 * 60 // 4):
            out.write(np.stack([voice, 0.5 * voice], axis=1))
    _, idle = _peak_of()
    code, peak = _peak_of("speech", wav, "--json")
    assert code == 0 and peak - idle < 300, (peak, idle)
