"""The package's shape: no import circle, lower layers never import upward, every table is a spec.

The import graph is read from the source with ``ast`` (every ``import`` statement, also those
inside functions), so a circle hidden in a lazy import fails here as much as one at the top."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "irstd_lib"
NOTEBOOK_DIR = PACKAGE.parent / "notebooks"


def _modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def import_graph() -> dict[str, set[str]]:
    """``module -> the package modules it imports`` (a ``from package import name`` counts as the
    submodule ``package.name`` where there is one, else as the package)."""
    modules = _modules()

    def known(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(anchor + ([node.module] if node.module else []))
                targets = [f"{base}.{alias.name}" for alias in node.names]
            for target in targets:
                found = known(target)
                if found and found != name and found.startswith("irstd_lib"):
                    graph[name].add(found)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle of ``graph`` (its modules in order, the first repeated), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_the_cycle_finder_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) is None


def test_no_import_cycle_anywhere_in_the_package():
    graph = import_graph()
    assert len(graph) > 100 and "irstd_lib.reproductions.specs" in graph
    cycle = find_cycle(graph)
    assert cycle is None, "import circle: " + " -> ".join(cycle)


# Lower layers never import the layers above them (the top: the tables, the run configs, the
# profiles, the command line).
UPPER = ("irstd_lib.reproductions", "irstd_lib.profiles", "irstd_lib.reproduce", "irstd_lib.__main__")
LOWER = ("irstd_lib.models", "irstd_lib.engine", "irstd_lib.data", "irstd_lib.conditioning", "irstd_lib.text",
         "irstd_lib.runs", "irstd_lib.metrics", "irstd_lib.bootstrap")


@pytest.mark.parametrize("layer", LOWER)
def test_lower_layers_do_not_import_upward(layer):
    graph = import_graph()
    upward = sorted(f"{name} -> {target}" for name, targets in graph.items()
                    if name == layer or name.startswith(layer + ".")
                    for target in targets if any(target == u or target.startswith(u + ".") for u in UPPER))
    assert not upward, upward


def test_specs_import_nothing_of_the_package():
    assert import_graph()["irstd_lib.reproductions.specs"] == set()


def test_notebook_list_and_plan_derive_from_the_specs():
    from irstd_lib.models import get_variant
    from irstd_lib.reproduce import NOTEBOOKS
    from irstd_lib.reproductions import plan
    from irstd_lib.reproductions.specs import SPECS, TEACHING_NOTEBOOKS

    assert list(NOTEBOOKS) == [s.notebook for s in SPECS] + list(TEACHING_NOTEBOOKS)
    for name in NOTEBOOKS:
        assert (NOTEBOOK_DIR / f"{name}.ipynb").is_file(), name
    for table_spec in SPECS:
        for row in table_spec.rows:
            get_variant(row.variant)  # registered, or KeyError naming it
    clip, sam = plan.checkpoint_stand_ins("paper")
    for profile, root in (("smoke", None), ("paper", "/data/NUAA-SIRST")):
        planned = {n for run in plan.planned_runs(profile, root, clip, sam) for n in run.notebooks}
        scored = {n for s in plan.planned_scorings(profile, root) for n in s.notebooks}
        # every spec with learned rows trains, every spec with classical rows scores, and nothing else does
        assert planned == {s.notebook for s in SPECS if any(get_variant(r.variant).kind == "learned" for r in s.rows)}
        assert scored == {s.notebook for s in SPECS if any(get_variant(r.variant).kind == "classical" for r in s.rows)}
