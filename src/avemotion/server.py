"""The web app and REST API: ``avemotion serve`` (FastAPI + uvicorn; the ``server`` extra).

This module is the HTTP layer: the settings, the guard (who may talk to it), one module-level
router and :func:`create_app`. The job table, the files and the worker pool are
:mod:`avemotion.jobs`, which knows nothing of HTTP; a restart loses no job (see there).

REST (OpenAPI at ``/docs``, served from the package, no CDN)::

    POST /v1/analyze              multipart: file and any analysis option → 202 {id, status, links}
    GET  /v1/options              the analysis options (defaults, ranges, choices) and the outputs
    GET  /v1/jobs/{id}            status (queued, running, done, failed), progress, error
    GET  /v1/jobs/{id}/result     result.json       GET /v1/jobs/{id}/FILE  each output (timeline.csv, ...)
    GET  /v1/jobs                 recent jobs       GET /v1/health

The form's fields and the download routes are not written here: they come from the option
registry (:mod:`avemotion.options`) and the output registry (:mod:`avemotion.report.outputs`).
    WS   /v1/live                 JPEG frames in, per-frame faces and running state out
"""

# (No `from __future__ import annotations`: FastAPI reads the endpoint annotations at runtime.)

import asyncio
import inspect
import json
import logging
import mimetypes
import re
import time
import uuid
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from fastapi import APIRouter, FastAPI, File, Form, HTTPException, Request, UploadFile, WebSocket, WebSocketDisconnect
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.requests import HTTPConnection

from ._version import __version__
from .errors import AvemotionError, MediaError, OptionError, check_number
from .jobs import Jobs, JobsConfig, safe_name, validate_media
from .media import MEDIA_EXTENSIONS, decode_image, to_bgr8
from .pipeline import AnalyzeConfig

log = logging.getLogger(__name__)

WEB_DIR = Path(__file__).resolve().parent / "web"
JOB_ID = re.compile(r"^[0-9a-f]{32}$")


def output_files() -> dict[str, str]:
    """What ``/v1/jobs/{id}/NAME`` serves: ``result`` and each registered output's file name -> the file."""
    from .report.outputs import OUTPUTS

    return {"result": "result.json", **{o.filename: o.filename for o in OUTPUTS.values() if o.name != "json"}}


@dataclass
class ServerConfig(JobsConfig):
    """Settings of ``avemotion serve`` (each is a command-line option): the jobs' (:class:`JobsConfig`) and HTTP's."""

    max_upload_mb: float = 200.0
    # Who may talk to it (see Guard): Host names accepted (None: the loopback names when bound to
    # loopback, any when bound to all interfaces), other origins whose pages may call it, a token.
    allowed_hosts: list[str] | None = None
    allowed_origins: list[str] = field(default_factory=list)
    token: str | None = None
    bind_host: str = "127.0.0.1"

    def __post_init__(self) -> None:
        super().__post_init__()
        self.max_upload_mb = check_number("max_upload_mb", self.max_upload_mb, 0.001, 100_000)
        if self.token is not None and not (
            self.token.isascii() and self.token.isprintable() and self.token.strip() and " " not in self.token
        ):
            # HTTP headers are latin-1 at best; a token a browser or curl cannot send would lock everyone out
            raise OptionError("token must be printable ASCII without spaces (it travels in an HTTP header)")
        if self.allowed_hosts is not None:
            names = []
            for h in self.allowed_hosts:
                name = _host_name(h)
                if not name or "/" in name or (h.strip().startswith("[") and not _BRACKETED.match(h.strip())):
                    raise OptionError(f"--allow-host takes a host name (a port is ignored), not {h!r}")
                names.append(name)
            self.allowed_hosts = names


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
            self.hosts: set[str] | None = {h.lower().strip("[]") for h in config.allowed_hosts} | {
                "localhost",
                "127.0.0.1",
                "::1",
            }
        elif bound in ("0.0.0.0", "::", ""):
            self.hosts = None
        else:
            self.hosts = {n.strip("[]") for n in LOOPBACK_NAMES} | {bound.lower()}
        self.origins = {o.rstrip("/").lower() for o in config.allowed_origins}

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        # A ?token= never reaches the access log (which prints the query) or a route: it is taken out
        # of the query here, and only the page ("/") may turn it into a cookie.
        scope["avemotion.query_token"] = _pop_query_token(scope)
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
            given = headers.get("authorization", "").removeprefix("Bearer ").strip()
            cookie = _cookie(headers.get("cookie", ""), "avemotion_token")
            query = scope["avemotion.query_token"] if scope.get("path") == "/" else ""
            if not any(token_matches(t, token) for t in (given, cookie, query) if t):
                return 401, "this server needs a token: Authorization: Bearer TOKEN, or open /?token=TOKEN once"
        return None


