"""The ``avemotion`` command: a module per subcommand, each holding its parser beside its handler.

``speech`` (the voice of audio/video files), ``face`` (faces in images), ``analyze`` (both over time,
fused), ``live`` (a camera), ``serve`` (web app and API), ``evaluate`` and ``train`` (the ``train``
extra), ``models`` (what ships). Every error about the user's input is one line on stderr naming
the file; a batch goes on past a broken file and records it.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from .._version import __version__
from ..errors import AvemotionError
from . import analyze, evaluate, face, live, models, serve, speech, train
from .common import DEMO_SPEECH, DEMO_VIDEO, err

__all__ = ["DEMO_SPEECH", "DEMO_VIDEO", "EXTRA_OF_MODULE", "build_parser", "main"]

#: The subcommands, in the order ``avemotion --help`` lists them.
COMMANDS = (speech, face, analyze, live, serve, evaluate, train, models)

#: Which extra (pyproject.toml) brings a module that a command imports on demand.
EXTRA_OF_MODULE = {
    "torch": "train",
    "onnx": "train",
    "skl2onnx": "train",
    "librosa": "baseline",
    "sklearn": "eval",
    "matplotlib": "plots",
    "pandas": "dataframe",
    "fastapi": "server",
    "uvicorn": "server",
    "multipart": "server",
    "ray": "ray",
}


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="avemotion", description="Emotion from faces and voices in video, offline.")
    p.add_argument("--version", action="version", version=f"avemotion {__version__}")
    p.add_argument("-v", "--verbose", action="store_true", help="log progress of long work")
    sub = p.add_subparsers(dest="command", required=True)
    for command in COMMANDS:
        command.add_parser(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        return int(args.func(args) or 0)
    except AvemotionError as exc:
        err(str(exc))
        return 2
    except ModuleNotFoundError as exc:
        top = (exc.name or "").split(".")[0]
        extra = EXTRA_OF_MODULE.get(top)
        err(f"{exc.name} is not installed" + (f": pip install 'avemotion[{extra}]'" if extra else ""))
        return 2
    except KeyboardInterrupt:
        err("interrupted")
        return 130
