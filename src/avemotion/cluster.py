"""Batch analysis and the server's jobs on a Ray cluster (the ``ray`` extra: ``pip install 'avemotion[ray]'``).

One Ray task per file runs :func:`avemotion.batch.analyze_one`, the step the local batch runs, so
the outputs, the skipping of finished files and ``error.json`` are the same. Each worker process
keeps its analyser (models loaded once) in :data:`_ANALYZERS`; the driver keeps at most
``max_in_flight`` files submitted, so memory stays flat for any number of files; a task whose
worker dies (killed, out of memory, node lost) is retried by Ray (``max_retries``), and a retried
file starts by removing what the killed writer left behind.

What the workers need: avemotion installed on every node (the same version; the models ship
inside the package), and the input files and ``--out`` folder at the same paths on every node (a
shared filesystem). A local runtime (``ray=True``) shares this machine's files.

Ray serialises task arguments and results with pickle between the cluster's own processes: only
run workers you trust, as with any Ray cluster. avemotion itself never loads a file with pickle.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator, Sequence
from pathlib import Path

from .errors import require

log = logging.getLogger("avemotion")

#: Per worker process: analysers by their configuration, loaded on the first file that needs one.
_ANALYZERS: dict[str, object] = {}
#: A task whose worker process dies is run again this many times before its file is an error.
MAX_RETRIES = 3


def connect(address: bool | str | None = True, num_cpus: int | None = None):
    """Start a local Ray runtime (``True``, ``"local"``) or join a cluster (``"auto"``, ``"ray://h:10001"``).

    Returns the ``ray`` module. Already connected: nothing changes. Workers get
    ``AVEMOTION_THREADS=1``: each task holds one CPU, and onnxruntime then uses one thread.
    """
    ray = require("ray", "ray", "--ray")
    if ray.is_initialized():
        return ray
    env = {"env_vars": {"AVEMOTION_THREADS": "1"}}
    if address in (True, None, "", "local"):
        ray.init(
            num_cpus=num_cpus or os.cpu_count(),
            include_dashboard=False,
            runtime_env=env,
            logging_level=logging.WARNING,
            log_to_driver=False,
        )
    else:
        ray.init(address=str(address), runtime_env=env, logging_level=logging.WARNING, log_to_driver=False)
    return ray


def _analyzer(config_json: str):
    """This worker's analyser for a configuration (models loaded once per process)."""
    if config_json not in _ANALYZERS:
        from .pipeline import AnalyzeConfig, VideoAnalyzer

        _ANALYZERS[config_json] = VideoAnalyzer(AnalyzeConfig.of(**json.loads(config_json)))
    return _ANALYZERS[config_json]


def analyze_file(path: str, target: str, config_json: str, outputs: Sequence[str], force: bool):
    """The Ray task: one file, as the local batch does it; returns its :class:`BatchItem`."""
    from .steps import analyze_one, as_error, batch_options, record_error

    f, out = Path(path), Path(target)
    try:
        analyzer = _analyzer(config_json)
        return analyze_one(f, out, analyzer, batch_options(analyzer.config, outputs), outputs, force)
    except Exception as exc:
        return record_error(f, out, as_error(exc, f))


def analyze_on_ray(
    files: Sequence[Path],
    dirs: dict[Path, Path],
    config,
    outputs: Sequence[str],
    *,
    force: bool = False,
    address: bool | str = True,
    max_in_flight: int | None = None,
) -> Iterator:
    """Every file as a Ray task; :class:`~avemotion.batch.BatchItem` s as they finish."""
    ray = connect(address)
    task = ray.remote(num_cpus=1, max_retries=MAX_RETRIES)(analyze_file)
    config_json = json.dumps(config.flat(), sort_keys=True)
    limit = max_in_flight or max(2, 2 * int(ray.cluster_resources().get("CPU", 1)))
    pending: dict = {}
    todo = iter(files)
    while True:
        while len(pending) < limit:
            f = next(todo, None)
            if f is None:
                break
            ref = task.remote(str(f), str(dirs[f]), config_json, list(outputs), force)
            pending[ref] = f
        if not pending:
            return
        done, _ = ray.wait(list(pending), num_returns=1)
        for ref in done:
            f = pending.pop(ref)
            yield _outcome(ray, ref, f, dirs[f])


def _outcome(ray, ref, f: Path, target: Path):
    """The task's BatchItem, or the file's error when Ray gave up on it (retries spent)."""
    from .errors import AvemotionError
    from .steps import record_error

    try:
        return ray.get(ref)
    except ray.exceptions.RayError as exc:
        reason = " ".join(str(exc).split())[:160]
        log.debug("ray task for %s failed", f, exc_info=True)
        return record_error(f, target, AvemotionError(f"the Ray task failed after {MAX_RETRIES} retries ({reason})", f))


# ---------------------------------------------------------------------------------------------
# The server's jobs (``avemotion serve --ray ADDRESS``)


def run_job(upload: str, out: str, options: dict, filename: str, annotate: bool) -> tuple[str, str | None]:
    """The Ray task behind one server job: analyse the upload, write its outputs.

    Returns ``("done", label)`` or ``("failed", one-line reason)``; the job table stays with the
    server, which sees ``out`` (a shared filesystem on a cluster).
    """
    from .steps import analyze_upload, as_error

    try:
        analyzer = _analyzer(json.dumps(options, sort_keys=True))
        result = analyze_upload(analyzer, Path(upload), Path(out), filename, annotate)
        return "done", result.label
    except Exception as exc:
        return "failed", as_error(exc, Path(filename)).reason


def run_job_on_ray(
    upload: Path, out: Path, options: dict, filename: str, annotate: bool, address: bool | str | None = True
) -> tuple[str, str | None]:
    """Run :func:`run_job` as a Ray task (retried if its worker dies) and wait for it."""
    ray = connect(address)
    task = ray.remote(num_cpus=1, max_retries=MAX_RETRIES)(run_job)
    try:
        return ray.get(task.remote(str(upload), str(out), options, filename, annotate))
    except ray.exceptions.RayError as exc:
        return "failed", f"the Ray task failed after {MAX_RETRIES} retries ({' '.join(str(exc).split())[:160]})"
