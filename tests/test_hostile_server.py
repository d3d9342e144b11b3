"""The hostile reproductions of issue 13 that go through `avemotion serve`, against a live server.

Each numbered case of the report is here or named beside it: (1) an option that would stall a
worker, then a normal job; (3) NaN, inf and absurd numbers in every form field and weights
string; (2) decompression bombs, three at once, and (9) other sites and host names are in
tests/test_server.py; (4–8) batch collisions, tracebacks, non-UTF-8 names, long audio, rotation,
audio tracks, partial decodes and temp files are in test_analyze.py, test_options.py,
test_media.py, test_speech_cli.py and test_fuzz.py.
"""

import json
import time

import httpx
import pytest

from .test_analyze import write_video
from .test_server import Server, submit, wait

pytest.importorskip("fastapi")

BAD_FORMS = [
    {"window": "1e-7"}, {"fps": "1e-9"}, {"fps": "nan"}, {"fps": "inf"}, {"window": "nan"}, {"window": "-1"},
    {"window": "0.0001"}, {"fps": "1e400"}, {"fusion": "nonsense"},
    {"weights": "face=inf,voice=1"}, {"weights": "face=nan,voice=1"}, {"weights": "face=1e400,voice=1"},
    {"weights": "face=-1,voice=1"}, {"weights": "face=0,voice=0"}, {"weights": "[1,2]"}, {"weights": '{"weights": 5}'},
]


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
    clip = write_video(tmp_path / "ok.mp4", 1.0)
    for form in BAD_FORMS:
        submit(server.url, clip, **form)
    t0 = time.time()
    job = wait(server.url, submit(server.url, clip).json()["id"], timeout=60)
    assert job["status"] == "done" and time.time() - t0 < 30
    text = httpx.get(f"{server.url}/v1/jobs/{job['id']}/result", timeout=10).text
    json.loads(text, parse_constant=lambda c: pytest.fail(f"{c} in result.json"))
    assert httpx.get(f"{server.url}/v1/health", timeout=5).json()["queued"] == 0
