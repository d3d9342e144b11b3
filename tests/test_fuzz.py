"""Fuzzing: a few hundred damaged media files through `analyze_many` in one process.

Each file is a real or synthetic clip, photo or recording, cut short, bit-flipped, given a
scrambled header, a zeroed or repeated stretch, or trailing garbage. Every one must end as a
result or a one-line error — no traceback, no NaN in any result.json — with the process's peak
memory bounded, and the run reports how many inputs it tried.
"""

import json
import shutil
from pathlib import Path

import numpy as np

from .conftest import CLIPS, voice_like
from .test_analyze import write_video

MUTATIONS_PER_SOURCE = 40


def _sources(tmp_path) -> list:
    import cv2
    import soundfile as sf

    src = tmp_path / "sources"
    src.mkdir()
    made = [write_video(src / "talk.mp4", 2.0, audio=voice_like(2.0)), write_video(src / "clip.mkv", 1.0)]
    sf.write(src / "voice.wav", voice_like(2.0), 16000)
    sf.write(src / "voice.flac", voice_like(1.5, seed=3), 16000)
    image = np.random.default_rng(0).integers(0, 255, (120, 160, 3), dtype=np.uint8)
    cv2.imwrite(str(src / "photo.jpg"), image)
    cv2.imwrite(str(src / "photo.png"), image)
    made += [src / "voice.wav", src / "voice.flac", src / "photo.jpg", src / "photo.png"]
    for name in ("single_face.mp4", "multi_face.jpg", "face_noface.mov"):
        if (CLIPS / name).exists():
            made.append(shutil.copy(CLIPS / name, src / name))
    return made


def _mutate(data: bytes, rng: np.random.Generator) -> bytes:
    b = bytearray(data)
    kind = rng.integers(6)
    if kind == 0:  # cut short
        return bytes(b[: int(len(b) * rng.uniform(0.01, 0.95))])
    if kind == 1:  # bit flips
        for i in rng.integers(0, len(b), size=int(rng.integers(1, 40))):
            b[i] ^= 1 << int(rng.integers(8))
        return bytes(b)
    if kind == 2:  # a scrambled header
        n = min(len(b), int(rng.integers(4, 128)))
        b[:n] = rng.integers(0, 256, n, dtype=np.uint8).tobytes()
        return bytes(b)
    if kind == 3:  # a zeroed stretch
        a = int(rng.integers(0, len(b)))
        b[a:a + int(rng.integers(16, 4096))] = bytes(min(len(b) - a, 4096))[: len(b[a:a + 4096])]
        return bytes(b)
    if kind == 4:  # a repeated stretch
        a = int(rng.integers(0, len(b)))
        return bytes(b[:a] + b[a:a + 2048] * 3 + b[a:])
    return bytes(b) + rng.integers(0, 256, int(rng.integers(1, 5000)), dtype=np.uint8).tobytes()  # garbage after


def _no_nan(text: str):
    def refuse(constant):
        raise ValueError(f"{constant} in result.json")

    return json.loads(text, parse_constant=refuse)


#: Runs the batch in a fresh process, so that its peak memory is this batch's and no earlier test's:
#: the models are loaded and one file analysed before the baseline is taken.
CHILD = """
import json, resource, sys
from pathlib import Path
from avemotion.batch import analyze_many
from avemotion.pipeline import VideoAnalyzer


def peak_kb():  # this address space's own peak: ru_maxrss survives exec and would carry pytest's
    try:
        return next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


files = [Path(p) for p in json.loads(sys.argv[1])]
va = VideoAnalyzer()
va.analyze(files[0])
idle = peak_kb()
items = [item.to_dict() for item in analyze_many(files, sys.argv[2], outputs=["json", "csv", "png"], analyzer=va)]
peak = peak_kb()
print(json.dumps({"idle_kb": idle, "peak_kb": peak, "items": items}))
"""


def test_damaged_media_never_crash_the_batch(tmp_path, capsys):
    import subprocess
    import sys

    rng = np.random.default_rng(2026)
    fuzz = tmp_path / "fuzz"
    fuzz.mkdir()
    sources = _sources(tmp_path)
    files = []
    for source in sources:
        data = source.read_bytes()
        for k in range(MUTATIONS_PER_SOURCE):
            target = fuzz / f"{source.stem}_{k:03d}{source.suffix}"
            target.write_bytes(_mutate(data, rng))
            files.append(target)
    run = subprocess.run([sys.executable, "-c", CHILD, json.dumps([str(sources[0])] + [str(f) for f in files]),
                          str(tmp_path / "out")], capture_output=True, text=True, timeout=900)
    assert run.returncode == 0 and "Traceback" not in run.stderr, run.stderr[-2000:]
    report = json.loads(run.stdout.splitlines()[-1])
    outcome = {"ok": 0, "error": 0}
    for item in report["items"][1:]:
        assert item["status"] in ("ok", "error"), item
        outcome[item["status"]] += 1
        if item["status"] == "error":
            assert item["error"] and "\n" not in item["error"] and "Traceback" not in item["error"]
            assert not item["error"].startswith("unexpected error"), item  # a bug, not bad input
        else:
            _no_nan((Path(item["out"]) / "result.json").read_text())
    rise_mb = (report["peak_kb"] - report["idle_kb"]) / 1024
    assert sum(outcome.values()) == len(files) >= 200
    assert rise_mb < 1000, f"peak memory rose by {rise_mb:.0f} MB over the models' own"
    with capsys.disabled():
        print(f"\nfuzz: {len(files)} damaged inputs: {outcome['ok']} analysed, {outcome['error']} refused "
              f"with a one-line reason; the batch's peak memory +{rise_mb:.0f} MB over its loaded models")
