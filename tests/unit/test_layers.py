"""DESIGN.md: the domain imports only the standard library and eventsourcing.domain.

import-linter enforces the layers and forbids frameworks in the domain, but it cannot forbid
one submodule of an external package, so this test pins the domain's imports exactly.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

DOMAIN = Path(__file__).resolve().parents[2] / "domain"


def _imports(path: Path) -> set[str]:
    modules: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules.add(node.module)
    return modules


def test_the_domain_imports_only_the_standard_library_itself_and_eventsourcing_domain() -> None:
    offenders = {
        f"{path.name}: {module}"
        for path in DOMAIN.glob("*.py")
        for module in _imports(path)
        if module.split(".")[0] not in sys.stdlib_module_names
        and module.split(".")[0] != "domain"
        and module != "eventsourcing.domain"
    }
    assert offenders == set()


def test_the_layer_check_sees_every_domain_module() -> None:
    assert {p.stem for p in DOMAIN.glob("*.py")} >= {"dataset", "content_tree", "status"}
