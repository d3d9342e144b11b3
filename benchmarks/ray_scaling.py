"""Files per second of the local batch and of the batch on Ray, and memory over a long Ray run.

    python scripts/make_clips.py --only twenty     # once: 8 clips of 20 s in out/clips/twenty
    python scripts/make_clips.py --only short      # once: 24 short clips in out/clips/short
    python benchmarks/ray_scaling.py [--files 200]

Each configuration runs in its own process (a fresh Ray runtime each time), on the 20-s clips,
writing result.json only (the analysis and its dispatch are measured, not the video encoder):

* ``local``: ``analyze_many`` in one process, onnxruntime on every core (the default);
* ``local, 1 thread``: the same with ``AVEMOTION_THREADS=1``: the work of one Ray worker;
* ``ray, 1 worker`` and ``ray, 2 workers``: a local Ray runtime with 1 or 2 CPUs, one task per file,
  one onnxruntime thread per task. Ray's start-up is timed apart from the files.

The per-file overhead of Ray is (ray with 1 worker - local with 1 thread) / files. Then ``--files``
files (the short clips, repeated under distinct names) go through Ray with 2 workers while the
resident memory of the driver and of every Ray worker is sampled: it must stay flat, since at
most twice the CPUs are in flight whatever the number of files.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CLIPS = ROOT / "out" / "clips"

RUN = """
import json, os, sys, time
from pathlib import Path
t0 = time.perf_counter()
mode, out, files = sys.argv[1], sys.argv[2], sys.argv[3:]
from avemotion.batch import analyze_many
ray, workers = None, 1
if mode.startswith("ray"):
    from avemotion.cluster import connect
    workers = int(mode[3:])
    connect(True, num_cpus=workers)
    ray = True
# warm-up: models loaded in the process or in each worker, as they are after the first files
list(analyze_many(files[:workers], out + "/warm", outputs=["json"], ray=ray))
t1 = time.perf_counter()
items = list(analyze_many(files, out + "/run", outputs=["json"], ray=ray))
t2 = time.perf_counter()
assert all(i.status == "ok" for i in items), [i.error for i in items if i.error]
print(json.dumps({"startup_s": t1 - t0, "files_s": t2 - t1, "files": len(items)}))
"""


def run(mode: str, files: list[Path], env: dict | None = None) -> dict:
    with tempfile.TemporaryDirectory() as out:
        done = subprocess.run([sys.executable, "-c", RUN, mode, out, *map(str, files)], capture_output=True,
                              text=True, env=os.environ | (env or {}), check=False)
    if done.returncode:
        raise SystemExit(f"{mode} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def rss_mb(pid: int) -> float:
    try:
        for line in open(f"/proc/{pid}/status"):
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def ray_workers() -> list[int]:
    pids = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and (proc / "cmdline").read_bytes().startswith(b"ray::"):
                pids.append(int(proc.name))
        except OSError:
            continue
    return pids


def memory_run(n: int) -> dict:
    """``n`` files through Ray (2 workers) with the memory of the driver and the workers sampled."""
    short = sorted((CLIPS / "short").glob("*.mp4"))
    with tempfile.TemporaryDirectory() as tmp:
        files = []
        for i in range(n):
            link = Path(tmp) / "in" / f"f{i:04d}.mp4"
            link.parent.mkdir(exist_ok=True)
            link.symlink_to(short[i % len(short)])
            files.append(link)
        proc = subprocess.Popen([sys.executable, "-c", RUN, "ray2", str(Path(tmp) / "o"), *map(str, files)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        samples: list[tuple[float, int, float]] = []
        stop = threading.Event()

        def sample() -> None:
            t0 = time.perf_counter()
            while not stop.wait(1.0):
                done = len(list((Path(tmp) / "o" / "run").glob("*/result.json")))
                total = rss_mb(proc.pid) + sum(rss_mb(p) for p in ray_workers())
                samples.append((time.perf_counter() - t0, done, total))

        thread = threading.Thread(target=sample, daemon=True)
        thread.start()
        stdout, stderr = proc.communicate()
        stop.set()
        thread.join()
    if proc.returncode:
        raise SystemExit(f"memory run failed:\n{stderr[-3000:]}")
    by_done = [(d, m) for _, d, m in samples if d > 0]
    marks = {}
    for frac in (0.1, 0.25, 0.5, 0.75, 1.0):
        near = [m for d, m in by_done if d >= frac * n * 0.98]
        if near:
            marks[f"{int(frac * 100)}% of files"] = round(near[0])
    return {"files": n, "rss_mb_driver_plus_workers": marks, "peak_mb": round(max(m for _, _, m in samples)),
            "result": json.loads(stdout.strip().splitlines()[-1])}


def main() -> None:
    sys.path.insert(0, str(Path(__file__).parent))
    from speech_speed import machine

    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=200, help="files of the memory run (0: skip it)")
    args = ap.parse_args()
    clips = sorted((CLIPS / "twenty").glob("*.mp4"))
    if len(clips) < 4 or not (CLIPS / "short").is_dir():
        raise SystemExit("run scripts/make_clips.py --only twenty and --only short first (see the docstring)")
    out: dict = {"machine": machine(), "clips": f"{len(clips)} x 20 s, 640x360, result.json only"}
    runs = {"local": run("local", clips), "local, 1 thread": run("local", clips, {"AVEMOTION_THREADS": "1"}),
            "ray, 1 worker": run("ray1", clips), "ray, 2 workers": run("ray2", clips)}
    for name, r in runs.items():
        out[name] = {"files_per_s": round(r["files"] / r["files_s"], 3), "s_per_file": round(r["files_s"] / r["files"], 3),
                     "startup_s": round(r["startup_s"], 2)}
    one, ray1 = runs["local, 1 thread"], runs["ray, 1 worker"]
    per_file = (ray1["files_s"] - one["files_s"]) / ray1["files"]
    out["ray_overhead_per_file_s"] = round(per_file, 3)
    out["ray_overhead_fraction"] = round(per_file / (one["files_s"] / one["files"]), 3)
    out["ray_2_workers_speedup_over_local"] = round(runs["local"]["files_s"] / runs["ray, 2 workers"]["files_s"], 2)
    if args.files:
        out["memory"] = memory_run(args.files)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
