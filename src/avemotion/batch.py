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

import json
import logging
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from .errors import AvemotionError
from .media import AUDIO_EXTENSIONS, IMAGE_EXTENSIONS, VIDEO_EXTENSIONS, check_file

MEDIA_EXTENSIONS = VIDEO_EXTENSIONS | AUDIO_EXTENSIONS | IMAGE_EXTENSIONS


def expand_paths(paths: Iterable[str | os.PathLike[str]], exts: set[str] = MEDIA_EXTENSIONS) -> list[Path]:
    """Files named directly, plus the media files (by extension) inside named folders, sorted."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out.extend(sorted(q for q in p.rglob("*") if q.is_file() and q.suffix.lower() in exts))
        else:
            out.append(p)
    return out


def as_error(exc: Exception, path: Path) -> AvemotionError:
    """Any failure on one file as a one-line AvemotionError; the traceback goes to the log (-v)."""
    if isinstance(exc, AvemotionError):
        return exc
    if isinstance(exc, OSError) and exc.strerror:  # permission denied, disk full, a file in the way...
        where = f" ({exc.filename})" if exc.filename and str(exc.filename) != str(path) else ""
        return AvemotionError(f"{exc.strerror.lower()}{where}", path)
    logging.getLogger("avemotion").debug("unexpected error on %s", path, exc_info=True)
    return AvemotionError(f"unexpected error ({type(exc).__name__}: {' '.join(str(exc).split())[:160]})", path)


def run_each(files: Sequence[Path], analyze: Callable[[Path], object]) -> Iterator[tuple[Path, object, AvemotionError | None]]:
    """``(path, result, None)`` or ``(path, None, error)`` for each file in turn; no failure stops the rest."""
    for f in files:
        try:
            yield f, analyze(f), None
        except Exception as exc:  # noqa: BLE001 (a batch goes on past any one file)
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
    result: object | None = None  # the AnalysisResult when status is "ok"
    error: str | None = None

    def to_dict(self) -> dict:
        line = {"path": str(self.path), "out": str(self.out), "status": self.status}
        if self.error:
            return line | {"error": self.error}
        if self.result is not None:
            r = self.result
            line |= {"label": r.label, "face": r.status["face"], "voice": r.status["voice"]}
        return line


def analyze_one(f: Path, target: Path, analyzer, options: dict, outputs: Sequence[str], force: bool = False) -> BatchItem:
    """One file of a batch: skip it if ``target`` holds its current result, else analyse and write.

    The same step runs in this process (:func:`analyze_many`) and on a Ray worker
    (:mod:`avemotion.cluster`). Leftover temporary files of a run that was killed mid-write are
    removed first; the outputs are written atomically, ``result.json`` last.
    """
    from .report.outputs import remove_partial, write_outputs

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
    from .evaluation import write_json

    try:
        write_json({"path": str(f), "error": err.reason}, target / "error.json")
    except OSError as exc:  # an unwritable --out must not hide the file's own error
        logging.getLogger("avemotion").warning("cannot record the error of %s: %s", f, exc)
    return BatchItem(f, target, "error", error=err.reason)


def analyze_many(paths: Iterable[str | os.PathLike[str]], out: str | os.PathLike[str] = "avemotion-out",
                 config=None, *, force: bool = False, annotate: bool = True, analyzer=None,
                 out_dirs: dict[Path, Path] | None = None, outputs: Sequence[str] | None = None,
                 ray: bool | str | None = None, max_in_flight: int | None = None) -> Iterator[BatchItem]:
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


def batch_options(config, outputs: Sequence[str]) -> dict:
    """What a finished file's result must have been made with to be skipped: the options and outputs."""
    return config.flat() | {"outputs": list(outputs)}
