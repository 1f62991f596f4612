"""hfgan's modules import in one direction: no cycle among them, and none imports the top-level package from below.

The graph is read from the source (every `import` outside `if TYPE_CHECKING:` blocks, inside functions too, since a
lazy import still ties the two modules together), so the test needs no import to run.
"""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "hfgan"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def hfgan_modules() -> dict[str, Path]:
    return {module_name(p): p for p in PACKAGE.rglob("*.py")}


def _outside_type_checking(tree: ast.AST):
    """Every node of `tree` but those under `if TYPE_CHECKING:` (imports for annotations only)."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            stack.extend(node.orelse)
            continue
        yield node
        stack.extend(ast.iter_child_nodes(node))


def imports_of(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The hfgan modules that module `name` imports (`from pkg import sub` counts as importing `pkg.sub`)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in _outside_type_checking(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([node.module] if node.module else []))
            for alias in node.names:
                found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base)
    return {m for m in found if m in modules and m != name}


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    modules = hfgan_modules()
    return {name: imports_of(name, path, modules) for name, path in modules.items()}


def test_no_module_imports_the_top_level_package(graph):
    offenders = sorted(name for name, targets in graph.items() if "hfgan" in targets and name != "hfgan")
    assert offenders == [], f"modules importing the top-level hfgan package: {offenders}"


def test_the_import_graph_has_no_cycle(graph):
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    cycles = []

    def visit(name: str, path: list[str]) -> None:
        state[name] = 1
        for target in sorted(graph[name]):
            if state.get(target) == 1:
                cycles.append(path[path.index(target) :] + [target])
            elif target not in state:
                visit(target, path + [target])
        state[name] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert cycles == [], "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)


def test_the_graph_reader_sees_relative_and_absolute_imports(graph):
    # a check of the reader itself, on edges that exist for certain: otherwise an empty graph would pass the tests above
    assert "hfgan.training.checkpoint" in graph["hfgan.training.run"]  # from .checkpoint import ...
    assert "hfgan.losses" in graph["hfgan.steps"]  # from .losses import ...
    assert "hfgan._lazy" in graph["hfgan.training"]  # a package's __init__: from .._lazy import ...
