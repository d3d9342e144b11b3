"""Many files, one after another: resumable, one output folder each, a broken file recorded, never fatal.

The one batch runner behind ``avemotion analyze FILES...`` and :func:`avemotion.analyze_many`::

    import avemotion
    for item in avemotion.analyze_many(["a.mp4", "b.mov", "clips/"], out="results"):
        item.path, item.status, item.out          # "ok", "done earlier" or "error"
        item.result                               # AnalysisResult (None unless "ok")

Each file gets a folder under ``out`` named after it (its path relative to the files' common
folder where names clash, so ``a/sub/x.jpg`` and ``b/sub/x.jpg``, or ``y.jpg`` and ``y.wav``,
never share one). A finished file is skipped on a rerun when its ``result.json`` records the same
file (path, size, time) *and* the same analysis options; a file that fails gets ``error.json``
with the one-line reason and the batch goes on.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from .errors import AvemotionError
from .media import MEDIA_EXTENSIONS
from .steps import BatchItem, analyze_one, analyze_upload, as_error, batch_options, is_done, record_error, source_stamp

__all__ = [
    "BatchItem",
    "analyze_many",
    "analyze_one",
    "analyze_upload",
    "as_error",
    "batch_options",
    "expand_paths",
    "is_done",
    "output_dirs",
    "record_error",
    "run_each",
    "source_stamp",
]


def expand_paths(paths: Iterable[str | os.PathLike[str]], exts: set[str] = MEDIA_EXTENSIONS) -> list[Path]:
    """Files named directly, plus the media files (by extension) inside named folders, sorted."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out.extend(sorted(q for q in p.rglob("*") if q.is_file() and q.suffix.lower() in exts))
        else:
            out.append(p)
    return out


def run_each(
    files: Sequence[Path], analyze: Callable[[Path], Any]
) -> Iterator[tuple[Path, Any, AvemotionError | None]]:
    """``(path, result, None)`` or ``(path, None, error)`` for each file in turn; no failure stops the rest."""
    for f in files:
        try:
            yield f, analyze(f), None
        except Exception as exc:
            yield f, None, as_error(exc, f)


def output_dirs(files: Sequence[Path], root: Path) -> dict[Path, Path]:
    """A distinct folder under ``root`` for every file.

    The file's stem where no other file shares it; otherwise its path relative to the files'
    common folder, extension included, with separators as ``__`` (``a__sub__x.jpg``).
    """
    stems: dict[str, int] = {}
    for f in files:
        stems[f.stem] = stems.get(f.stem, 0) + 1
    resolved = [f.resolve() for f in files]
    common = Path(os.path.commonpath([str(r.parent) for r in resolved])) if resolved else Path(".")
    out = {}
    for f, r in zip(files, resolved, strict=True):
        name = f.stem if stems[f.stem] == 1 else "__".join(r.relative_to(common).parts)
        out[f] = root / name
    return out


def analyze_many(
    paths: Iterable[str | os.PathLike[str]],
    out: str | os.PathLike[str] = "avemotion-out",
    config=None,
    *,
    force: bool = False,
    annotate: bool = True,
    analyzer=None,
    out_dirs: dict[Path, Path] | None = None,
    outputs: Sequence[str] | None = None,
    ray: bool | str | None = None,
    max_in_flight: int | None = None,
) -> Iterator[BatchItem]:
    """Analyse every media file of ``paths`` (files or folders), writing each one's outputs under ``out``.

    Yields a :class:`BatchItem` per file as it finishes. ``config`` is an
    :class:`~avemotion.pipeline.AnalyzeConfig` (default options if None); ``analyzer`` an existing
    :class:`~avemotion.pipeline.VideoAnalyzer` to reuse (its models stay loaded). ``force`` redoes
    files finished earlier. ``out_dirs`` overrides the folder of given files. ``outputs``: which
    files to write (:data:`~avemotion.report.outputs.OUTPUTS`; default all, ``annotate=False``
    drops annotated.mp4); a file finished earlier with other outputs is done again.

    ``ray``: run one Ray task per file instead (the ``ray`` extra; :mod:`avemotion.cluster`):
    ``True`` or ``"local"`` starts a Ray runtime on this machine, an address (``"auto"``,
    ``"ray://host:10001"``) joins a cluster, whose nodes must all see ``out``. Items then come in
    the order files finish, at most ``max_in_flight`` files at once (default: twice the cluster's
    CPUs), with the same outputs, skipping and ``error.json`` as here.
    """
    from .pipeline import AnalyzeConfig, VideoAnalyzer
    from .report.outputs import parse_outputs

    kinds = [k for k in parse_outputs(outputs) if annotate or k != "mp4"]
    files = expand_paths(paths)
    dirs = output_dirs(files, Path(out)) | (out_dirs or {})
    if ray:
        from .cluster import analyze_on_ray

        cfg = analyzer.config if analyzer is not None else (config or AnalyzeConfig())
        yield from analyze_on_ray(files, dirs, cfg, kinds, force=force, address=ray, max_in_flight=max_in_flight)
        return
    analyzer = analyzer or VideoAnalyzer(config)
    options = batch_options(analyzer.config, kinds)

    def one(f: Path) -> BatchItem:
        return analyze_one(f, dirs[f], analyzer, options, kinds, force)

    for f, item, err in run_each(files, one):
        yield item if err is None else record_error(f, dirs[f], err)
