"""The web app and REST API: ``avemotion serve`` (FastAPI + uvicorn; the ``server`` extra).

Jobs live in a data directory: ``jobs.sqlite`` (the job table), ``uploads/`` (files stored under
generated names only) and ``results/<job id>/`` (the outputs of :mod:`avemotion.report.outputs`).
A bounded pool of worker threads runs analyses; further uploads wait in the queue. When the
server starts, jobs that were queued or running when it stopped are queued again (their upload
is still on disk), so a restart loses nothing; a job whose upload is gone is marked failed with
the reason. Finished jobs older than the retention period are deleted with their files.

REST (OpenAPI at ``/docs``, served from the package, no CDN)::

    POST /v1/analyze              multipart: file, fps, window, fusion, weights → 202 {id, status, links}
    GET  /v1/jobs/{id}            status (queued, running, done, failed), progress, error
    GET  /v1/jobs/{id}/result     result.json       GET /v1/jobs/{id}/timeline.csv
    GET  /v1/jobs/{id}/annotated.mp4                GET /v1/jobs/{id}/report.html
    GET  /v1/jobs                 recent jobs       GET /v1/health
    WS   /v1/live                 JPEG frames in, per-frame faces and running state out
"""

# (No `from __future__ import annotations`: FastAPI reads the endpoint annotations at runtime.)

import asyncio
import json
import logging
import queue
import re
import shutil
import sqlite3
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from . import __version__
from .errors import AvemotionError
from .media import MEDIA_EXTENSIONS

log = logging.getLogger(__name__)

WEB_DIR = Path(__file__).resolve().parent / "web"
JOB_ID = re.compile(r"^[0-9a-f]{32}$")
FILES = {"result": ("result.json", "application/json"), "timeline.csv": ("timeline.csv", "text/csv"),
         "annotated.mp4": ("annotated.mp4", "video/mp4"), "report.html": ("report.html", "text/html"),
         "timeline.png": ("timeline.png", "image/png")}


@dataclass
class ServerConfig:
    """Settings of ``avemotion serve`` (each is a command-line option)."""

    data_dir: Path = field(default_factory=lambda: Path("avemotion-data"))
    workers: int = 1  # analyses at once (each uses the CPU's cores through onnxruntime)
    max_upload_mb: float = 200.0
    retention_days: float = 7.0
    annotate: bool = True
    ray: str | None = None  # run jobs on Ray: "local", "auto", "ray://host:10001" (avemotion.cluster)
    # Who may talk to it (see Guard): Host names accepted (None: the loopback names when bound to
    # loopback, any when bound to all interfaces), other origins whose pages may call it, a token.
    allowed_hosts: list[str] | None = None
    allowed_origins: list[str] = field(default_factory=list)
    token: str | None = None
    bind_host: str = "127.0.0.1"

    def __post_init__(self) -> None:
        from .errors import OptionError, check_number

        if isinstance(self.workers, bool) or int(check_number("workers", self.workers, 1, 64)) != self.workers:
            raise OptionError(f"workers must be a whole number from 1 to 64, got {self.workers!r}")
        self.max_upload_mb = check_number("max_upload_mb", self.max_upload_mb, 0.001, 100_000)
        self.retention_days = check_number("retention_days", self.retention_days, 0.0, 36_500)


# ---------------------------------------------------------------------------------------------
# Who may talk to the server


LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1", "[::1]")


