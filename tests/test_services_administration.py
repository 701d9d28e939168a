"""Registering sources and relying parties as services (services/administration.py), over a store in memory.

The same over the API and the command line are in tests/test_api.py and tests/test_cli_store.py; here each
rule is one use case call, in milliseconds (tests/inmemory.py, ADR 0020).
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from credo.services import administration
from credo.services.actor import Actor
from credo.services.administration import SourceIn
from credo.store.errors import NotFoundError, StoreError
from credo.store.tables import audit_log, relying_parties, sources
from tests.apisupport import BANK, SOURCE
from tests.inmemory import InMemory

ALICE = Actor("operator", "alice")


def trail(store: InMemory) -> list[tuple[str, str, dict[str, object]]]:
    rows = store.rows(sa.select(audit_log.c.actor, audit_log.c.action, audit_log.c.detail).order_by(audit_log.c.id))
    return [(row.actor, row.action, row.detail) for row in rows]


def test_a_registered_source_is_listed_and_its_registration_audited(in_memory: InMemory) -> None:
    with in_memory.unit() as uow:
        added = administration.add_source(uow, ALICE, SourceIn("utility", ["civic.*"], title="City utility"))
    assert (added.id, added.title, added.categories, added.enabled) == ("utility", "City utility", ("civic.*",), True)
    with in_memory.unit() as uow:
        assert "utility" in [s.id for s in administration.list_sources(uow)]
        assert uow.entries == []  # reading the register is no one's personal data
    assert trail(in_memory)[-1] == ("alice", "source.add", {"source": "utility", "categories": ["civic.*"]})


@pytest.mark.parametrize(
    ("categories", "why"),
    [(["court"], "did you mean court.*"), (["health.*"], "health"), (["Court.*"], "not valid|pattern")],
)
def test_a_category_the_rulebook_does_not_know_is_refused_and_nothing_is_written(
    in_memory: InMemory, categories: list[str], why: str
) -> None:
    before = trail(in_memory)
    with pytest.raises(StoreError, match=why), in_memory.unit() as uow:
        administration.add_source(uow, ALICE, SourceIn("utility", categories))
    assert in_memory.scalar(sa.select(sa.func.count()).where(sources.c.id == "utility")) == 0
    assert trail(in_memory) == before


def test_a_source_id_is_registered_once(in_memory: InMemory) -> None:
    with pytest.raises(StoreError, match="already registered"), in_memory.unit() as uow:
        administration.add_source(uow, ALICE, SourceIn(SOURCE, ["court.*"]))


def test_allowing_categories_adds_them_and_an_unknown_source_is_not_found(in_memory: InMemory) -> None:
    with in_memory.unit() as uow:
        changed = administration.allow_categories(uow, ALICE, SOURCE, ["traffic.*"])
    assert "traffic.*" in changed.categories
    assert trail(in_memory)[-1] == ("alice", "source.allow", {"source": SOURCE, "categories": list(changed.categories)})
    with pytest.raises(NotFoundError), in_memory.unit() as uow:
        administration.allow_categories(uow, ALICE, "nobody", ["traffic.*"])


def test_disabling_twice_changes_and_audits_once(in_memory: InMemory) -> None:
    for kind, party, disable in (
        ("source", SOURCE, administration.disable_source),
        ("relying", BANK, administration.disable_relying),
    ):
        outcomes = []
        for _ in range(2):
            with in_memory.unit() as uow:
                outcomes.append(disable(uow, ALICE, party))
        assert outcomes == [True, False]
        assert [t for t in trail(in_memory) if t[1] == f"{kind}.disable"] == [
            ("alice", f"{kind}.disable", {kind: party})
        ]
    with in_memory.unit() as uow:
        assert [s.enabled for s in administration.list_sources(uow) if s.id == SOURCE] == [False]
        assert [r.enabled for r in administration.list_relying(uow) if r.id == BANK] == [False]


def test_a_relying_party_asks_only_about_measures_of_the_rulebook_in_force(in_memory: InMemory) -> None:
    with pytest.raises(StoreError, match="no-such-measure"), in_memory.unit() as uow:
        administration.add_relying(uow, ALICE, "insurer", ["no-such-measure"])
    assert in_memory.scalar(sa.select(sa.func.count()).where(relying_parties.c.id == "insurer")) == 0
    with in_memory.unit() as uow:
        party = administration.add_relying(uow, ALICE, "insurer", ["loan-fast-track"], title="An insurer")
    assert (party.id, party.title, party.measures) == ("insurer", "An insurer", ("loan-fast-track",))
    assert trail(in_memory)[-1][:2] == ("alice", "relying.add")
