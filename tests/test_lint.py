"""The habits: ruff (lint and format) and mypy pass over src/, with the configuration in pyproject.toml."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _tool(name: str) -> str:
    path = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    if path is None:
        pytest.skip(f"{name} is not installed (pip install -e '.[lint]')")
    return path


@pytest.mark.parametrize("args", [["check", "src"], ["format", "--check", "src"]], ids=["lint", "format"])
def test_ruff_is_clean(args):
    r = subprocess.run([_tool("ruff"), *args, "--no-cache"], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_mypy_is_clean(tmp_path):
    r = subprocess.run([_tool("mypy"), "--cache-dir", str(tmp_path / "mypy")], cwd=ROOT, capture_output=True,
                       text=True, timeout=280)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]
