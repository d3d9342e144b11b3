"""Break the product on purpose, on a copy of the tree, and check that the tests notice.

Each breakage is a small edit that a careless change could make; for each, the tests that cover
its area run against the broken copy and must fail. Prints a table and exits non-zero if any
breakage passes unnoticed. Run from the repository root::

    python benchmarks/breakages.py            # all of them
    python benchmarks/breakages.py --only fusion-weights
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _swap_labels(copy: Path) -> None:
    """happy <-> sad and angry <-> neutral in the shipped speech models' cards."""
    swap = {"happy": "sad", "sad": "happy", "angry": "neutral", "neutral": "angry"}
    for name in ("speech", "speech_adaptive"):
        card = copy / "src" / "avemotion" / "models" / f"{name}.json"
        data = json.loads(card.read_text())
        data["labels"] = [swap.get(lab, lab) for lab in data["labels"]]
        card.write_text(json.dumps(data, indent=2))


def _replace(rel: str, old: str, new: str) -> Callable[[Path], None]:
    def edit(copy: Path) -> None:
        path = copy / rel
        text = path.read_text()
        if old not in text:
            raise SystemExit(f"{rel}: the text to break is no longer there; update this script")
        path.write_text(text.replace(old, new))

    return edit


def _both(*edits: Callable[[Path], None]) -> Callable[[Path], None]:
    def edit(copy: Path) -> None:
        for e in edits:
            e(copy)

    return edit


@dataclass(frozen=True)
class Breakage:
    name: str
    what: str
    edit: Callable[[Path], None]
    tests: tuple[str, ...]


BREAKAGES = [
    Breakage("speech-labels", "the shipped speech models' labels swapped (happy/sad, angry/neutral)", _swap_labels,
             ("tests/test_behaviour.py", "tests/test_speech_cli.py", "tests/test_analyze.py")),
    Breakage("fusion-weights", "fusion ignores its weights (every weight 1.0)",
             _both(_replace("src/avemotion/fusion.py", "parts.append((p, mask, cfg.weights[name]))",
                            "parts.append((p, mask, 1.0))"),
                   _replace("src/avemotion/fusion.py", "parts.append((p, mask, cfg.weights[name] * confidence))",
                            "parts.append((p, mask, 1.0 * confidence))")),
             ("tests/test_fusion.py", "tests/test_decisions.py", "tests/test_analyze.py")),
    Breakage("voice-overlap", "the voice lane's overlap weighting dropped and its coverage forced to 1.0",
             _both(_replace("src/avemotion/pipeline.py", "weights.append(overlap)", "weights.append(1.0)"),
                   _replace("src/avemotion/pipeline.py", "round(min(1.0, sum(weights) / (end - start)), 3)", "1.0")),
             ("tests/test_decisions.py", "tests/test_analyze.py")),
    Breakage("batch-stamp", "the batch's stamp without the file's size and modification time",
             _replace("src/avemotion/steps.py",
                      'stamp = {"path": str(path.resolve()), "bytes": st.st_size, "mtime_ns": st.st_mtime_ns}',
                      'stamp = {"path": str(path.resolve())}'),
             ("tests/test_batch.py", "tests/test_analyze.py",
              "tests/test_cluster.py")),
]


def run(b: Breakage, keep: bool = False) -> tuple[bool, str]:
    """(caught, the tests' closing line) for one breakage on a fresh copy."""
    tmp = Path(tempfile.mkdtemp(prefix=f"avemotion-break-{b.name}-"))
    try:
        for part in ("src", "tests", "scripts", "pyproject.toml"):
            src = ROOT / part
            (shutil.copytree if src.is_dir() else shutil.copy)(src, tmp / part)
        b.edit(tmp)
        env = os.environ | {"PYTHONPATH": str(tmp / "src"), "AVEMOTION_SHARED_DATA": str(ROOT.parent / "shared" / "data")}
        proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", *b.tests],
                              cwd=tmp, env=env, capture_output=True, text=True)
        last = (proc.stdout.strip().splitlines() or ["(no output)"])[-1]
        return proc.returncode == 1, last
    finally:
        if not keep:
            shutil.rmtree(tmp, ignore_errors=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", choices=[b.name for b in BREAKAGES], action="append")
    ap.add_argument("--keep", action="store_true", help="keep the broken copies (their paths are printed)")
    args = ap.parse_args()
    missed = 0
    for b in BREAKAGES:
        if args.only and b.name not in args.only:
            continue
        caught, last = run(b, args.keep)
        missed += not caught
        print(f"{'caught' if caught else 'MISSED':7s} {b.name:15s} {b.what}\n        {last}", flush=True)
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
