"""``avemotion serve``: the web app and REST API (the ``server`` extra)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from .common import err


def add_parser(sub) -> None:
    sv = sub.add_parser("serve", help="the web app and REST API (needs the server extra)")
    sv.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    sv.add_argument("--port", type=int, default=8000)
    sv.add_argument("--data-dir", default="avemotion-data", help="jobs, uploads and results (default avemotion-data)")
    sv.add_argument("--workers", type=int, default=1, help="analyses at once; more uploads queue (default 1)")
    sv.add_argument("--max-upload-mb", type=float, default=200.0, help="largest upload accepted (default 200)")
    sv.add_argument("--retention-days", type=float, default=7.0, help="delete finished jobs after this long")
    sv.add_argument("--no-annotate", action="store_true", help="skip annotated.mp4")
    sv.add_argument(
        "--allow-host",
        action="append",
        metavar="NAME",
        help="a Host name to answer to besides localhost (repeatable; default: any when bound to 0.0.0.0)",
    )
    sv.add_argument(
        "--allow-origin",
        action="append",
        metavar="URL",
        help="another site whose pages may call the API, e.g. https://app.example (repeatable)",
    )
    sv.add_argument(
        "--token",
        default=None,
        help="require this token (Authorization: Bearer TOKEN; browsers: open /?token=TOKEN once); "
        "also read from $AVEMOTION_TOKEN",
    )
    sv.add_argument(
        "--ray",
        nargs="?",
        const="local",
        default=None,
        metavar="ADDRESS",
        help="run jobs on Ray (pip install 'avemotion[ray]'): alone, a local runtime; with an address "
        "(auto, ray://host:10001) a cluster whose nodes all see --data-dir; --workers jobs at once",
    )
    sv.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        import fastapi  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError:
        err("the web app needs the server extra: pip install 'avemotion[server]'")
        return 2
    from ..errors import check_number
    from ..server import ServerConfig, serve

    check_number("port", args.port, 1, 65535)
    cfg = ServerConfig(
        data_dir=Path(args.data_dir),
        workers=args.workers,
        max_upload_mb=args.max_upload_mb,
        retention_days=args.retention_days,
        annotate=not args.no_annotate,
        ray=args.ray,
        allowed_hosts=args.allow_host,
        allowed_origins=args.allow_origin or [],
        token=args.token or os.environ.get("AVEMOTION_TOKEN") or None,
        bind_host=args.host,
    )
    serve(
        args.host,
        args.port,
        cfg,
        banner=f"avemotion web app on http://{args.host}:{args.port}/ (API docs at /docs; data in {cfg.data_dir})",
    )
    return 0
