"""The layering: inference packages (face/, speech/) never reach corpora, evaluation, training or reports."""

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "avemotion"
FORBIDDEN = {"datasets", "evaluation", "training", "report", "cli", "server", "jobs"}


def _imported_modules(path: Path) -> set[str]:
    """Top-level avemotion modules a file imports (relative or absolute, at any depth in the file)."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level == 2 and node.module:  # from ..X import
                out.add(node.module.split(".")[0])
            elif node.level == 2:  # from .. import X
                out.update(a.name for a in node.names)
            elif node.level == 0 and node.module and node.module.startswith("avemotion."):
                out.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            out.update(a.name.split(".")[1] for a in node.names if a.name.startswith("avemotion."))
            out.update("torch" for a in node.names if a.name.split(".")[0] == "torch")
    return out


@pytest.mark.parametrize("package", ["face", "speech"])
def test_inference_packages_import_no_training_evaluation_or_report(package):
    for path in sorted((SRC / package).glob("*.py")):
        bad = _imported_modules(path) & (FORBIDDEN | {"torch"})
        assert not bad, f"{path.relative_to(SRC)} imports {sorted(bad)}"


def test_the_job_machinery_knows_no_web_framework():
    """jobs.py (job table, files, worker pool) is usable without FastAPI; server.py is the HTTP layer,
    which jobs.py names only for type checking."""
    tree = ast.parse((SRC / "jobs.py").read_text(encoding="utf-8"))
    type_only = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If) and getattr(node.test, "id", "") == "TYPE_CHECKING"
                 for n in ast.walk(node)}
    imported = set()
    for n in ast.walk(tree):
        if id(n) in type_only:
            continue
        if isinstance(n, ast.Import):
            imported |= {a.name.split(".")[0] for a in n.names}
        elif isinstance(n, ast.ImportFrom) and n.module:
            imported.add(("." * n.level) + n.module.split(".")[0])
    assert not imported & {"fastapi", "starlette", "uvicorn", ".server", ".cli"}, imported
    assert ".pipeline" in imported or ".batch" in imported  # it does import the analysis it runs
