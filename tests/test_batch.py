"""The batch's bookkeeping: what makes a result current, what a rerun skips, what --force redoes."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from avemotion.batch import analyze_one, is_done, source_stamp

from .test_analyze import run


def image(path: Path, value: int = 80, size: tuple[int, int] = (64, 64)) -> Path:
    import cv2

    cv2.imwrite(str(path), np.full((*size, 3), value, np.uint8))
    return path


def test_source_stamp_is_path_size_time_and_options(tmp_path):
    f = image(tmp_path / "a.png")
    st = f.stat()
    assert source_stamp(f) == {"path": str(f.resolve()), "bytes": st.st_size, "mtime_ns": st.st_mtime_ns}
    assert source_stamp(f, {"fps": 5}) == source_stamp(f) | {"options": {"fps": 5}}
    assert source_stamp(f, {}) == source_stamp(f) | {"options": {}}


def test_is_done_only_for_the_very_same_stamp(tmp_path):
    f = image(tmp_path / "a.png")
    out = tmp_path / "out"
    stamp = source_stamp(f, {"fps": 5})
    assert not is_done(out, stamp)  # no folder
    out.mkdir()
    (out / "result.json").write_text("{not json")
    assert not is_done(out, stamp)
    (out / "result.json").write_text(json.dumps({"source": stamp}))
    assert is_done(out, stamp)
    assert not is_done(out, stamp | {"bytes": stamp["bytes"] + 1})
    assert not is_done(out, stamp | {"mtime_ns": stamp["mtime_ns"] + 1})
    assert not is_done(out, stamp | {"options": {"fps": 2}})


def test_analyze_one_skips_current_results_and_redoes_the_rest(tmp_path, va):
    f = image(tmp_path / "a.png")
    out = tmp_path / "out"
    first = analyze_one(f, out, va, {"o": 1}, ["json"])
    assert first.status == "ok" and first.result is not None and first.error is None
    assert json.loads((out / "result.json").read_text())["source"] == source_stamp(f, {"o": 1})
    assert sorted(p.name for p in out.iterdir()) == ["result.json"]  # only the outputs asked for
    again = analyze_one(f, out, va, {"o": 1}, ["json"])
    assert again.status == "done earlier" and again.result is None and again.out == out and again.path == f
    assert analyze_one(f, out, va, {"o": 1}, ["json"], force=True).status == "ok"
    assert analyze_one(f, out, va, {"o": 2}, ["json"]).status == "ok"  # other options
    (out / "error.json").write_text("{}")  # an earlier failure's record, and a killed writer's leftover
    (out / ".result.json.123.tmp.json").write_text("half")
    image(f, 200, (64, 96))
    redone = analyze_one(f, out, va, {"o": 2}, ["json"])
    assert redone.status == "ok" and not (out / "error.json").exists()
    assert not list(out.glob(".*.tmp*"))
    assert redone.to_dict() == {"path": str(f), "out": str(out), "status": "ok", "label": redone.result.label,
                                "face": "no face", "voice": "missing"}


def test_batch_redoes_a_changed_file_and_honours_force(tmp_path, capsys):
    """The stamp is the file's path, size and time and the options: change any and that file is redone."""

    import cv2

    src = tmp_path / "in"
    src.mkdir()
    for i in range(3):
        cv2.imwrite(str(src / f"img{i}.png"), np.full((64, 64, 3), 50 * i, np.uint8))
    out = tmp_path / "out"

    def statuses(*extra):
        code, stdout, err = run(capsys, "analyze", src, "--out", out, "--outputs", "json", *extra)
        assert code == 0
        return {Path(d["path"]).name: d["status"] for d in map(json.loads, stdout.splitlines())}, err

    first, err = statuses()
    assert first == {"img0.png": "ok", "img1.png": "ok", "img2.png": "ok"}
    assert "3 files: 3 analysed, 0 done earlier (skipped), 0 failed" in " ".join(err.split())
    again, err = statuses()
    assert set(again.values()) == {"done earlier"}
    assert "3 files: 0 analysed, 3 done earlier (skipped), 0 failed" in " ".join(err.split())
    cv2.imwrite(str(src / "img1.png"), np.full((64, 80, 3), 99, np.uint8))  # other content, other size
    st = (src / "img2.png").stat()
    os.utime(src / "img2.png", ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))  # same bytes, newer time
    changed, _ = statuses()
    assert changed == {"img0.png": "done earlier", "img1.png": "ok", "img2.png": "ok"}
    assert json.loads((out / "img1" / "result.json").read_text())["source"]["bytes"] == (src / "img1.png").stat().st_size
    forced, err = statuses("--force")
    assert set(forced.values()) == {"ok"}
    assert "3 files: 3 analysed, 0 done earlier (skipped), 0 failed" in " ".join(err.split())
