"""The tests may import the benchmarks (they test them); the benchmarks never import the tests."""

from __future__ import annotations

import ast
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench"


def imported_modules(path: Path) -> set[str]:
    """Every module an `import` or `from ... import` in `path` names."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def test_bench_never_imports_tests() -> None:
    offenders = {
        str(path.relative_to(BENCH.parent)): sorted(
            m for m in imported_modules(path) if m == "tests" or m.startswith("tests.")
        )
        for path in sorted(BENCH.rglob("*.py"))
        if ".peers" not in path.parts  # a virtualenv of peer servers, not ours
    }
    assert {path: names for path, names in offenders.items() if names} == {}
