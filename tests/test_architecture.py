"""The package's shape: modules import downward only, and the attacks and the model
file reach a fit through the fitted network alone (docs/architecture.md)."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "skneural"

# What the attacks and the model file may not import: the estimators' internals and
# the workspaces, which only the fitted network uses.
_INTERNALS = {"_base", "_pool", "_epoch", "_training", "_holdout", "_workspace", "_shapeless"}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> list[tuple[str, list[str]]]:
    """(imported module, imported names) for each skneural import in ``path``."""
    package = _module_name(path)
    if path.name != "__init__.py":
        package = package.rsplit(".", 1)[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            names = [alias.name for alias in node.names]
            if not node.module:  # from . import x: each name is a module
                found += [(f"{module}.{name}", []) for name in names]
            else:
                found.append((module, names))
        elif isinstance(node, ast.Import):
            found += [(alias.name, []) for alias in node.names]
    return [(m, n) for m, n in found if m == "skneural" or m.startswith("skneural.")]


def _modules() -> dict[str, Path]:
    return {_module_name(path): path for path in PACKAGE.rglob("*.py")}


def _consumers() -> list[Path]:
    return [
        PACKAGE / "_persistence.py",
        PACKAGE / "_manifest.py",
        PACKAGE / "_manifest_checks.py",
        *sorted((PACKAGE / "adversarial").rglob("*.py")),
    ]


@pytest.mark.parametrize("path", _consumers(), ids=lambda p: p.name)
def test_attacks_and_model_file_use_only_the_fitted_network(path):
    for module, names in _imports(path):
        last = module.rsplit(".", 1)[-1]
        assert last not in _INTERNALS, f"{path.name} imports {module}"
        if last in ("_classifier", "_regressor"):
            private = [name for name in names if name.startswith("_")]
            assert not private, f"{path.name} imports private {private} from {module}"


def test_the_package_has_no_import_cycle():
    modules = _modules()
    graph = {
        # The root package only re-exports; modules reading its __version__ do so
        # inside functions, at run time.
        name: {m for m, _ in _imports(path) if m in modules and m not in (name, "skneural")}
        for name, path in modules.items()
    }
    # Package __init__ modules re-export their children; the edges that matter run
    # between modules, so a package's own children do not count as its dependencies.
    for name in graph:
        graph[name] = {m for m in graph[name] if not m.startswith(name + ".")}
    state: dict[str, int] = {}

    def visit(name: str, path: list[str]) -> None:
        state[name] = 1
        for dependency in sorted(graph[name]):
            if state.get(dependency) == 1:
                cycle = path[path.index(dependency) :] + [dependency]
                raise AssertionError(f"import cycle: {' -> '.join(cycle)}")
            if dependency not in state:
                visit(dependency, path + [dependency])
        state[name] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])


# The estimators' modules are long by scikit-learn's rules: numpydoc docstrings and an
# explicit __init__ listing every parameter.
_ESTIMATOR_MODULES = {"skneural._classifier", "skneural._regressor"}


def test_every_other_module_reads_in_one_sitting():
    lengths = {name: len(path.read_text().splitlines()) for name, path in _modules().items()}
    long = {name: n for name, n in lengths.items() if n > 300 and name not in _ESTIMATOR_MODULES}
    assert not long, f"modules over 300 lines (split them along a seam): {long}"
