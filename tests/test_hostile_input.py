"""Hostile input, round two (issue 25): one test per numbered defect, by its number.

(17), the batch's closing line when every file was skipped, is in test_batch.py; (7), speaker
adaptation of two voices, in test_speech_cli.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest


from .conftest import CLIPS, need, voice_like
from .test_analyze import run, write_video


def png(path: Path, side: int) -> Path:
    import cv2

    ok, buf = cv2.imencode(".png", np.zeros((side, side), np.uint8), [cv2.IMWRITE_PNG_COMPRESSION, 9])
    path.write_bytes(buf.tobytes())
    return path


#: The child's own peak: VmHWM belongs to its address space, while ru_maxrss survives exec and would
#: carry the parent's peak (this test process just held 16,000² frames to write the video).
PEAK = """
import resource, sys
from avemotion.cli import main
code = main(sys.argv[1:]) if len(sys.argv) > 1 else 0
try:
    kb = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
except OSError:
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print("PEAK", code, kb // 1024)
"""


def peak_of(*argv) -> tuple[int, int]:
    done = subprocess.run([sys.executable, "-c", PEAK, *map(str, argv)], capture_output=True, text=True, timeout=280)
    line = next(x for x in done.stdout.splitlines() if x.startswith("PEAK"))
    _, code, mb = line.split()
    return int(code), int(mb)


def big_frame_video(path: Path, side: int = 16_000, frames: int = 3) -> Path:
    """A small .mov of PNG-coded frames of side x side (a few hundred KB; 768 MB a frame decoded)."""
    import av

    with av.open(str(path), "w") as out:
        s = out.add_stream("png", rate=1)
        s.width = s.height = side
        s.pix_fmt = "gray"
        for _ in range(frames):
            for packet in s.encode(av.VideoFrame.from_ndarray(np.zeros((side, side), np.uint8), format="gray")):
                out.mux(packet)
        for packet in s.encode():
            out.mux(packet)
    return path


# -- (1), (2), (11): one decoding budget for every path -----------------------------------------------


def test_image_header_sizes_are_read_without_decoding(tmp_path):
    import cv2

    from avemotion.media import image_header_size

    img = np.zeros((37, 53, 3), np.uint8)
    for ext in (".png", ".jpg", ".bmp", ".webp"):
        ok, buf = cv2.imencode(ext, img)
        assert image_header_size(buf.tobytes()) == (53, 37), ext
    assert image_header_size(b"not an image at all") is None


def test_a_large_jpeg_is_decoded_shrunk_and_a_large_png_refused(tmp_path):
    import cv2

    from avemotion.errors import MediaError
    from avemotion.media import MAX_DECODED_PIXELS, read_image

    side = int(np.sqrt(MAX_DECODED_PIXELS)) + 500
    big = np.zeros((side, side, 3), np.uint8)
    cv2.circle(big, (side // 2, side // 2), side // 4, (255, 255, 255), -1)
    cv2.imwrite(str(tmp_path / "big.jpg"), big)
    shrunk = read_image(tmp_path / "big.jpg")
    assert shrunk.shape == (side // 2, side // 2, 3) or shrunk.shape == ((side + 1) // 2, (side + 1) // 2, 3)
    cv2.imwrite(str(tmp_path / "big.png"), big[:, :, 0])
    with pytest.raises(MediaError, match="too large to decode.*over the decoding budget"):
        read_image(tmp_path / "big.png")


def test_video_frames_over_the_budget_are_refused_before_decoding(tmp_path, capsys):
    video = big_frame_video(tmp_path / "huge.mov")
    assert video.stat().st_size < 5_000_000
    code, peak = peak_of("analyze", video, "--out", tmp_path / "out")
    assert code != 0 and peak < 400, peak
    error = json.loads((tmp_path / "out" / "error.json").read_text())["error"]
    assert "video frames too large to decode" in error


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads the server's memory from /proc")
def test_many_live_clients_and_huge_uploads_stay_within_a_gigabyte(tmp_path):
    import concurrent.futures

    pytest.importorskip("fastapi")
    import httpx
    from websockets.sync.client import connect

    from .test_hostile_server import _peak_mb
    from .test_server import Server, submit, wait

    frame = png(tmp_path / "frame.png", 10_900).read_bytes()  # 119 MP, under the 120-MP header limit
    video = big_frame_video(tmp_path / "huge.mov")
    s = Server(tmp_path / "data").start()
    try:
        idle = _peak_mb(s.proc.pid)

        def live_client(_):
            with connect(f"ws://127.0.0.1:{s.port}/v1/live", open_timeout=30) as ws:
                ws.send(frame)
                return json.loads(ws.recv(timeout=120))

        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            answers = list(pool.map(live_client, range(4)))
        assert all("too large to decode" in a["error"] for a in answers), answers
        with concurrent.futures.ThreadPoolExecutor(3) as pool:
            uploads = list(pool.map(lambda _: submit(s.url, video), range(3)))
        assert [u.status_code for u in uploads] == [415] * 3, [u.text for u in uploads]
        assert "too large to decode" in uploads[0].json()["detail"]
        assert _peak_mb(s.proc.pid) - idle < 1024
        t0 = time.time()
        job = wait(s.url, submit(s.url, write_video(tmp_path / "ok.mp4", 1.0)).json()["id"])
        assert job["status"] == "done" and time.time() - t0 < 60
        assert httpx.get(f"{s.url}/v1/health").status_code == 200
    finally:
        s.stop()


# -- (3), (8), (9), (10), (18): the token and host names ------------------------------------------------


def test_the_token_never_reaches_the_access_log_and_only_the_page_takes_it_from_the_url(tmp_path):
    pytest.importorskip("fastapi")
    import httpx
    from websockets.sync.client import connect

    from .test_server import free_port

    token = "s3cret-TOKEN-41"
    port = free_port()
    log = tmp_path / "server.log"
    with open(log, "w") as f:
        proc = subprocess.Popen([sys.executable, "-m", "avemotion.cli", "serve", "--port", str(port), "--data-dir",
                                 str(tmp_path / "data"), "--token", token], stdout=f, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                if httpx.get(f"{url}/v1/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        assert httpx.get(f"{url}/v1/jobs?token={token}").status_code == 401  # an API path takes no ?token=
        assert httpx.get(f"{url}/v1/jobs", headers={"Authorization": f"Bearer {token}"}).status_code == 200
        page = httpx.get(f"{url}/?token={token}&x=1")
        assert page.status_code == 303 and page.cookies.get("avemotion_token") == token
        assert httpx.get(f"{url}/v1/jobs?x=1&token=wrong").status_code == 401
        with pytest.raises(Exception):
            with connect(f"ws://127.0.0.1:{port}/v1/live?token={token}", open_timeout=10) as ws:
                ws.recv(timeout=5)
        # (8) a wrong ?token= never replaces a valid cookie
        with httpx.Client(base_url=url, cookies={"avemotion_token": token}) as client:
            r = client.get("/?token=wrong")
            assert r.status_code == 303 and "avemotion_token" not in r.headers.get("set-cookie", "")
            assert client.get("/v1/jobs").status_code == 200
    finally:
        proc.terminate()
        proc.wait(10)
    text = log.read_text()
    assert "GET /v1/jobs" in text and "/?x=1" in text  # the log is there, and the query is, without the token
    assert token not in text


def test_allowed_hosts_take_ports_off_and_bracketed_hosts_must_be_whole():
    from avemotion.errors import OptionError
    from avemotion.server import ServerConfig, _host_name

    assert ServerConfig(allowed_hosts=["Example.org:8443", "[::1]:80"]).allowed_hosts == ["example.org", "::1"]
    with pytest.raises(OptionError, match="--allow-host"):
        ServerConfig(allowed_hosts=["[::1]evil.example"])
    assert _host_name("[::1]:8000") == "::1" and _host_name("[::1]") == "::1"
    assert _host_name("[::1]evil.example") == "[::1]evil.example"  # (18) matches no allowed name


def test_host_name_with_a_port_is_allowed_and_a_disguised_loopback_is_not(tmp_path):
    from fastapi.testclient import TestClient

    from avemotion.server import ServerConfig, create_app

    app = create_app(ServerConfig(data_dir=tmp_path / "data", allowed_hosts=["media.example:8443"]))
    with TestClient(app, base_url="http://media.example:8443") as client:
        assert client.get("/v1/jobs").status_code == 200
    with TestClient(create_app(ServerConfig(data_dir=tmp_path / "d2")), base_url="http://127.0.0.1") as client:
        assert client.get("/v1/jobs", headers={"host": "[::1]evil.example"}).status_code == 400
        assert client.get("/v1/jobs", headers={"host": "[::1]:8000"}).status_code == 200


@pytest.mark.parametrize("token", ["pässwort", "two words", "\x07bell", " "])
def test_a_token_no_client_could_send_is_refused_at_start(token, capsys, tmp_path):
    pytest.importorskip("fastapi")
    code, _, err = run(capsys, "serve", "--token", token, "--data-dir", tmp_path / "d", "--port", "1")
    assert code == 2 and "token must be printable ASCII" in err and len(err.strip().splitlines()) == 1


# -- (4) --data-dir that cannot hold the jobs -----------------------------------------------------------


def test_serve_data_dir_on_a_file_is_one_line(tmp_path, capsys):
    pytest.importorskip("fastapi")
    (tmp_path / "afile").write_text("x")
    for where in (tmp_path / "afile", tmp_path / "afile" / "sub", Path("/proc/avemotion-data")):
        code, _, err = run(capsys, "serve", "--data-dir", where, "--port", "1")
        assert code != 0 and "cannot keep the server's jobs there" in err and len(err.strip().splitlines()) == 1


# -- (5) an audio file that cannot be decoded ----------------------------------------------------------


def test_analyze_on_an_undecodable_audio_file_says_so(tmp_path, capsys, write_wav):
    flac = write_wav("v.wav", voice_like(2.0))
    import soundfile as sf

    sf.write(tmp_path / "v.flac", voice_like(2.0), 16000)
    data = bytearray((tmp_path / "v.flac").read_bytes())
    rng = np.random.default_rng(0)
    for i in rng.integers(8, 100, 3):  # bit flips in the stream's header: it opens, its frames do not decode
        data[i] ^= 1 << int(rng.integers(8))
    (tmp_path / "flipped.flac").write_bytes(bytes(data))
    wav = bytearray(flac.read_bytes())
    wav[22:24] = (0).to_bytes(2, "little")  # zero channels
    (tmp_path / "nochannels.wav").write_bytes(bytes(wav))
    for name in ("flipped.flac", "nochannels.wav"):
        code_s, _, err_s = run(capsys, "speech", tmp_path / name)
        code_a, out_a, err_a = run(capsys, "analyze", tmp_path / name, "--out", tmp_path / "out" / name)
        assert code_s != 0 and code_a != 0, (name, err_s, out_a, err_a)
        assert "nothing to read" not in out_a and name in err_a and len(err_a.strip().splitlines()) == 1


# -- (6) EXIF orientation --------------------------------------------------------------------------------


def _with_orientation(jpeg: bytes, orientation: int) -> bytes:
    """A JPEG with an EXIF APP1 segment holding only the Orientation tag."""
    import struct

    tiff = b"MM\x00\x2a" + struct.pack(">I", 8) + struct.pack(">H", 1) + \
        struct.pack(">HHIHH", 0x0112, 3, 1, orientation, 0) + struct.pack(">I", 0)
    app1 = b"Exif\x00\x00" + tiff
    return jpeg[:2] + b"\xff\xe1" + struct.pack(">H", len(app1) + 2) + app1 + jpeg[2:]


def test_a_phone_photo_stored_sideways_is_read_upright(tmp_path):
    import cv2

    from avemotion.face.analyzer import FaceAnalyzer
    from avemotion.media import read_image

    upright = cv2.imread(str(need(CLIPS / "single_face.jpg")))
    sideways = cv2.rotate(upright, cv2.ROTATE_90_COUNTERCLOCKWISE)  # what the sensor stored
    ok, buf = cv2.imencode(".jpg", sideways, [cv2.IMWRITE_JPEG_QUALITY, 95])
    (tmp_path / "phone.jpg").write_bytes(_with_orientation(buf.tobytes(), 6))  # 6: turn 90° clockwise to view
    img = read_image(tmp_path / "phone.jpg")
    assert img.shape == upright.shape
    fa = FaceAnalyzer()
    up, phone = fa.analyze(upright), fa.analyze(img)
    assert len(phone) == len(up) == 1 and phone[0].score == pytest.approx(up[0].score, abs=0.05)


# -- (12), (13), (14), (15), (16): the command line --------------------------------------------------------


@pytest.mark.skipif(os.name != "posix", reason="FIFOs and /dev/zero are POSIX")
def test_a_fifo_or_a_device_is_named_as_such_and_never_blocks(tmp_path, capsys):
    fifo = tmp_path / "pipe.wav"
    os.mkfifo(fifo)
    for argv in (("speech", fifo), ("speech", "/dev/zero"), ("face", fifo), ("live", "--source", fifo, "--max-frames", 1)):
        code, _, err = run(capsys, *argv)
        assert code != 0 and ("named pipe (FIFO)" in err or "a device" in err), (argv, err)
        assert "empty" not in err


@pytest.mark.parametrize("argv", [("live", "--fps", "-1"), ("live", "--max-frames", "-5"), ("live", "--fps", "nan"),
                                  ("live", "--max-frames", "0")])
def test_live_refuses_nonsense_numbers(capsys, argv):
    code, _, err = run(capsys, *argv, "--source", "/nonexistent.mp4")
    assert code == 2 and ("--fps" in err or "--max-frames" in err) and len(err.strip().splitlines()) == 1


def test_face_annotate_where_it_cannot_be_written_says_why(tmp_path, capsys):
    photo = need(CLIPS / "single_face.jpg")
    (tmp_path / "afolder.png").mkdir()
    for target, why in ((tmp_path / "afolder.png", "a folder"), ("/proc/avemotion.png", "could not be written"),
                        (tmp_path / "x.txt", "use .png or .jpg")):
        code, _, err = run(capsys, "face", photo, "--annotate", target)
        assert code != 0 and why in err, (target, err)


def test_speech_plot_without_matplotlib_fails_before_the_analysis(capsys, monkeypatch, write_wav, tmp_path):
    import sys

    import avemotion.speech.analyzer as sa

    monkeypatch.setitem(sys.modules, "matplotlib", None)  # as if not installed, even if a test imported it
    called = []
    monkeypatch.setattr(sa.SpeechAnalyzer, "analyze", lambda *a, **k: called.append(1))
    code, _, err = run(capsys, "speech", write_wav("a.wav", voice_like(1.0)), "--plot", tmp_path / "out.png")
    assert code != 0 and "avemotion[plots]" in err and not called
