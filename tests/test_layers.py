"""The house's floors: every import points down, and no module imports itself round a circle.

Floors, top to bottom (STYLE.md 31): the app (factory, CLI, app-wide hooks), the blueprints'
views and CLI commands, services, models, and the shared wings that know no model. Read from
the source with ``ast``, every import counted wherever it stands (in a function too), except
those under ``if TYPE_CHECKING:``, which are annotations and never run.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from practika.config import BASE_DIR

PACKAGE = BASE_DIR / "practika"

APP, VIEWS, SERVICES, MODELS, WINGS = 4, 3, 2, 1, 0
FLOOR_NAMES = {APP: "app", VIEWS: "views", SERVICES: "services", MODELS: "models", WINGS: "wings"}

# Everything else is found by its name: routes and commands are views, models are models, and
# what is left in a package is a service.
APP_MODULES = {
    "practika",
    "practika.cli",
    "practika.demo",
    "practika.errors",
    "practika.models",
    "practika.security",
}
WING_MODULES = {
    "practika.config",
    "practika.extensions",
    "practika.htmx",
    "practika.json_body",
    "practika.metrics",
    "practika.model_base",
    "practika.numbers",
    "practika.queue",
    "practika.stamps",
    "practika.storage",
    "practika.text",
    "practika.weblog",
    "practika.core.youtube",
}
BLUEPRINTS = {"accounts", "api", "classes", "comments", "core", "exercises", "webhooks"}


def module_name(path: Path) -> str:
    parts = path.relative_to(BASE_DIR).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in PACKAGE.rglob("*.py")}


def floor(module: str) -> int:
    parts = module.split(".")
    if module in APP_MODULES:
        return APP
    if module in WING_MODULES or parts[1] == "media":
        return WINGS
    if (
        "routes" in parts
        or parts[-1] == "commands"
        or module in {f"practika.{b}" for b in BLUEPRINTS}
    ):
        return VIEWS
    if parts[-1] == "models" or module == "practika.mail_outbox":
        return MODELS
    return SERVICES


def _runtime_nodes(tree: ast.AST) -> Iterator[ast.AST]:
    """Every node but those under ``if TYPE_CHECKING:``."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and ast.unparse(node.test).endswith("TYPE_CHECKING"):
            yield from (n for child in node.orelse for n in [child, *_runtime_nodes(child)])
            continue
        yield node
        yield from _runtime_nodes(node)


def _known(name: str) -> str | None:
    """The module of ours that ``name`` (a module, or a name in one) is, or None."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def imports_of(module: str) -> set[str]:
    found = set()
    for node in _runtime_nodes(ast.parse(MODULES[module].read_text())):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            assert not node.level, f"{module}: the package imports absolutely"
            base = node.module or ""
            names = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base
                for alias in node.names
            ]
        else:
            continue
        found |= {known for name in names if (known := _known(name)) and known != module}
    return found


GRAPH = {module: imports_of(module) for module in MODULES}


def blueprint_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in BLUEPRINTS else None


def test_every_import_points_down_a_floor_or_along_one():
    upward = sorted(
        f"{module} ({FLOOR_NAMES[floor(module)]}) imports {target} ({FLOOR_NAMES[floor(target)]})"
        for module, targets in GRAPH.items()
        for target in targets
        if floor(target) > floor(module)
    )
    assert upward == []


def test_no_blueprint_imports_another_blueprints_views():
    crossing = sorted(
        f"{module} imports {target}"
        for module, targets in GRAPH.items()
        for target in targets
        if floor(target) == VIEWS
        and blueprint_of(target) != blueprint_of(module)
        and floor(module) != APP
    )
    assert crossing == []


def _circles() -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    circles = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        for target in GRAPH[module]:
            if target not in index:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            component = []
            while (member := stack.pop()) != module:
                component.append(member)
            if component:
                circles.append(sorted([module, *component]))

    for module in sorted(GRAPH):
        if module not in index:
            visit(module)
    return circles


def test_no_import_circle():
    assert _circles() == []


def test_the_check_sees_an_upward_import_and_a_circle():
    """The checks above cannot pass by reading nothing: they find what they are for."""
    assert "practika.accounts.models" in GRAPH["practika.accounts.services.users"]
    assert floor("practika.accounts.routes.auth") > floor("practika.accounts.services.users")
    GRAPH["practika.model_base"].add("practika.accounts.models")
    try:
        assert "practika.accounts.models" in {m for c in _circles() for m in c}
    finally:
        GRAPH["practika.model_base"].discard("practika.accounts.models")


def test_the_media_wing_loads_without_flask_boto3_or_the_app():
    loaded = subprocess.run(
        [sys.executable, "-c", "import sys, practika.media; print(' '.join(sorted(sys.modules)))"],
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert "practika.media" in loaded
    assert {"flask", "boto3", "sqlalchemy", "practika.config"} & set(loaded) == set()
