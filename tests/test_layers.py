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
    assert imported & {".pipeline", ".batch", ".steps"}  # it does import the analysis it runs


# -- the whole import graph ------------------------------------------------------------------------

#: Layers from the bottom up; a module may import its own layer and those below, never above.
LAYERS = [
    {"_version", "errors", "taxonomy", "files", "options", "affect"},
    {"media", "bundles"},
    {"face", "speech"},
    {"fusion", "datasets", "live", "pipeline"},
    {"report", "steps", "evaluation", "training"},
    {"batch", "cluster", "jobs"},
    {"server", "cli"},
    {"__init__", "__main__"},
]


def _module_name(path: Path) -> str:
    rel = path.relative_to(SRC).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__" and len(parts) > 1:
        parts = parts[:-1]
    return ".".join(parts)


def _edges() -> dict[str, set[str]]:
    """Module -> avemotion modules it imports anywhere in the file (TYPE_CHECKING blocks left out)."""
    modules = {_module_name(p): p for p in SRC.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        type_only = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If)
                     and getattr(node.test, "id", "") == "TYPE_CHECKING" for n in ast.walk(node)}
        package = name.split(".") if path.name == "__init__.py" and name != "__init__" else name.split(".")[:-1]
        out = set()
        for node in ast.walk(tree):
            if id(node) in type_only or not isinstance(node, (ast.Import, ast.ImportFrom)):
                continue
            if isinstance(node, ast.Import):
                targets = [a.name.removeprefix("avemotion.") for a in node.names if a.name.startswith("avemotion.")]
            elif node.level == 0:
                targets = [node.module.removeprefix("avemotion.")] if (node.module or "").startswith("avemotion.") else []
            else:
                base = package[: len(package) - (node.level - 1)] if node.level > 1 else package
                if node.module:
                    targets = [".".join(base + node.module.split("."))]
                else:  # from . import x: a module, or a name of the package itself
                    targets = [".".join(base + [a.name]) if ".".join(base + [a.name]) in modules
                               else (".".join(base) or "__init__") for a in node.names]
            for t in targets:
                while t and t not in modules and "." in t:
                    t = t.rsplit(".", 1)[0]
                if t in modules and t != name:
                    out.add(t)
        graph[name] = out
    return graph


def _layer(module: str) -> int:
    top = module.split(".")[0]
    return next(i for i, layer in enumerate(LAYERS) if top in layer)


def test_the_import_graph_has_no_circle():
    graph = _edges()
    index, low, stack, on, cycles = {}, {}, [], set(), []

    def visit(v):  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                cycles.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    assert not cycles, f"import circles: {cycles}"


def test_no_module_imports_a_higher_layer():
    graph = _edges()
    assert all(any(m.split(".")[0] in layer for layer in LAYERS) for m in graph), \
        sorted(m for m in graph if not any(m.split(".")[0] in layer for layer in LAYERS))
    upward = sorted(f"{a} -> {b}" for a, targets in graph.items() for b in targets if _layer(b) > _layer(a))
    assert not upward, upward


def test_no_function_is_longer_than_80_lines():
    """Small functions: a longer one is split into named steps (a house rule, issue 24)."""
    long = []
    for path in sorted(SRC.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.end_lineno - node.lineno >= 80:
                long.append(f"{path.relative_to(SRC)}:{node.lineno} {node.name} ({node.end_lineno - node.lineno + 1})")
    assert not long, long
