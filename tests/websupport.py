"""A server for the page tests: the test rulebook in force, one person on the black list, one volunteer."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from credo.store.bootstrap import init_store, open_store
from tests.apisupport import OTHER_PERSON, TODAY, Api, api_over, record


@contextmanager
def listed(tmp_path: Path) -> Iterator[Api]:
    """PERSON with a court judgment (on the black list), OTHER_PERSON with volunteer service, as of TODAY."""
    store = open_store(f"sqlite:///{tmp_path / 'credo.db'}", environ={"CREDO_TODAY": TODAY})
    init_store(store)
    with api_over(store) as api:
        api.push(record("J-1"), record("V-1", subject=OTHER_PERSON, category="civic.volunteer_service"))
        yield api
    store.engine.dispose()
