"""The package's layout is its pipeline: docs/ARCHITECTURE.md describes every folder of
``embedsim/`` (and nothing else), and no module imports itself back through others."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "embedsim"


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(path): path for path in PACKAGE.rglob("*.py")}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def imports_of(path: Path, module: str, known: set[str]) -> set[str]:
    """The package modules ``module`` imports at run time - at its top or inside functions,
    not under ``if TYPE_CHECKING:`` - each ``from pkg import name`` resolved to the module
    ``pkg.name`` where that is one."""
    found: set[str] = set()
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.split(".")[0] == "embedsim")
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            if base.split(".")[0] == "embedsim":
                for alias in node.names:
                    found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8")))
    found.discard(module)
    return found & known


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                connect(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return cycles


def test_no_module_imports_itself_back() -> None:
    modules = _modules()
    graph = {name: imports_of(path, name, set(modules)) for name, path in modules.items()}
    assert import_cycles(graph) == []


def test_the_cycle_finder_sees_a_cycle_through_a_lazy_import(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("from embedsim.b import x\n")
    (tmp_path / "b.py").write_text("def f():\n    from embedsim.a import y\n")
    (tmp_path / "c.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from embedsim.a import y\n")
    known = {"embedsim.a", "embedsim.b", "embedsim.c"}
    graph = {f"embedsim.{n}": imports_of(tmp_path / f"{n}.py", f"embedsim.{n}", known) for n in "abc"}
    assert graph["embedsim.c"] == set()
    assert import_cycles(graph) == [["embedsim.a", "embedsim.b"]]


def _documented_folders() -> list[str]:
    text = (ROOT / "docs" / "ARCHITECTURE.md").read_text(encoding="utf-8")
    return re.findall(r"^### `(embedsim/[\w/]*)`", text, flags=re.M)


def test_the_architecture_describes_every_folder_and_only_folders_that_exist() -> None:
    folders = sorted(f"{p.relative_to(ROOT).as_posix()}/" for p in PACKAGE.rglob("__init__.py")
                     for p in [p.parent])
    assert sorted(_documented_folders()) == folders


#: What only the Gemini backend (and its emulator) may name: its key header and variables, its
#: call, its body shape and its host. Every other module reads them from ``BackendSpec.wire``.
GEMINI_FACTS = re.compile(r"x-goog-api-key|batchEmbedContents|inline_data|GEMINI_API_KEY|GOOGLE_API_KEY|generativelanguage")


def test_only_the_gemini_backend_and_the_emulators_name_gemini_facts() -> None:
    found = [f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
             for path in sorted(PACKAGE.rglob("*.py"))
             for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
             if GEMINI_FACTS.search(line)]
    allowed = ("embedsim/backends/gemini/", "embedsim/testing/")
    assert [f for f in found if not f.startswith(allowed)] == []
    assert any(f.startswith("embedsim/backends/gemini/") for f in found)  # the scan sees what it looks for
