"""Fixtures shared by the store tests: a fresh, initialised store on each backend, and the API over one.

The ``store`` and ``api`` fixtures (and a test's own fixture of either name) start from a copy of a database
migrated once per test process, and ``init_store`` makes the copy's keys, new for each test (ADR 0020).
A test marked ``fresh_database`` gets an empty database instead, and ``init_store`` runs every migration.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import settings
from sqlalchemy.engine import make_url

from credo.store.bootstrap import Store, init_store, open_store
from credo.store.database import create_store_engine
from credo.store.migrate import upgrade
from tests.apisupport import TODAY, Api, api_over
from tests.exposure import SCANNED, scanning
from tests.inmemory import InMemory, Prepared
from tests.storebackends import Template, postgres_schema, postgres_template

# The browser fixtures (browser, browsing): one Chromium per test process, launched on first use.
pytest_plugins = ["tests.browser"]

# No timing is a test: Hypothesis' default deadline (200 ms an example) failed a correct test on a busy machine.
settings.register_profile("credo", deadline=None)
settings.load_profile("credo")


@dataclass
class Backend:
    """A store's URL and the environment its commands run with (where the keys are)."""

    name: str
    url: str
    environ: dict[str, str]

    def open(self) -> Store:
        return open_store(self.url, environ=self.environ)


# A test that uses a fixture of one of these names gets a database already migrated (from the template).
MIGRATED_FOR = frozenset({"store", "api"})


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "fresh_database: the store and api fixtures start from an empty database and migrate it"
    )


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated to head (no keys yet), made once per test process, for each test to copy."""
    path: Path = tmp_path_factory.mktemp("template") / "credo.db"
    path.touch()  # as init_store does: the engine opens files, never creates them
    engine = create_store_engine(make_url(f"sqlite:///{path}"))
    try:
        upgrade(engine)  # what init_store runs first, before it makes keys
    finally:
        engine.dispose()
    leftovers = [p.name for p in path.parent.iterdir() if p != path]
    assert not leftovers, f"the template must be one closed file to copy, not {leftovers}"
    return path


@pytest.fixture(scope="session")
def pg_template() -> Template | None:
    """A PostgreSQL schema migrated to head (no keys yet), made once per test process, as the SQL that copies it.

    None without a pg_dump that can read the server: then each test runs the migrations.
    """
    return postgres_template()


@pytest.fixture(scope="session")
def prepared_memory(sqlite_template: Path) -> Iterator[Prepared]:
    """The template in memory, with the API tests' rulebook, sources and bank, made once per test process."""
    prepared = Prepared(sqlite_template)
    yield prepared
    prepared.close()


@pytest.fixture
def in_memory(prepared_memory: Prepared) -> InMemory:
    """A store in memory for service tests: this test's copy of the prepared one, with keys of its own."""
    return prepared_memory.copy()


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    """A database on each backend, not yet initialised: empty, or migrated for the ``store`` and ``api`` fixtures.

    Migrated means a copy of a template that the real migrations made once per test process, with no keys:
    ``init_store`` still makes this test's own. ``fresh_database`` on a test asks for an empty one regardless.
    """
    migrated = bool(MIGRATED_FOR & set(request.fixturenames)) and not request.node.get_closest_marker("fresh_database")
    if request.param == "sqlite":
        path = tmp_path / "credo.db"
        if migrated:
            shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        yield Backend("sqlite", f"sqlite:///{path}", {})
        return
    template = request.getfixturevalue("pg_template") if migrated else None
    with postgres_schema(template) as url:
        yield Backend("postgresql", url, {"CREDO_KEY_FILE": str(tmp_path / "credo.keys")})


@pytest.fixture
def store(backend: Backend) -> Iterator[Store]:
    """An initialised store (schema at head, keys created for this test) on each backend."""
    opened = backend.open()
    init_store(opened)
    yield opened
    opened.engine.dispose()


@pytest.fixture
def api(backend: Backend) -> Iterator[Api]:
    """The API over an initialised store on each backend, on the tests' day, with the test rulebook in force."""
    # Webhook receivers in the tests listen on this machine, over plain http.
    environ = {**backend.environ, "CREDO_TODAY": TODAY, "CREDO_WEBHOOK_ALLOW_HOSTS": "127.0.0.1"}
    opened = open_store(backend.url, environ=environ)
    init_store(opened)
    with api_over(opened) as running:
        yield running
    opened.engine.dispose()


@pytest.fixture(autouse=True)
def _identifiers_scanned(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """In the walks (tests/exposure.py), any identifier in an answer or output that is not the caller's fails."""
    if request.module.__name__.rpartition(".")[2] not in SCANNED:
        yield
        return
    with scanning(monkeypatch):
        yield


@pytest.fixture
def wide_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI's consoles as wide as a wide terminal, whatever terminal the run has.

    Rich reads COLUMNS once, when the console is made (at import), so an
    ``env={"COLUMNS": ...}`` given to one invocation is not seen: under
    xdist, with no terminal, tables were cut at 80 columns.
    """
    from credo.cli.console import err, out

    for console in (out, err):
        monkeypatch.setattr(console, "_width", 400)
