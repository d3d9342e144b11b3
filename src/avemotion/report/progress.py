"""A rich progress bar that shows only on a terminal, so pipes and CI logs stay clean."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager


def _ignore(n: int = 1) -> None:
    """The progress callback when no bar is drawn."""


@contextmanager
def progress_bar(label: str, total: int | None, enabled: bool = True) -> Iterator[Callable[..., None]]:
    """Yield ``advance(n=1)``; draws a bar on stderr when it is a terminal and ``enabled``."""
    if not enabled or not sys.stderr.isatty():
        yield _ignore
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=False,
    ) as bar:
        task = bar.add_task(label, total=total)

        def advance(n: int = 1) -> None:
            bar.advance(task, n)

        yield advance


@contextmanager
def progress_callback(label: str, enabled: bool = True) -> Iterator[Callable[[int, int], None]]:
    """Yield ``report(done, total)`` for code that takes a progress callback (evaluation, training):
    the bar is drawn by the caller's side, the work only says how far it is."""
    state: dict = {}
    with contextlib.ExitStack() as stack:

        def report(done: int, total: int) -> None:
            if "advance" not in state:
                state["advance"] = stack.enter_context(progress_bar(label, total, enabled))
                state["done"] = 0
            state["advance"](done - state["done"])
            state["done"] = done

        yield report
