"""Dependencies point one way (DESIGN.md): alt/lib < alt/accounts < contacts < appointments <
integrations, ai < privacy. A lower layer reaches a higher one only through a seam (a registry,
a signal, or a Protocol like appointments/sync.py), never an import, not even a function-local
one. Read with `ast`, so the rule holds for code no test happens to run.

alt/'s top-level modules (settings, urls, celery, wsgi, admin_site, devstack) are the composition
root and may import anything; so may tests/ and bench/.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LAYERS = {
    "alt/lib": 0,
    "alt/accounts": 1,
    "contacts": 2,
    "appointments": 3,
    "integrations": 4,
    "ai": 4,
    "privacy": 5,
}
# (importing module, imported module) pairs allowed against the rule, each with its reason.
ALLOWED: dict[tuple[str, str], str] = {}


def _layer(dotted_or_path: str) -> tuple[str, int] | None:
    path = dotted_or_path.replace(".", "/").removesuffix("/py")
    for prefix, level in LAYERS.items():
        if path == prefix or path.startswith(prefix + "/"):
            return prefix, level
    return None


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    inside: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            inside.update(id(n) for n in ast.walk(node))
    return inside


def imports_of(source: Path) -> list[tuple[int, str]]:
    """(line, module) of every absolute import, top-level or function-local; imports under
    `if TYPE_CHECKING:` are annotations only and create no dependency at run time."""
    tree = ast.parse(source.read_text(), str(source))
    type_only = _type_checking_nodes(tree)
    found = []
    for node in ast.walk(tree):
        if id(node) in type_only:
            continue
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # `from contacts import services` names the module contacts.services.
            found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
    return found


def upward_imports() -> list[str]:
    problems = []
    for prefix in LAYERS:
        for source in sorted((ROOT / prefix).rglob("*.py")):
            relative = source.relative_to(ROOT).as_posix()
            if "/migrations/" in relative:
                continue
            own = _layer(relative.removesuffix(".py"))
            assert own is not None
            module = relative.removesuffix(".py").replace("/", ".")
            for line, imported in imports_of(source):
                target = _layer(imported)
                if target and target[1] > own[1] and (module, imported) not in ALLOWED:
                    problems.append(
                        f"{relative}:{line} imports {imported} ({target[0]} is above {own[0]})"
                    )
    return problems


def test_no_layer_imports_a_layer_above_it() -> None:
    assert upward_imports() == []


def test_models_import_no_services_views_forms_or_tasks() -> None:
    # A model is the bottom of its own app: contacts/models.py once imported contacts/services.py.
    problems = []
    for models in sorted(ROOT.glob("**/models.py")):
        relative = models.relative_to(ROOT).as_posix()
        if relative.startswith((".venv/", "var/")):
            continue
        for line, imported in imports_of(models):
            parts = set(imported.split("."))
            if _layer(imported) and parts & {"services", "views", "forms", "tasks"}:
                problems.append(f"{relative}:{line} imports {imported}")
    assert problems == []


def test_the_layer_walk_sees_a_function_local_upward_import(tmp_path: Path) -> None:
    source = tmp_path / "example.py"
    source.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from appointments.models import Appointment\n"
        "def f():\n    from integrations.google_calendar import services\n"
    )

    assert imports_of(source) == [
        (1, "typing.TYPE_CHECKING"),
        (5, "integrations.google_calendar.services"),
    ]
