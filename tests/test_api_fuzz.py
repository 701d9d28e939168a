"""Schemathesis on the OpenAPI document: whatever it sends, valid or not, the API never answers 5xx.

Each operation is called with a token of a role it admits (so the generated
inputs reach the handlers, not only the role check), positive and negative
generation modes, against a store with a few records and a registered bank.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.generation import GenerationMode

from credo.store.bootstrap import init_store, open_store
from tests.apisupport import BANK, OTHER_PERSON, PERSON, SOURCE, TODAY, Api, api_over, record

PRINCIPALS = {
    "source": SOURCE,
    "relying": BANK,
    "subject": PERSON,
    "operator": "fuzz",
    "auditor": "fuzz",
    "reviewer": "fuzz",
}


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    path: Path = tmp_path_factory.mktemp("fuzz") / "credo.db"
    store = open_store(f"sqlite:///{path}", environ={"CREDO_TODAY": TODAY})
    init_store(store)
    with api_over(store) as api:
        api.push(record("J-1"), record("V-1", OTHER_PERSON, category="civic.volunteer_service"))
        yield api
    store.engine.dispose()


def _operations(running: Api) -> list[Any]:
    schema = schemathesis.openapi.from_asgi("/v1/openapi.json", running.client.app)
    return [result.ok() for result in schema.get_all_operations()]


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=lambda m: m.value)
def test_no_input_makes_the_api_fail(running: Api, mode: GenerationMode) -> None:
    operations = _operations(running)
    assert len(operations) >= 18
    for operation in operations:
        raw = operation.definition.raw
        if mode is GenerationMode.NEGATIVE and not raw.get("parameters") and "requestBody" not in raw:
            continue  # nothing to get wrong
        allowed = raw.get("x-credo-roles", [])
        role = next((r for r in allowed if r != "public"), None)
        headers = running.headers(role, PRINCIPALS[role]) if role else {}

        fuzz(operation, mode, headers)


def fuzz(operation: Any, mode: GenerationMode, headers: dict[str, str]) -> None:
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def check(case: Any) -> None:
        response = case.call(headers=headers)
        assert response.status_code < 500, (operation.label, response.status_code, response.text[:500])

    check()
