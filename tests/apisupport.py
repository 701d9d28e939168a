"""A running API over a prepared store, for the API tests: tokens for every role, a client, records to push."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from fastapi.testclient import TestClient

from credo.api.app import create_app
from credo.api.auth import issue_token
from credo.store.bootstrap import Store
from credo.store.relying import add_relying
from credo.store.rulebooks import activate, publish
from credo.store.sources import add_source
from tests.support import BASE_YAML, ORG, OTHER_PERSON, PERSON

NOW = dt.datetime(2026, 6, 1, 12, tzinfo=dt.UTC)
TODAY = "2026-06-30"
SOURCE = "court"
OTHER_SOURCE = "tax-office"
BANK = "city-bank"
# A principal for each role: the source and bank api_over registers, a valid person, names for the trail.
PRINCIPALS = {
    "source": SOURCE,
    "relying": BANK,
    "subject": PERSON,
    "operator": "alice",
    "auditor": "audit",
    "reviewer": "bob",
}
# The black list is public for a year from the day a debtor entered it.
API_YAML = BASE_YAML.replace(
    "    enter_when: {categories: [court.judgment_default]}\n",
    "    enter_when: {categories: [court.judgment_default]}\n    publish_for: 1y\n",
)
assert API_YAML != BASE_YAML

__all__ = [
    "BANK",
    "ORG",
    "OTHER_PERSON",
    "OTHER_SOURCE",
    "PERSON",
    "PRINCIPALS",
    "SOURCE",
    "TODAY",
    "Api",
    "api_over",
    "prepare",
    "record",
]


def record(record_id: str, subject: str = PERSON, **fields: Any) -> dict[str, Any]:
    """A court judgment default against ``subject`` unless ``fields`` say otherwise."""
    kind = "organization" if subject == ORG else "person"
    return {
        "record_id": record_id,
        "subject_id": subject,
        "subject_kind": kind,
        "category": "court.judgment_default",
        "occurred_on": "2026-03-01",
        **fields,
    }


@dataclass
class Api:
    store: Store
    client: TestClient

    def token(
        self,
        role: str,
        principal: str | None = None,
        expires: dt.timedelta = dt.timedelta(days=1),
        kind: str | None = None,
    ) -> str:
        with self.store.begin() as connection:
            ring = self.store.keys(connection)
        return issue_token(ring, role, principal, now=dt.datetime.now(dt.UTC), expires=expires, kind=kind)

    def headers(self, role: str, principal: str | None = None, kind: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(role, principal, kind=kind)}"}

    def push(self, *records: dict[str, Any], source: str = SOURCE) -> Any:
        response = self.client.post("/v1/records", json=list(records), headers=self.headers("source", source))
        assert response.status_code == 200, response.text
        return response.json()

    def decide(self, measure: str, subject: str = PERSON, relying: str = BANK) -> Any:
        return self.client.get(
            f"/v1/decisions/{measure}", params={"subject": subject}, headers=self.headers("relying", relying)
        )


@contextmanager
def api_over(store: Store, *, book: str = API_YAML) -> Iterator[Api]:
    """The test rulebook in force, two sources, a bank registered for two measures, and a client over them."""
    prepare(store, book=book)
    with TestClient(create_app(store), raise_server_exceptions=False) as client:
        yield Api(store, client)


def prepare(store: Store, *, book: str = API_YAML) -> None:
    """The test rulebook in force, two sources, and a bank registered for two measures."""
    with store.begin() as connection:
        publish(connection, book, "book.yaml", NOW)
        activate(connection, "2026.1", NOW)
        add_source(connection, SOURCE, ["court.*", "civic.*"], NOW)
        add_source(connection, OTHER_SOURCE, ["tax.*"], NOW)
        measures = {"loan-fast-track", "high-consumption-restriction", "procurement-exclusion"}
        add_relying(connection, BANK, ["high-consumption-restriction", "loan-fast-track"], measures, NOW)