async def _respond(send, status: int, message: str) -> None:
    body = json.dumps({"detail": message}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


_BRACKETED = re.compile(r"^\[([0-9a-f:.]+)\](?::\d{1,5})?$", re.IGNORECASE)


def _host_name(host: str) -> str:
    """The name in a Host header (or --allow-host), without its port, lower case.

    A bracketed IPv6 literal must be all of it: ``[::1]:8000`` is ``::1``, while ``[::1]evil.example``
    stays as it is (and so matches no allowed name).
    """
    host = host.strip().lower()
    if host.startswith("["):
        m = _BRACKETED.match(host)
        return m.group(1) if m else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def _cookie(header: str, name: str) -> str:
    for part in header.split(";"):
        key, _, value = part.strip().partition("=")
        if key == name:
            return value
    return ""


def _pop_query_token(scope) -> str:
    """The ``token`` of the request's query, removed from ``scope["query_string"]`` (in place, so
    that the server's access log, which reads the same scope, never prints it)."""
    from urllib.parse import parse_qsl, urlencode

    raw = scope.get("query_string", b"")
    if b"token" not in raw:
        return ""
    pairs = parse_qsl(raw.decode("latin-1"), keep_blank_values=True)
    scope["query_string"] = urlencode([(k, v) for k, v in pairs if k != "token"]).encode("latin-1")
    return next((v for k, v in pairs if k == "token"), "")


def token_matches(given: str, token: str) -> bool:
    """Constant-time comparison of a presented token with the server's."""
    import hmac

    return hmac.compare_digest(given.encode("utf-8", "replace"), token.encode())


# ---------------------------------------------------------------------------------------------
# The routes: one module-level router; each request reaches its app's jobs and settings through
# ``request.app.state`` (set by :func:`create_app`).

router = APIRouter()


def _jobs(request: HTTPConnection) -> Jobs:
    return request.app.state.jobs


def _config(request: HTTPConnection) -> ServerConfig:
    return request.app.state.config


def links(job_id: str) -> dict:
    """Where a job's status and outputs are served: ``result``, and ``timeline_csv`` for timeline.csv, ...
    (``report`` is also kept for report.html)."""
    base = f"/v1/jobs/{job_id}"
    out = {"self": base, **{name.replace(".", "_"): f"{base}/{name}" for name in output_files()}}
    if "report_html" in out:
        out["report"] = out["report_html"]
    return out


def public(job: dict) -> dict:
    """A job row as the API shows it."""
    return {
        "id": job["id"],
        "status": job["status"],
        "progress": job["progress"],
        "error": job["error"],
        "filename": job["filename"],
        "label": job["label"],
        "note": job["note"],
        "created": job["created"],
        "finished": job["finished"],
        "options": json.loads(job["options"] or "{}"),
        "links": links(job["id"]),
    }


def _get_job(jobs: Jobs, job_id: str) -> dict:
    job = jobs.store.get(job_id) if JOB_ID.match(job_id) else None
    if job is None:
        raise HTTPException(404, f"no job {job_id!r}")
    return job


@router.get("/", include_in_schema=False)
def index(request: Request):
    token, expected = request.scope.get("avemotion.query_token"), _config(request).token
    if token and expected:  # /?token=TOKEN: kept in a cookie, dropped from the URL
        response = RedirectResponse("/", status_code=303)
        if token_matches(token, expected):  # a wrong one never replaces a valid cookie
            response.set_cookie("avemotion_token", token, httponly=True, samesite="strict")
        return response
    return FileResponse(WEB_DIR / "index.html", media_type="text/html")


@router.get("/docs", include_in_schema=False)
def docs(request: Request) -> HTMLResponse:
    if not request.app.state.has_swagger:
        return HTMLResponse(
            "<p>Install swagger-ui-bundle for the interactive docs; the schema is at "
            "<a href='/openapi.json'>/openapi.json</a>.</p>"
        )
    from fastapi.openapi.docs import get_swagger_ui_html

    return get_swagger_ui_html(
        openapi_url="/openapi.json",
        title="avemotion API",
        swagger_js_url="/swagger/swagger-ui-bundle.js",
        swagger_css_url="/swagger/swagger-ui.css",
        swagger_favicon_url="/swagger/favicon-32x32.png",
    )


@router.get("/v1/health")
def health(request: Request) -> dict:
    config = _config(request)
    return {
        "status": "ok",
        "version": __version__,
        "workers": config.workers,
        "queued": _jobs(request).queue.qsize(),
        "max_upload_mb": config.max_upload_mb,
    }


@router.get("/v1/options")
def options() -> dict:
    """The analysis options (name, kind, default, range, choices, help) and the outputs, from the
    registries the command line reads too; the web page builds its form from this."""
    from .options import OPTIONS
    from .report.outputs import OUTPUTS, default_outputs

    return {
        "options": [o.describe() for o in OPTIONS.values()],
        "outputs": {
            name: {"file": o.filename, "help": o.help, "default": name in default_outputs()}
            for name, o in OUTPUTS.items()
        },
    }


async def submit(
    request: Request, file: UploadFile = File(..., description="a video, audio file or image"), **options: str | None
) -> JSONResponse:
    """Upload a file and queue its analysis; the form's other fields are analysis options (``/v1/options``)."""
    config, jobs = _config(request), _jobs(request)
    limit = int(config.max_upload_mb * 1024 * 1024)
    size_header = request.headers.get("content-length")
    if size_header and size_header.isdigit() and int(size_header) > limit + 1024 * 1024:
        raise HTTPException(413, f"upload too large: at most {config.max_upload_mb:g} MB")
    given = {k: v for k, v in options.items() if v not in (None, "")}
    try:  # checked as a local run would be, but models by shipped name and weights as text only
        checked = AnalyzeConfig.of(local=False, **given).flat()
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
        async with request.app.state.checking:  # decoding: off the event loop, no more at once than --workers
            problem = await asyncio.to_thread(validate_media, dest)
        if problem:
            raise HTTPException(415, f"{name}: {problem}")
    except BaseException:
        dest.unlink(missing_ok=True)
        raise
    jobs.submit(job_id, name, stored, {k: checked[k] for k in given})
    return JSONResponse({"id": job_id, "status": "queued", "links": links(job_id)}, status_code=202)


def submit_endpoint():
    """:func:`submit` with one form field per registered analysis option, so that FastAPI reads them
    and the OpenAPI schema lists them (the registry may grow after import: built by :func:`create_app`)."""
    from .options import OPTIONS

    async def endpoint(request: Request, file: UploadFile, **options: str | None) -> JSONResponse:
        return await submit(request, file, **options)

    fields = [
        inspect.Parameter(
            name, inspect.Parameter.KEYWORD_ONLY, annotation=str | None, default=Form(None, description=opt.help)
        )
        for name, opt in OPTIONS.items()
    ]
    head = [
        inspect.Parameter("request", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=Request),
        inspect.Parameter(
            "file",
            inspect.Parameter.POSITIONAL_OR_KEYWORD,
            annotation=UploadFile,
            default=File(..., description="a video, audio file or image"),
        ),
    ]
    endpoint.__signature__ = inspect.Signature(head + fields, return_annotation=JSONResponse)
    endpoint.__doc__, endpoint.__name__ = submit.__doc__, "submit"
    return endpoint


@router.get("/v1/jobs")
def list_jobs(request: Request, limit: int = 50) -> list[dict]:
    rows = _jobs(request).store.where("1 ORDER BY created DESC LIMIT ?", (max(1, min(limit, 500)),))
    return [public(j) for j in rows]


@router.get("/v1/jobs/{job_id}")
def job_status(request: Request, job_id: str) -> dict:
    return public(_get_job(_jobs(request), job_id))


@router.get("/v1/jobs/{job_id}/{name}")
def job_file(request: Request, job_id: str, name: str) -> FileResponse:
    """A finished job's output: ``result`` (result.json), or any output's file (``/v1/options``)."""
    jobs = _jobs(request)
    job = _get_job(jobs, job_id)
    files = output_files()
    if name not in files:
        raise HTTPException(404, f"no output {name!r}; outputs are {', '.join(files)}")
    if job["status"] != "done":
        raise HTTPException(409, f"job {job_id} is {job['status']}" + (f": {job['error']}" if job["error"] else ""))
    path = jobs.result_dir(job_id) / files[name]
    if not path.is_file():
        raise HTTPException(404, f"job {job_id} has no {files[name]}")
    return FileResponse(path, media_type=mimetypes.guess_type(files[name])[0] or "application/octet-stream")


@router.websocket("/v1/live")
async def live(ws: WebSocket) -> None:
    """Binary JPEG/PNG frames in; per frame ``{time, faces, main_track, state, label}`` out."""

    from .live import LiveAnalyzer

    await ws.accept()
    analyzer = LiveAnalyzer(faces=_jobs(ws).analyzer.faces)
    checking = ws.app.state.checking
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
            # Decoded and analysed off the event loop (a huge frame must not freeze every other client), and
            # no more at once than --workers: every decoded frame is held inside the same limit until analysed.
            async with checking:
                try:
                    out = await asyncio.to_thread(_live_step, analyzer, data, time.perf_counter() - t0)
                except MediaError as exc:
                    out = {"error": f"frame: {exc.reason}"}
            await ws.send_json(out)
    except WebSocketDisconnect:
        return


def _live_step(analyzer, data: bytes, t: float) -> dict:
    """One live frame: decoded within the decoding budget (JPEG, PNG, WebP...), analysed, as a dict."""
    import numpy as np

    img = to_bgr8(decode_image(np.frombuffer(data, np.uint8), "frame"))
    out = analyzer.step(img, t).to_dict()
    out["width"], out["height"] = int(img.shape[1]), int(img.shape[0])
    return out


def create_app(config: ServerConfig | None = None) -> FastAPI:
    """The app: :data:`router`'s routes, the static page, the guard, and a :class:`~avemotion.jobs.Jobs`
    pool started with the app and stopped with it."""
    config = config or ServerConfig()
    jobs = Jobs(config)

    @asynccontextmanager
    async def lifespan(app):
        jobs.start()
        yield
        jobs.stopping.set()

    app = FastAPI(
        title="avemotion",
        version=__version__,
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
        description="Emotion from faces and voices in video: upload a file, poll the job, fetch the result.",
    )
    app.state.jobs, app.state.config = jobs, config
    app.state.checking = asyncio.Semaphore(config.workers)
    app.mount("/static", StaticFiles(directory=str(WEB_DIR)), name="static")
    try:
        import swagger_ui_bundle

        app.mount("/swagger", StaticFiles(directory=swagger_ui_bundle.swagger_ui_path), name="swagger")
        app.state.has_swagger = True
    except ImportError:
        app.state.has_swagger = False
    app.include_router(router)
    app.add_api_route("/v1/analyze", submit_endpoint(), methods=["POST"], status_code=202)
    app.add_middleware(Guard, config=config)
    return app


def serve(
    host: str = "127.0.0.1", port: int = 8000, config: ServerConfig | None = None, banner: str | None = None
) -> None:
    """Run the app with uvicorn; ``banner`` is printed (stderr) once the data folder has been opened."""
    import sys

    import uvicorn

    app = create_app(config)
    if banner:
        print(banner, file=sys.stderr)
    uvicorn.run(app, host=host, port=port, log_level="info")
