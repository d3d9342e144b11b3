"""What a user waits for: cold start-up of each command, a batch of short clips, the install's size.

    python scripts/make_clips.py --only short      # once: 24 short clips in out/clips/short
    python scripts/make_clips.py --only face_with_speech
    python benchmarks/startup.py [--runs 5] [--venv PATH | --fresh-venv]

Each command runs in a fresh process (nothing imported or cached in memory), ``--runs`` times;
the median and the slowest run are printed:

* ``python -c "import avemotion"``;
* ``avemotion speech`` on one RAVDESS clip;
* ``avemotion face`` on ``multi_face.jpg`` (five faces);
* ``avemotion analyze`` on ``face_with_speech.mp4`` (a real face, RAVDESS speech, 3.5 s) with every
  default output (result.json, timeline.csv, timeline.png, annotated.mp4, report.html).

Then one ``avemotion analyze`` call over the folder of short clips (default outputs, a fresh
output folder), reported as a fraction of the clips' total duration. With ``--venv`` the size
of that virtual environment is measured; ``--fresh-venv`` first makes one with ``pip install .``
(the README's first command) in a temporary folder, and also reports what the install added
(``installed_mb``: avemotion and its dependencies, without the venv's own pip and setuptools).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
CLIPS = ROOT / "out" / "clips"


def cold(argv: list[str], runs: int) -> dict:
    """Wall time of ``argv`` in a fresh process, ``runs`` times (after one unmeasured run: disk cache)."""
    subprocess.run(argv, check=True, capture_output=True)
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(argv, check=True, capture_output=True)
        times.append(time.perf_counter() - t0)
    return {"median_s": round(statistics.median(times), 3), "max_s": round(max(times), 3)}


def duration(path: Path) -> float:
    import av

    with av.open(str(path)) as c:
        return c.duration / 1e6


def folder_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink())


def main() -> None:
    sys.path.insert(0, str(Path(__file__).parent))
    from speech_speed import machine

    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--venv", help="measure this virtual environment's size")
    ap.add_argument("--fresh-venv", action="store_true", help="make a fresh venv with `pip install .` and measure it")
    args = ap.parse_args()
    exe = Path(sys.executable)
    cli = str(exe.parent / "avemotion")
    ravdess_clip = next(iter(sorted((SHARED / "ravdess_speech_16k").rglob("*.flac"))), None)
    talk = CLIPS / "face_with_speech.mp4"
    short = sorted((CLIPS / "short").glob("*.mp4"))
    missing = [str(p) for p in (ravdess_clip, talk, SHARED / "clips" / "multi_face.jpg") if not p or not p.exists()]
    if missing or len(short) < 20:
        raise SystemExit(f"needs {missing or 'out/clips/short'}: run scripts/make_clips.py (see the docstring)")
    out: dict = {"machine": machine(), "runs": args.runs}
    with tempfile.TemporaryDirectory() as tmp:
        out["import avemotion"] = cold([str(exe), "-c", "import avemotion"], args.runs)
        out["avemotion speech (RAVDESS clip)"] = cold([cli, "speech", str(ravdess_clip)], args.runs)
        out["avemotion face multi_face.jpg"] = cold([cli, "face", str(SHARED / "clips" / "multi_face.jpg")], args.runs)
        out[f"avemotion analyze {talk.name} ({duration(talk):.1f} s), all outputs"] = cold(
            [cli, "analyze", str(talk), "--out", str(Path(tmp) / "one"), "--force"], args.runs)
        total = sum(duration(p) for p in short)
        t0 = time.perf_counter()
        subprocess.run([cli, "analyze", str(CLIPS / "short"), "--out", str(Path(tmp) / "batch")], check=True,
                       capture_output=True)
        wall = time.perf_counter() - t0
        out["batch"] = {"files": len(short), "total_duration_s": round(total, 1), "wall_s": round(wall, 2),
                        "fraction_of_duration": round(wall / total, 3), "outputs": "all defaults"}
        venv = Path(args.venv) if args.venv else None
        if args.fresh_venv:
            venv = Path(tmp) / "venv"
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
            empty = folder_size(venv)  # the venv's own pip and setuptools, before avemotion
            subprocess.run([str(venv / "bin" / "pip"), "install", "-q", str(ROOT)], check=True,
                           env=os.environ | {"PIP_DISABLE_PIP_VERSION_CHECK": "1"})
            out["installed_mb"] = round((folder_size(venv) - empty) / 1e6, 1)
        if venv:
            out["venv_mb"] = round(folder_size(venv) / 1e6, 1)
            out["venv"] = "fresh, pip install ." if args.fresh_venv else str(venv)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
