"""`avemotion analyze` on the shared clips against a stored result: a change that moves any
probability by more than 1e-6 (same CPU; 1e-3 on another, whose vector units may round int8 and
float sums differently) must be meant, and the stored file regenerated with it:

    AVEMOTION_UPDATE_EXPECTED=1 pytest tests/test_regression.py
"""

import json
import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import CLIPS, RAVDESS, ROOT, SHARED, need

EXPECTED = Path(__file__).parent / "data" / "expected_analysis.json"
CLIP_NAMES = ("single_face.mp4", "face_noface.mov", "noface_face.mov", "no_face.mp4", "multi_face.jpg",
              "WolfgangLanger_Pexels.mp4")
#: Made in the test from the shared clips: a real face with real speech (RAVDESS) muxed on, so the
#: stored result covers the voice lane and the fusion of both, not only faces.
MADE_NAMES = ("face_with_speech.mp4",)


def _cpu() -> str:
    """The CPU's name and vector extensions: virtual machines name different generations alike
    ("AMD EPYC"), and AVX-512 kernels sum floats in another order than AVX2 ones."""
    name, flags = platform.processor() or platform.machine(), set()
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                name = line.split(":", 1)[1].strip()
            elif line.startswith("flags"):
                flags = {f for f in line.split(":", 1)[1].split() if f.startswith(("avx", "fma", "amx"))}
                break
    except OSError:
        pass
    return " ".join([name, *sorted(flags)])


def _digest(result) -> dict:
    d = result.to_dict()
    return {"label": d["label"], "status": d["status"], "summary": d["summary"],
            "fused": [w["fused"] for w in d["timeline"]], "tracks": len(d["tracks"]), "frames": len(d["frames"]),
            "face": [w["face"] for w in d["timeline"]], "voice": [w["voice"] for w in d["timeline"]],
            "speech_segments": d["speech_segments"]}


def _close(a, b, tol: float, where: str = "") -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        if a.keys() != b.keys():
            return [f"{where}: keys {sorted(a)} != {sorted(b)}"]
        return [m for k in a for m in _close(a[k], b[k], tol, f"{where}.{k}")]
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{where}: {len(a)} items != {len(b)}"]
        return [m for i, (x, y) in enumerate(zip(a, b)) for m in _close(x, y, tol, f"{where}[{i}]")]
    if isinstance(a, float) and isinstance(b, float):
        return [] if abs(a - b) <= tol else [f"{where}: {a} != {b}"]
    return [] if a == b else [f"{where}: {a!r} != {b!r}"]


def test_analyze_on_the_shared_clips_is_unchanged(tmp_path_factory):
    from avemotion.pipeline import VideoAnalyzer

    need(CLIPS)
    need(RAVDESS)
    made = tmp_path_factory.mktemp("made")
    subprocess.run([sys.executable, str(ROOT / "scripts" / "make_clips.py"), "--out", str(made),
                    "--shared", str(SHARED), "--only", "face_with_speech"], check=True, capture_output=True)
    va = VideoAnalyzer()
    got = {name: _digest(va.analyze(CLIPS / name)) for name in CLIP_NAMES}
    got |= {name: _digest(va.analyze(made / name)) for name in MADE_NAMES}
    voiced = got["face_with_speech.mp4"]
    assert voiced["status"] == {"face": "ok", "voice": "ok"} and voiced["summary"]["voice"]
    if os.environ.get("AVEMOTION_UPDATE_EXPECTED") or not EXPECTED.exists():
        EXPECTED.write_text(json.dumps({"cpu": _cpu(), "results": got}, indent=1) + "\n", encoding="utf-8")
        pytest.skip(f"wrote {EXPECTED.name}")
    stored = json.loads(EXPECTED.read_text(encoding="utf-8"))
    tol = 2e-6 if stored["cpu"] == _cpu() else 1e-3  # 1e-6 plus the last digit of the stored rounding
    problems = _close(got, stored["results"], tol)
    assert not problems, "\n".join(problems[:20])
