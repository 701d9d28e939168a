"""docs/security.md: its role x route table is the OpenAPI document's, and it keeps the sections it promises."""

from __future__ import annotations

import runpy
from pathlib import Path

from credo.api.security_table import END, START, openapi_document, render_table
from tests.apisupport import Api

ROOT = Path(__file__).resolve().parents[1]
SECURITY_MD = ROOT / "docs" / "security.md"
GEN = runpy.run_path(str(ROOT / "scripts" / "gen-security-docs"))


def test_the_roles_table_is_generated_from_the_openapi_document() -> None:
    page = SECURITY_MD.read_text(encoding="utf-8")
    assert page == GEN["render"](), "docs/security.md is out of date: run scripts/gen-security-docs --write"
    table = page.split(START)[1].split(END)[0]
    assert "| `GET /v1/decisions/{measure_id}` |" in table


def test_the_table_is_drawn_from_the_routes_the_server_serves(api: Api) -> None:
    served = api.client.get("/v1/openapi.json").json()
    assert render_table(served) == render_table(openapi_document())


def test_the_page_says_what_the_issue_asks() -> None:
    page = SECURITY_MD.read_text(encoding="utf-8")
    for heading in (
        "## Who can do what",
        "## What is protected, and how",
        "## Bounds on input",
        "## Known limits that remain",
    ):
        assert f"\n{heading}\n" in page, heading
    for phrase in ("**At rest.**", "**In transit.**", "**The audit trail.**", "TLS is the\ndeployment's"):
        assert phrase in page, phrase
    assert "](docs/security.md)" in (ROOT / "README.md").read_text(encoding="utf-8")
