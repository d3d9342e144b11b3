"""The server's jobs: the SQLite job table, the files of each job, the queue and the worker pool.

Kept apart from the HTTP layer (:mod:`avemotion.server`, FastAPI): nothing here imports a web
framework, so the job machinery is tested and reused without one. A job's data lives in the
data directory: ``jobs.sqlite`` (the table), ``uploads/`` (files under generated names only) and
``results/<job id>/`` (the outputs of :mod:`avemotion.report.outputs`). A bounded pool of worker
threads runs analyses; further uploads wait in the queue. On start, jobs that were queued or
running when the server stopped are queued again (their upload is still on disk); a job whose
upload is gone is marked failed with the reason. Finished jobs older than the retention period
are deleted with their files.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import re
import shutil
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from .errors import AvemotionError, OptionError, check_number

log = logging.getLogger(__name__)


@dataclass
class JobsConfig:
    """Where jobs live and how many run at once: the settings of :class:`Jobs` (the server's extend them)."""

    data_dir: Path = field(default_factory=lambda: Path("avemotion-data"))
    workers: int = 1  # analyses at once (each uses the CPU's cores through onnxruntime)
    retention_days: float = 7.0
    annotate: bool = True
    ray: str | None = None  # run jobs on Ray: "local", "auto", "ray://host:10001" (avemotion.cluster)

    def __post_init__(self) -> None:
        if isinstance(self.workers, bool) or int(check_number("workers", self.workers, 1, 64)) != self.workers:
            raise OptionError(f"workers must be a whole number from 1 to 64, got {self.workers!r}")
        self.retention_days = check_number("retention_days", self.retention_days, 0.0, 36_500)


# ---------------------------------------------------------------------------------------------
# The job table


class JobStore:
    """Jobs in SQLite (one connection, serialised by a lock: the table is small and writes rare)."""

    COLUMNS = (
        "id",
        "status",
        "progress",
        "error",
        "filename",
        "upload",
        "options",
        "created",
        "started",
        "finished",
        "label",
        "note",
    )

    def __init__(self, path: Path) -> None:
        self.lock = threading.Lock()
        self.db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("""CREATE TABLE IF NOT EXISTS jobs (
            id TEXT PRIMARY KEY, status TEXT NOT NULL, progress REAL DEFAULT 0, error TEXT,
            filename TEXT, upload TEXT, options TEXT, created REAL, started REAL, finished REAL, label TEXT,
            note TEXT)""")

    def add(self, job_id: str, filename: str, upload: str, options: dict) -> None:
        with self.lock:
            self.db.execute(
                "INSERT INTO jobs (id, status, filename, upload, options, created) VALUES (?, ?, ?, ?, ?, ?)",
                (job_id, "queued", filename, upload, json.dumps(options), time.time()),
            )

    def update(self, job_id: str, **values) -> None:
        cols = ", ".join(f"{k} = ?" for k in values)
        with self.lock:
            self.db.execute(f"UPDATE jobs SET {cols} WHERE id = ?", (*values.values(), job_id))

    def get(self, job_id: str) -> dict | None:
        with self.lock:
            row = self.db.execute(f"SELECT {', '.join(self.COLUMNS)} FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return dict(zip(self.COLUMNS, row, strict=True)) if row else None

    def where(self, sql: str, args: tuple = ()) -> list[dict]:
        with self.lock:
            rows = self.db.execute(f"SELECT {', '.join(self.COLUMNS)} FROM jobs WHERE {sql}", args).fetchall()
        return [dict(zip(self.COLUMNS, r, strict=True)) for r in rows]

    def delete(self, job_id: str) -> None:
        with self.lock:
            self.db.execute("DELETE FROM jobs WHERE id = ?", (job_id,))


# ---------------------------------------------------------------------------------------------
# Workers


class Jobs:
    """The job table, the files, the queue and the worker pool."""

    def __init__(self, config: JobsConfig) -> None:
        self.config = config
        self.root = Path(config.data_dir).resolve()
        self.uploads = self.root / "uploads"
        self.results = self.root / "results"
        try:
            for d in (self.root, self.uploads, self.results):
                d.mkdir(parents=True, exist_ok=True)
            probe = self.root / f".write-check.{os.getpid()}"
            probe.write_bytes(b"")
            probe.unlink()
            self.store = JobStore(self.root / "jobs.sqlite")
        except (OSError, sqlite3.Error) as exc:
            what = (
                "a file, not a folder"
                if isinstance(exc, (FileExistsError, NotADirectoryError))
                else (getattr(exc, "strerror", None) or str(exc)).lower()
            )
            raise AvemotionError(f"cannot keep the server's jobs there ({what})", config.data_dir) from None
        self.queue: queue.Queue[str] = queue.Queue()
        self._analyzer = None
        self._analyzer_lock = threading.Lock()
        self.stopping = threading.Event()

    @property
    def analyzer(self):
        from .pipeline import VideoAnalyzer

        with self._analyzer_lock:
            if self._analyzer is None:
                self._analyzer = VideoAnalyzer()
            return self._analyzer

    def start(self) -> None:
        if self.config.ray:
            from .cluster import connect

            connect(self.config.ray)
        self.recover()
        self.clean()
        for i in range(max(1, self.config.workers)):
            threading.Thread(target=self._work, name=f"avemotion-worker-{i}", daemon=True).start()
        threading.Thread(target=self._janitor, name="avemotion-janitor", daemon=True).start()

    def recover(self) -> None:
        """Jobs cut off by a stop: queue them again, or fail them with the reason.

        Jobs that were waiting go first, in their order; jobs that were running when the server
        stopped go last, since one of them may be what stopped it.
        """
        for job in self.store.where("status IN ('queued', 'running') ORDER BY status = 'running', created"):
            if (self.uploads / (job["upload"] or "")).is_file():
                note = (
                    "queued again after a server restart"
                    if job["status"] == "queued"
                    else "resumed after a server restart (it was running)"
                )
                self.store.update(job["id"], status="queued", progress=0.0, note=note)
                self.queue.put(job["id"])
            else:
                self.store.update(
                    job["id"],
                    status="failed",
                    finished=time.time(),
                    error="the server stopped during this job and its upload is gone",
                )

    def submit(self, job_id: str, filename: str, upload: str, options: dict) -> None:
        self.store.add(job_id, filename, upload, options)
        self.queue.put(job_id)

    def result_dir(self, job_id: str) -> Path:
        return self.results / job_id

    def _work(self) -> None:
        from .pipeline import AnalyzeConfig
        from .steps import analyze_upload

        while not self.stopping.is_set():
            try:
                job_id = self.queue.get(timeout=0.5)
            except queue.Empty:
                continue
            job = self.store.get(job_id)
            if not job or job["status"] not in ("queued",):
                continue
            self.store.update(job_id, status="running", started=time.time(), progress=0.0)
            try:
                options = json.loads(job["options"] or "{}")
                if self.config.ray:
                    self._run_on_ray(job_id, job, options)
                    continue
                va = self.analyzer.sharing(AnalyzeConfig.of(**options))
                last = [0.0]

                def progress(x: float, job_id=job_id, last=last) -> None:
                    if x - last[0] >= 0.05:
                        last[0] = x
                        self.store.update(job_id, progress=round(x, 3))

                result = analyze_upload(
                    va,
                    self.uploads / job["upload"],
                    self.result_dir(job_id),
                    job["filename"],
                    self.config.annotate,
                    progress,
                )
                self.store.update(
                    job_id, status="done", progress=1.0, finished=time.time(), label=result.label, error=None
                )
            except (AvemotionError, ValueError, TypeError) as exc:
                reason = exc.reason if isinstance(exc, AvemotionError) else str(exc)
                self.store.update(job_id, status="failed", finished=time.time(), error=reason)
            except Exception as exc:  # a worker must survive any one job
                log.exception("job %s failed", job_id)
                self.store.update(
                    job_id,
                    status="failed",
                    finished=time.time(),
                    error=f"internal error: {type(exc).__name__}: {str(exc)[:200]}",
                )

    def _run_on_ray(self, job_id: str, job: dict, options: dict) -> None:
        """One job as a Ray task (``serve --ray``); the table, uploads and results stay here.

        The task cannot report progress while it runs: the job goes from 0 to done.
        """
        from .cluster import run_job_on_ray
        from .pipeline import AnalyzeConfig

        full = AnalyzeConfig.of(**options).flat()  # checked here, as a local job would be
        status, text = run_job_on_ray(
            self.uploads / job["upload"],
            self.result_dir(job_id),
            full,
            job["filename"],
            self.config.annotate,
            self.config.ray,
        )
        if status == "done":
            self.store.update(job_id, status="done", progress=1.0, finished=time.time(), label=text, error=None)
        else:
            self.store.update(job_id, status="failed", finished=time.time(), error=text)

    def clean(self) -> int:
        """Delete finished jobs older than the retention period, with their files."""
        cutoff = time.time() - self.config.retention_days * 86400
        old = self.store.where("status IN ('done', 'failed') AND finished < ?", (cutoff,))
        for job in old:
            shutil.rmtree(self.result_dir(job["id"]), ignore_errors=True)
            if job["upload"]:
                (self.uploads / job["upload"]).unlink(missing_ok=True)
            self.store.delete(job["id"])
        return len(old)

    def _janitor(self) -> None:
        while not self.stopping.wait(3600):
            self.clean()


# ---------------------------------------------------------------------------------------------
# The app


def safe_name(name: str | None) -> str:
    """A display name: the last path part, printable characters only, at most 120 of them."""
    base = re.split(r"[\\/]", name or "")[-1]
    base = re.sub(r"[^\w.\- ()]+", "_", base).strip(". ") or "upload"
    return base[:120]


def validate_media(path: Path) -> str | None:
    """Decode the start of an upload: None if it is a usable image, audio or video file, else why not."""
    from .errors import MediaError
    from .media import iter_frames, load_audio, probe, read_image

    try:
        info = probe(path)
        if info.kind == "image" and path.suffix != ".bin":
            read_image(path)
        elif info.has_video:
            next(iter(iter_frames(path, fps=1.0)))
        else:
            load_audio(path, max_seconds=1.0)
    except MediaError as exc:
        return exc.reason
    except StopIteration:
        return "video track holds no frames"
    return None
