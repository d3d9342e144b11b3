"""Writing files so that a crash never leaves half of one: a temporary name, then a rename.

The one place avemotion writes its JSON (results, metrics, error records) and moves any other
output into place; ``remove_partial`` clears what a writer killed mid-file left behind.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path


def atomic(path: Path, write: Callable[[Path], object]) -> Path:
    """Call ``write(tmp)`` on a temporary sibling of ``path``, then move it into place (removed on failure)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp{path.suffix}")
    try:
        write(tmp)
        tmp.replace(path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def write_json(obj: dict, path: str | os.PathLike[str], indent: int = 2) -> Path:
    """``obj`` as UTF-8 JSON at ``path`` (its folder made if needed), atomically; odd characters escaped."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(obj, indent=indent, ensure_ascii=False) + "\n"
    return atomic(path, lambda t: t.write_text(text, encoding="utf-8", errors="backslashreplace"))


def remove_partial(out: Path) -> int:
    """Delete what a writer killed mid-file left in ``out`` (``.NAME.PID.tmp.EXT``); how many."""
    n = 0
    for leftover in out.glob(".*.tmp*") if out.is_dir() else ():
        leftover.unlink(missing_ok=True)
        n += 1
    return n
