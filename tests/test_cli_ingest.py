"""``credo ingest`` and ``credo quarantine list | retry`` through the command line, on both backends."""

from __future__ import annotations

import json
from pathlib import Path

from tests.batchio import write_records
from tests.conftest import Backend
from tests.support import BASE_YAML, PERSON
from tests.test_cli_store import credo
from tests.test_store_ingest import row


def a_store_with_a_source(backend: Backend, tmp_path: Path) -> None:
    """A store with the base rulebook in force and tax-authority registered for tax.*, on 2026-06-30."""
    backend.environ["CREDO_TODAY"] = "2026-06-30"
    book = tmp_path / "book.yaml"
    book.write_text(BASE_YAML, encoding="utf-8")
    for args in (
        ("init",),
        ("rulebook", "publish", str(book)),
        ("rulebook", "activate", "2026.1"),
        ("source", "add", "tax-authority", "--category", "tax.*"),
    ):
        assert credo(backend, *args)[0] == 0


def test_ingest_quarantine_and_retry(backend: Backend, tmp_path: Path) -> None:
    a_store_with_a_source(backend, tmp_path)
    path = write_records(tmp_path / "r.csv", [row("1"), row("2", source="bank", category="traffic.violation")])
    code, out, _ = credo(backend, "ingest", str(path))
    assert code == 0
    assert "read 2: new records 1, new versions 0, unchanged 0, quarantined 1" in out
    assert "1 × source bank is not registered" in out
    assert "read 2: new records 0, new versions 0, unchanged 1, quarantined 1" in credo(backend, "ingest", str(path))[1]

    listed = json.loads(credo(backend, "quarantine", "list", "--json")[1])
    assert [(e["file"], e["row"], e["reason"], e["state"]) for e in listed] == [
        (str(path), 3, "source bank is not registered", "open")
    ]
    assert listed[0]["raw"]["subject_id"] != PERSON and listed[0]["raw"]["category"] == "traffic.violation"
    human = credo(backend, "quarantine", "list")[1]
    assert PERSON not in human and "bank" in human

    assert credo(backend, "source", "add", "bank", "--category", "traffic.*")[0] == 0
    assert "resolved 1 (new records 1" in credo(backend, "quarantine", "retry")[1]
    assert json.loads(credo(backend, "quarantine", "list", "--json")[1]) == []
    assert json.loads(credo(backend, "quarantine", "list", "--all", "--json")[1])[0]["state"] == "resolved"

    code, _, err = credo(backend, "ingest", str(path), "--source", "nobody")
    assert code == 1 and "no source nobody is registered" in err
    cut = tmp_path / "cut.parquet"
    cut.write_bytes(b"PAR1 not really")
    code, _, err = credo(backend, "ingest", str(cut))
    assert code == 1 and "cannot read" in err and "nothing was stored" in err


def test_a_csv_with_the_wrong_delimiter_is_refused_whole(backend: Backend, tmp_path: Path) -> None:
    """Before: every row quarantined as 'missing subject_id', exit 0. Now one line, exit 1, nothing stored."""
    a_store_with_a_source(backend, tmp_path)
    path = tmp_path / "semicolons.csv"
    header = "source;record_id;subject_id;subject_kind;category;occurred_on"
    path.write_text(f"{header}\ntax-authority;T-1;{PERSON};person;tax.late_payment;2026-03-01\n", encoding="utf-8")
    code, out, err = credo(backend, "ingest", str(path))
    lines = [line for line in err.splitlines() if line.strip()]
    assert (code, out, len(lines)) == (1, "", 1), err
    assert "missing required columns source, record_id" in lines[0] and "is the delimiter a comma?" in lines[0]
    assert "nothing was stored" in lines[0] and "Traceback" not in err and PERSON not in err
    assert json.loads(credo(backend, "quarantine", "list", "--json")[1]) == []
