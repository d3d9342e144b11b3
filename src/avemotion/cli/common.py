"""What every subcommand shares: the error line, the per-file loop, the bundled demo files."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parents[1] / "data"
DEMO_SPEECH = DATA_DIR / "demo_speech.flac"
DEMO_VIDEO = DATA_DIR / "demo_face.mp4"


def command_line() -> str | None:
    """The `avemotion train ...` command being run (written into model cards), without logging flags."""
    args = [a for a in sys.argv[1:] if a not in ("-v", "--verbose")]
    return "avemotion " + " ".join(args) if args[:1] == ["train"] else None


def err(msg: str) -> None:
    """One error line on stderr: the way every user-facing problem is reported."""
    print(f"avemotion: error: {msg}", file=sys.stderr)


def is_batch(files: Sequence[Path], paths: Sequence[str]) -> bool:
    """Several files, or a folder given: one JSON line per file instead of tables."""
    return len(files) > 1 or any(Path(p).is_dir() for p in paths)


def run_files(files: Sequence[Path], analyze: Callable, show: Callable, *, batch: bool, label: str) -> int:
    """Analyse each file (:func:`avemotion.batch.run_each`); one JSON line per file in batch mode,
    else ``show(result)``. A failed file is a ``{"path", "error"}`` line (batch) or one error line,
    and the rest go on. Returns the exit code: 1 if any file failed, else 0.
    """
    from ..batch import run_each
    from ..report.progress import progress_bar

    failed = 0
    with progress_bar(label, total=len(files), enabled=batch) as advance:
        for f, result, error in run_each(files, analyze):
            advance()
            if error is not None:
                failed += 1
                if batch:
                    print(json.dumps({"path": str(f), "error": error.reason}), flush=True)
                else:
                    err(str(error))
            elif batch:
                print(json.dumps(result.to_dict()), flush=True)
            else:
                show(result)
    return 1 if failed else 0
