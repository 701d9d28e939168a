"""The layers run one way (docs/architecture.md), checked from the imports of every module, not by review.

- ``domain/`` imports nothing from Credo outside ``domain/``;
- ``store/`` imports neither ``duckdb`` nor ``credo.services`` (nor the edges);
- ``engines/`` imports neither ``store/`` nor ``services/`` nor the edges: a plan and Arrow tables in, Arrow out;
- ``adapters/`` (SMTP, webhooks over HTTP) imports neither the store, the services, the edges nor a database;
- ``services/`` imports neither edge (``api/``, ``cli/``): they call it, not the other way;
- ``api/``, ``cli/`` and ``web/`` import neither ``sqlalchemy`` nor ``credo.store.tables``;
- ``credo.errors`` (the one exception tree) imports nothing from Credo, so every layer but ``domain/`` may use it.

Imports inside functions count too. What does not hold yet is declared in :data:`NOT_YET` with the module
and the import: the redesign (issue 12) removes them one use case at a time, and a declared gap that no longer
exists fails too, so the list can only shrink.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "credo"

# layer -> imports it must not make (a name, or a name's prefix followed by ".")
FORBIDDEN = {
    "domain": ("credo",),  # outside credo.domain: see _forbidden
    "store": ("duckdb", "credo.services", "credo.api", "credo.cli"),
    "services": ("credo.api", "credo.cli"),
    "engines": ("credo.store", "credo.services", "credo.api", "credo.cli"),
    "adapters": ("credo.store", "credo.services", "credo.api", "credo.cli", "sqlalchemy", "duckdb"),
    "api": ("sqlalchemy", "credo.store.tables", "credo.cli"),
    "cli": ("sqlalchemy", "credo.store.tables"),
    "web": ("sqlalchemy", "credo.store.tables", "credo.cli"),
}

# (module, import) pairs that break the rules today, each to be removed by moving its use case into services/.
NOT_YET: set[tuple[str, str]] = set()


def _modules() -> Iterator[tuple[str, str, Path]]:
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        if len(parts) > 2 and parts[1] in FORBIDDEN:  # a module inside one of the layers
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            yield parts[1], name, path


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
    return found


def _forbidden(layer: str, imported: str) -> str | None:
    """The rule an import breaks (the forbidden name), or None."""
    if layer == "domain":
        inside = imported == "credo.domain" or imported.startswith("credo.domain.")
        return None if inside or not (imported == "credo" or imported.startswith("credo.")) else "credo"
    for banned in FORBIDDEN[layer]:
        if imported == banned or imported.startswith(banned + "."):
            return banned
    return None


def _breaches() -> set[tuple[str, str]]:
    return {
        (name, banned)
        for layer, name, path in _modules()
        for imported in _imports(path)
        if (banned := _forbidden(layer, imported)) is not None
    }


def test_every_layer_imports_only_what_it_may() -> None:
    new = sorted(_breaches() - NOT_YET)
    assert new == [], f"imports across the layers' rules (docs/architecture.md): {new}"


def test_a_declared_gap_that_was_closed_leaves_the_list() -> None:
    closed = sorted(NOT_YET - _breaches())
    assert closed == [], f"no longer true, remove from NOT_YET: {closed}"


@pytest.mark.parametrize(
    ("layer", "imported", "banned"),
    [
        ("domain", "credo.store.tables", "credo"),
        ("domain", "credo.domain.records", None),
        ("domain", "sqlalchemy", None),
        ("domain", "credo.errors", "credo"),
        ("store", "credo.errors", None),
        ("services", "credo.errors", None),
        ("api", "credo.errors", None),
        ("cli", "credo.errors", None),
        ("store", "duckdb", "duckdb"),
        ("store", "duckdbx", None),
        ("store", "credo.services.disputes", "credo.services"),
        ("engines", "credo.store.bulk_io", "credo.store"),
        ("engines", "credo.batch.plan", None),
        ("api", "sqlalchemy.exc", "sqlalchemy"),
        ("cli", "credo.store.tables", "credo.store.tables"),
        ("cli", "credo.store.disputes", None),
    ],
)
def test_the_rule_is_read_as_written(layer: str, imported: str, banned: str | None) -> None:
    assert _forbidden(layer, imported) == banned


def test_the_exception_tree_imports_nothing_from_credo() -> None:
    """``credo.errors`` is imported by every layer (ADR 0019): an import of Credo there would climb back up."""
    imported = _imports(PACKAGE / "errors.py")
    assert not {name for name in imported if name == "credo" or name.startswith("credo.")}, imported


@pytest.mark.parametrize(
    ("edge", "assembled_from"),
    [
        ("api/routes_disputes.py", {"credo.store.disputes", "credo.store.audit"}),
        ("cli/dispute_cmd.py", {"credo.store.disputes", "credo.store.audit"}),
        ("api/routes_operator.py", {"credo.store.sources", "credo.store.relying"}),
        ("cli/source_cmd.py", {"credo.store.sources", "credo.store.audit"}),
        ("cli/api_cmd.py", {"credo.store.sources", "credo.store.relying", "credo.api.auth", "credo.store.audit"}),
        ("api/routes_audit.py", {"credo.store.audit"}),
        ("api/routes_public.py", {"credo.store.list_members", "credo.store.audit", "credo.store.rulebooks"}),
        ("api/routes_delivery.py", {"credo.store.delivery", "credo.store.audit", "credo.store.webhook_hosts"}),
        ("cli/rulebook_cmd.py", {"credo.store.rulebooks", "credo.store.audit"}),
        ("api/routes_subjects.py", {"credo.store.consent", "credo.store.notices", "credo.services.realtime_scoring"}),
        ("api/routes_sources.py", {"credo.store.sources", "credo.store.audit", "credo.services.group_commit"}),
        ("api/routes_relying.py", {"credo.store.decisions", "credo.services.realtime_scoring", "credo.store.audit"}),
        ("cli/score_cmd.py", {"credo.store.reading", "credo.services.daily_refresh", "credo.store.audit"}),
        ("cli/store_cmd.py", {"credo.store.rotate", "credo.store.audit"}),
        ("cli/purge_cmd.py", {"credo.store.purge", "credo.store.clock"}),
        ("cli/ingest_cmd.py", {"credo.store.ingest", "credo.store.audit"}),
        ("cli/rescore_cmd.py", {"credo.services.bulk_scoring", "credo.store.audit"}),
    ],
)
def test_moved_use_cases_are_called_not_assembled_at_the_edges(edge: str, assembled_from: set[str]) -> None:
    """The use cases moved to services/ so far: their edges call the service, not the store's pieces."""
    imported = _imports(PACKAGE / edge)
    assert "credo.services" in imported or any(name.startswith("credo.services.") for name in imported), edge
    assert not (assembled_from | {"sqlalchemy"}) & imported, edge


def test_route_dependencies_are_typed() -> None:
    """A route's caller is a ``Caller`` (``Annotated[Caller, Depends(roles(...))]``), never ``Any``."""
    untyped = [
        f"{path.name}:{n}"
        for path in sorted((PACKAGE / "api").glob("*.py"))
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if "Annotated[Any, Depends(" in line
    ]
    assert untyped == []
