"""Fixtures shared by the store tests: a fresh, initialised store on each backend, and the API over one."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import settings

from credo.store.bootstrap import Store, init_store, open_store
from tests.apisupport import TODAY, Api, api_over
from tests.exposure import SCANNED, scanning
from tests.storebackends import postgres_schema

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


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    """An empty database on each backend (not yet initialised)."""
    if request.param == "sqlite":
        yield Backend("sqlite", f"sqlite:///{tmp_path / 'credo.db'}", {})
        return
    with postgres_schema() as url:
        yield Backend("postgresql", url, {"CREDO_KEY_FILE": str(tmp_path / "credo.keys")})


@pytest.fixture
def store(backend: Backend) -> Iterator[Store]:
    """An initialised store (schema at head, keys created) on each backend."""
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