class Guard:
    """ASGI middleware in front of every HTTP request and WebSocket: Host, Origin and an optional token.

    * **Host**: a server bound to loopback answers only to loopback names (``localhost``,
      ``127.0.0.1``, ``[::1]``) plus ``allowed_hosts``, so a web page on another site cannot reach
      it by pointing a DNS name at 127.0.0.1 (DNS rebinding). Bound to all interfaces, any Host is
      accepted unless ``allowed_hosts`` is given. Otherwise: 400.
    * **Origin**: a request that carries an ``Origin`` (a browser's cross-site form post, fetch or
      WebSocket) must come from the server's own origin or ``allowed_origins``. Otherwise: 403.
      Clients without an Origin (curl, scripts) are not browsers and pass.
    * **Token** (``--token``): every request needs ``Authorization: Bearer TOKEN``, or the cookie
      that opening ``/?token=TOKEN`` once in a browser sets. Otherwise: 401. Health stays open.
    """

    def __init__(self, app, config: ServerConfig) -> None:
        self.app, self.config = app, config
        bound = config.bind_host.strip("[]")
        if config.allowed_hosts is not None:
            self.hosts: set[str] | None = {h.lower().strip("[]") for h in config.allowed_hosts} | {"localhost", "127.0.0.1", "::1"}
        elif bound in ("0.0.0.0", "::", ""):
            self.hosts = None
        else:
            self.hosts = {n.strip("[]") for n in LOOPBACK_NAMES} | {bound.lower()}
        self.origins = {o.rstrip("/").lower() for o in config.allowed_origins}

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        host = headers.get("host", "")
        problem = self._check(scope, headers, host)
        if problem is None:
            if scope["type"] == "http" and scope.get("method") == "POST":
                return await self._limited(scope, receive, send)
            return await self.app(scope, receive, send)
        status, message = problem
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008, "reason": message[:120]})
            return
        await _respond(send, status, message)

    async def _limited(self, scope, receive, send) -> None:
        """Count a request body as it arrives (chunked uploads carry no Content-Length) and answer
        413 as soon as it passes the upload limit, instead of after reading it to its end."""
        limit = int(self.config.max_upload_mb * 1024 * 1024) + 1024 * 1024  # the form's fields beside the file
        seen, refused = 0, False

        async def counted():
            nonlocal seen, refused
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit and not refused:
                    refused = True
                    await _respond(send, 413, f"upload too large: at most {self.config.max_upload_mb:g} MB")
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message) -> None:
            if not refused:  # the app's own answer, unless the 413 went first
                await send(message)

        try:
            await self.app(scope, counted, guarded_send)
        except Exception:
            if not refused:
                raise

    def _check(self, scope, headers: dict[str, str], host: str) -> tuple[int, str] | None:
        name = _host_name(host)
        if self.hosts is not None and name not in self.hosts:
            return 400, f"this server does not answer to the host name {name!r} (see --allow-host)"
        origin = headers.get("origin")
        if origin and origin.lower() != "null":
            own = {f"http://{host}".lower(), f"https://{host}".lower()}
            if origin.rstrip("/").lower() not in own | self.origins:
                return 403, f"requests from pages of {origin} are not allowed (see --allow-origin)"
        elif origin:  # "null": a sandboxed frame or a file:// page
            return 403, "requests from an opaque origin are not allowed"
        token = self.config.token
        if token and scope.get("path") != "/v1/health":
            import hmac

            given = headers.get("authorization", "").removeprefix("Bearer ").strip()
            cookie = _cookie(headers.get("cookie", ""), "avemotion_token")
            query = _query_token(scope)
            if not any(hmac.compare_digest(t.encode(), token.encode()) for t in (given, cookie, query) if t):
                return 401, "this server needs a token: Authorization: Bearer TOKEN, or open /?token=TOKEN once"
        return None


