"""The per-file step of every batch: what makes a result current, and one file analysed or recorded.

One step, three runners: the local batch (:func:`avemotion.batch.analyze_many`), Ray tasks
(:mod:`avemotion.cluster`) and the server's workers (:mod:`avemotion.jobs`) all call
:func:`analyze_one` or :func:`analyze_upload` from here, so the outputs, the skipping of finished
files and the ``error.json`` of a broken one are the same wherever a file is analysed. This module
imports none of its runners.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import AvemotionError
from .media import check_file


def as_error(exc: Exception, path: Path) -> AvemotionError:
    """Any failure on one file as a one-line AvemotionError; the traceback goes to the log (-v)."""
    if isinstance(exc, AvemotionError):
        return exc
    if isinstance(exc, OSError) and exc.strerror:  # permission denied, disk full, a file in the way...
        where = f" ({exc.filename})" if exc.filename and str(exc.filename) != str(path) else ""
        return AvemotionError(f"{exc.strerror.lower()}{where}", path)
    logging.getLogger("avemotion").debug("unexpected error on %s", path, exc_info=True)
    return AvemotionError(f"unexpected error ({type(exc).__name__}: {' '.join(str(exc).split())[:160]})", path)


def source_stamp(path: Path, options: dict | None = None) -> dict:
    """What makes a result current: the file (path, size, modification time) and the options used."""
    st = path.stat()
    stamp = {"path": str(path.resolve()), "bytes": st.st_size, "mtime_ns": st.st_mtime_ns}
    return stamp | ({"options": options} if options is not None else {})


def is_done(out: Path, stamp: dict) -> bool:
    """True when ``out/result.json`` was made from this very file with these very options."""
    try:
        return json.loads((out / "result.json").read_text()).get("source") == stamp
    except (OSError, ValueError):
        return False


@dataclass
class BatchItem:
    """One file of a batch: where its outputs are, and what became of it."""

    path: Path
    out: Path
    status: str  # "ok", "done earlier" or "error"
    result: Any = None  # the AnalysisResult when status is "ok"
    error: str | None = None

    def to_dict(self) -> dict:
        line = {"path": str(self.path), "out": str(self.out), "status": self.status}
        if self.error:
            return line | {"error": self.error}
        if self.result is not None:
            r = self.result
            line |= {"label": r.label, "face": r.status["face"], "voice": r.status["voice"]}
        return line


def analyze_one(
    f: Path, target: Path, analyzer, options: dict, outputs: Sequence[str], force: bool = False
) -> BatchItem:
    """One file of a batch: skip it if ``target`` holds its current result, else analyse and write.

    The same step runs in this process (:func:`analyze_many`) and on a Ray worker
    (:mod:`avemotion.cluster`). Leftover temporary files of a run that was killed mid-write are
    removed first; the outputs are written atomically, ``result.json`` last.
    """
    from .files import remove_partial
    from .report.outputs import write_outputs

    stamp = source_stamp(check_file(f), options)
    if not force and is_done(target, stamp):
        return BatchItem(f, target, "done earlier")
    remove_partial(target)
    result = analyzer.analyze(f, keep_frames="mp4" in outputs)
    write_outputs(result, target, source=stamp, outputs=outputs)
    result.sampled_frames = None  # the video is written: the frames go (a long batch keeps its results)
    (target / "error.json").unlink(missing_ok=True)
    return BatchItem(f, target, "ok", result)


def analyze_upload(analyzer, upload: Path, out: Path, filename: str, annotate: bool = True, progress=None):
    """One server job: analyse a stored upload into a fresh ``out``, shown under the user's ``filename``.

    The step the server's own workers and its Ray tasks (:func:`avemotion.cluster.run_job`) share.
    """
    import shutil

    from .report.outputs import write_outputs

    result = analyzer.analyze(upload, progress=progress, keep_frames=annotate)
    result.path = filename  # the user's name, not the stored one
    if out.exists():
        shutil.rmtree(out)
    write_outputs(result, out, annotate=annotate, media=upload)
    result.sampled_frames = None
    return result


def record_error(f: Path, target: Path, err: AvemotionError) -> BatchItem:
    """``target/error.json`` with the one-line reason (an unwritable folder is logged, not raised)."""
    from .files import write_json

    try:
        write_json({"path": str(f), "error": err.reason}, target / "error.json")
    except OSError as exc:  # an unwritable --out must not hide the file's own error
        logging.getLogger("avemotion").warning("cannot record the error of %s: %s", f, exc)
    return BatchItem(f, target, "error", error=err.reason)


def batch_options(config, outputs: Sequence[str]) -> dict:
    """What a finished file's result must have been made with to be skipped: the options and outputs."""
    return config.flat() | {"outputs": list(outputs)}