async def _respond(send, status: int, message: str) -> None:
    body = json.dumps({"detail": message}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


def _host_name(host: str) -> str:
    host = host.strip().lower()
    if host.startswith("["):
        return host[1:host.find("]")] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def _cookie(header: str, name: str) -> str:
    for part in header.split(";"):
        key, _, value = part.strip().partition("=")
        if key == name:
            return value
    return ""


def _query_token(scope) -> str:
    from urllib.parse import parse_qs

    values = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("token")
    return values[0] if values else ""


# ---------------------------------------------------------------------------------------------
# The job table


class JobStore:
    """Jobs in SQLite (one connection, serialised by a lock: the table is small and writes rare)."""

    COLUMNS = ("id", "status", "progress", "error", "filename", "upload", "options", "created", "started",
               "finished", "label", "note")

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
            self.db.execute("INSERT INTO jobs (id, status, filename, upload, options, created) VALUES (?, ?, ?, ?, ?, ?)",
                            (job_id, "queued", filename, upload, json.dumps(options), time.time()))

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

    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self.root = Path(config.data_dir).resolve()
        self.uploads = self.root / "uploads"
        self.results = self.root / "results"
        for d in (self.root, self.uploads, self.results):
            d.mkdir(parents=True, exist_ok=True)
        self.store = JobStore(self.root / "jobs.sqlite")
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
                note = "queued again after a server restart" if job["status"] == "queued" else \
                    "resumed after a server restart (it was running)"
                self.store.update(job["id"], status="queued", progress=0.0, note=note)
                self.queue.put(job["id"])
            else:
                self.store.update(job["id"], status="failed", finished=time.time(),
                                  error="the server stopped during this job and its upload is gone")

    def submit(self, job_id: str, filename: str, upload: str, options: dict) -> None:
        self.store.add(job_id, filename, upload, options)
        self.queue.put(job_id)

    def result_dir(self, job_id: str) -> Path:
        return self.results / job_id

    def _work(self) -> None:
        from .pipeline import AnalyzeConfig
        from .batch import analyze_upload

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

                result = analyze_upload(va, self.uploads / job["upload"], self.result_dir(job_id), job["filename"],
                                        self.config.annotate, progress)
                self.store.update(job_id, status="done", progress=1.0, finished=time.time(), label=result.label,
                                  error=None)
            except (AvemotionError, ValueError, TypeError) as exc:
                reason = exc.reason if isinstance(exc, AvemotionError) else str(exc)
                self.store.update(job_id, status="failed", finished=time.time(), error=reason)
            except Exception as exc:  # a worker must survive any one job
                log.exception("job %s failed", job_id)
                self.store.update(job_id, status="failed", finished=time.time(),
                                  error=f"internal error: {type(exc).__name__}: {str(exc)[:200]}")

    def _run_on_ray(self, job_id: str, job: dict, options: dict) -> None:
        """One job as a Ray task (``serve --ray``); the table, uploads and results stay here.

        The task cannot report progress while it runs: the job goes from 0 to done.
        """
        from .cluster import run_job_on_ray
        from .pipeline import AnalyzeConfig

        full = AnalyzeConfig.of(**options).flat()  # checked here, as a local job would be
        status, text = run_job_on_ray(self.uploads / job["upload"], self.result_dir(job_id), full, job["filename"],
                                      self.config.annotate, self.config.ray)
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


def create_app(config: ServerConfig | None = None):
    from contextlib import asynccontextmanager

    from fastapi import (
        FastAPI,
        File,
        Form,
        HTTPException,
        Request,
        UploadFile,
        WebSocket,
        WebSocketDisconnect,
    )
    from fastapi.responses import FileResponse, HTMLResponse, JSONResponse
    from fastapi.staticfiles import StaticFiles

    config = config or ServerConfig()
    jobs = Jobs(config)

    @asynccontextmanager
    async def lifespan(app):
        jobs.start()
        yield
        jobs.stopping.set()

    app = FastAPI(title="avemotion", version=__version__, docs_url=None, redoc_url=None, lifespan=lifespan,
                  description="Emotion from faces and voices in video: upload a file, poll the job, fetch the result.")
    app.state.jobs = jobs

    app.mount("/static", StaticFiles(directory=str(WEB_DIR)), name="static")
    try:
        import swagger_ui_bundle

        app.mount("/swagger", StaticFiles(directory=swagger_ui_bundle.swagger_ui_path), name="swagger")
        has_swagger = True
    except ImportError:
        has_swagger = False

    app.add_middleware(Guard, config=config)

    @app.get("/", include_in_schema=False)
    def index(token: str | None = None):
        if token and config.token:  # /?token=TOKEN (checked by Guard): remember it in a cookie, drop it from the URL
            from fastapi.responses import RedirectResponse

            response = RedirectResponse("/", status_code=303)
            response.set_cookie("avemotion_token", token, httponly=True, samesite="strict")
            return response
        return FileResponse(WEB_DIR / "index.html", media_type="text/html")

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        if not has_swagger:
            return HTMLResponse("<p>Install swagger-ui-bundle for the interactive docs; the schema is at "
                                "<a href='/openapi.json'>/openapi.json</a>.</p>")
        from fastapi.openapi.docs import get_swagger_ui_html

        return get_swagger_ui_html(openapi_url="/openapi.json", title="avemotion API",
                                   swagger_js_url="/swagger/swagger-ui-bundle.js",
                                   swagger_css_url="/swagger/swagger-ui.css",
                                   swagger_favicon_url="/swagger/favicon-32x32.png")

    def links(job_id: str) -> dict:
        base = f"/v1/jobs/{job_id}"
        return {"self": base, "result": f"{base}/result", "timeline_csv": f"{base}/timeline.csv",
                "annotated_mp4": f"{base}/annotated.mp4", "report": f"{base}/report.html"}

    def public(job: dict) -> dict:
        return {"id": job["id"], "status": job["status"], "progress": job["progress"], "error": job["error"],
                "filename": job["filename"], "label": job["label"], "note": job["note"], "created": job["created"],
                "finished": job["finished"], "options": json.loads(job["options"] or "{}"), "links": links(job["id"])}

    def get_job(job_id: str) -> dict:
        job = jobs.store.get(job_id) if JOB_ID.match(job_id) else None
        if job is None:
            raise HTTPException(404, f"no job {job_id!r}")
        return job

    @app.get("/v1/health")
    def health() -> dict:
        return {"status": "ok", "version": __version__, "workers": config.workers, "queued": jobs.queue.qsize(),
                "max_upload_mb": config.max_upload_mb}

    from .pipeline import AnalyzeConfig

    defaults = AnalyzeConfig()

    checking = asyncio.Semaphore(config.workers)

    @app.get("/v1/options")
    def options() -> dict:
        """The analysis options, their defaults and choices, from the registries the CLI reads too."""
        from .face.detect import DETECTORS
        from .fusion import FUSION_RULES
        from .report.outputs import OUTPUTS, default_outputs

        return {"fps": defaults.face.fps, "window": defaults.fusion.window, "fusion": defaults.fusion.rule,
                "ranges": {"fps": defaults.face.RANGES["fps"], "window": defaults.fusion.RANGES["window"]},
                "fusion_rules": list(FUSION_RULES), "weights": dict(defaults.fusion.weights),
                "detector": defaults.face.detector, "detectors": list(DETECTORS),
                "outputs": {name: {"file": o.filename, "help": o.help, "default": name in default_outputs()}
                            for name, o in OUTPUTS.items()}}

    @app.post("/v1/analyze", status_code=202)
    async def submit(request: Request, file: UploadFile = File(..., description="a video, audio file or image"),
                     fps: float = Form(defaults.face.fps), window: float = Form(defaults.fusion.window),
                     fusion: str = Form(defaults.fusion.rule), weights: str | None = Form(None)) -> JSONResponse:
        from .pipeline import AnalyzeConfig

        limit = int(config.max_upload_mb * 1024 * 1024)
        size_header = request.headers.get("content-length")
        if size_header and size_header.isdigit() and int(size_header) > limit + 1024 * 1024:
            raise HTTPException(413, f"upload too large: at most {config.max_upload_mb:g} MB")
        options = {"fps": fps, "window": window, "fusion": fusion}
        try:
            if weights:
                from .fusion import load_weights

                options["weights"] = load_weights(weights, allow_file=False)
            AnalyzeConfig.of(**options)
        except (AvemotionError, ValueError) as exc:
            raise HTTPException(422, str(exc.reason if isinstance(exc, AvemotionError) else exc)) from None
        name = safe_name(file.filename)
        ext = Path(name).suffix.lower()
        job_id = uuid.uuid4().hex
        stored = f"{job_id}{ext if ext in MEDIA_EXTENSIONS else '.bin'}"
        dest = jobs.uploads / stored
        size = 0
        try:
            with open(dest, "wb") as f:
                while chunk := await file.read(1 << 20):
                    size += len(chunk)
                    if size > limit:
                        raise HTTPException(413, f"upload too large: at most {config.max_upload_mb:g} MB")
                    f.write(chunk)
            if size == 0:
                raise HTTPException(422, "the upload is empty")
            async with checking:  # decoding: off the event loop, and no more at once than --workers
                problem = await asyncio.to_thread(validate_media, dest)
            if problem:
                raise HTTPException(415, f"{name}: {problem}")
        except BaseException:
            dest.unlink(missing_ok=True)
            raise
        jobs.submit(job_id, name, stored, options)
        return JSONResponse({"id": job_id, "status": "queued", "links": links(job_id)}, status_code=202)

    @app.get("/v1/jobs")
    def list_jobs(limit: int = 50) -> list[dict]:
        return [public(j) for j in jobs.store.where("1 ORDER BY created DESC LIMIT ?", (max(1, min(limit, 500)),))]

    @app.get("/v1/jobs/{job_id}")
    def job_status(job_id: str) -> dict:
        return public(get_job(job_id))

    @app.get("/v1/jobs/{job_id}/{name}")
    def job_file(job_id: str, name: Literal["result", "timeline.csv", "annotated.mp4", "timeline.png",
                                            "report.html"]) -> FileResponse:
        """A finished job's output: ``result`` (result.json), the CSV, the video, the figure, the report."""
        job = get_job(job_id)
        if job["status"] != "done":
            raise HTTPException(409, f"job {job_id} is {job['status']}" + (f": {job['error']}" if job["error"] else ""))
        file, media = FILES[name]
        path = jobs.result_dir(job_id) / file
        if not path.is_file():
            raise HTTPException(404, f"job {job_id} has no {file}")
        return FileResponse(path, media_type=media)

    @app.websocket("/v1/live")
    async def live(ws: WebSocket) -> None:
        """Binary JPEG/PNG frames in; per frame ``{time, faces, main_track, state, label}`` out."""
        import cv2
        import numpy as np

        from .live import LiveAnalyzer

        await ws.accept()
        analyzer = LiveAnalyzer(faces=jobs.analyzer.faces)
        t0 = time.perf_counter()
        try:
            while True:
                message = await ws.receive()
                if message["type"] == "websocket.disconnect":
                    return
                data = message.get("bytes")
                if not data:  # a text frame, or an empty one: say so, keep the connection
                    await ws.send_json({"error": "send each frame as a binary message holding a JPEG or PNG image"})
                    continue
                try:  # decoded off the event loop (a huge frame must not freeze every other client), --workers at once
                    async with checking:
                        img = await asyncio.to_thread(cv2.imdecode, np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
                except cv2.error:
                    img = None
                if img is None:
                    await ws.send_json({"error": "frame is not a JPEG or PNG image"})
                    continue
                out = (await asyncio.to_thread(analyzer.step, img, time.perf_counter() - t0)).to_dict()
                out["width"], out["height"] = int(img.shape[1]), int(img.shape[0])
                await ws.send_json(out)
        except WebSocketDisconnect:
            return

    return app


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


def serve(host: str = "127.0.0.1", port: int = 8000, config: ServerConfig | None = None) -> None:
    import uvicorn

    app = create_app(config)
    uvicorn.run(app, host=host, port=port, log_level="info")
