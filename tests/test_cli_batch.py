"""``credo batch`` and ``credo explain`` at the command line.

A summary and exit 0 when it works; exit 1 and one clear line (never a
traceback, never a personal identifier) when the input, the rulebook or the
output cannot be used; exit 2 for a usage error. ``explain`` agrees with
``batch`` on the published vector and never shows an identifier in full.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import re
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner, Result

from credo.cli.app import app
from credo.domain.identifiers import make_resident_id, mask_identifier
from tests.batchio import write_records
from tests.support import BASE_YAML, ORG, OTHER_PERSON, PERSON, VECTORS, edit, needs_vectors

runner = CliRunner()
SUMMARY = re.compile(
    r"^records read (?P<read>[\d,]+)  accepted (?P<accepted>[\d,]+)  rejected (?P<rejected>[\d,]+)  "
    r"subjects (?P<subjects>[\d,]+)  seconds (?P<seconds>\d+\.\d\d)$"
)


def invoke(*args: str) -> Result:
    result = runner.invoke(app, list(args))
    # typer.Exit and usage errors end as SystemExit; anything else escaped the command.
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    return result


def record(record_id: str, **changes: Any) -> dict[str, Any]:
    row = {
        "source": "court",
        "record_id": record_id,
        "subject_id": PERSON,
        "subject_kind": "person",
        "category": "court.judgment_default",
        "occurred_on": "2026-03-01",
    }
    row.update(changes)
    return row


@pytest.fixture
def rulebook(tmp_path: Path) -> Path:
    path = tmp_path / "rulebook.yaml"
    path.write_text(BASE_YAML, encoding="utf-8")
    return path


@pytest.fixture
def records(tmp_path: Path) -> Path:
    rows = [
        record("T-1"),
        record("T-2", occurred_on="2026-02-30"),
        record("T-3", subject_id=ORG, subject_kind="organization", category="tax.late_payment", amount="20000"),
        record("T-4", subject_id=OTHER_PERSON, amount="-1"),
    ]
    return write_records(tmp_path / "in" / "records.jsonl", rows)


def batch(records: Path | str, rulebook: Path, out: Path | str, *extra: str, as_of: str = "2026-06-30") -> Result:
    return invoke(
        "batch", "--records", str(records), "--rulebook", str(rulebook), "--as-of", as_of, "--out", str(out), *extra
    )


def assert_one_clear_error(result: Result, *must_contain: str) -> str:
    """Exit 1, nothing on stdout, exactly one line on stderr starting 'error:', no traceback."""
    assert result.exit_code == 1, (result.stdout, result.stderr)
    assert result.stdout == ""
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert "Traceback" not in result.stderr
    for text in must_contain:
        assert text in lines[0]
    return lines[0]


# ---------------------------------------------------------------------------------------------
# credo batch


def test_batch_prints_a_summary_and_writes_scores_and_rejects(tmp_path: Path, rulebook: Path, records: Path) -> None:
    out = tmp_path / "scores.csv"
    result = batch(records, rulebook, out)
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    match = SUMMARY.match(lines[0])
    assert match, lines[0]
    counts = {k: int(v.replace(",", "")) for k, v in match.groupdict().items() if k != "seconds"}
    assert counts == {"read": 4, "accepted": 2, "rejected": 2, "subjects": 2}
    assert lines[1:] == [f"scores  → {out}", f"rejects → {tmp_path / 'scores.rejects.csv'}"]
    with out.open() as fh:
        assert [r["subject_id"] for r in csv.DictReader(fh)] == sorted([PERSON, ORG])
    with (tmp_path / "scores.rejects.csv").open() as fh:
        assert [(r["row"], r["reason"]) for r in csv.DictReader(fh)] == [
            ("2", "occurred_on is not a valid date (YYYY-MM-DD)"),
            ("4", "amount is negative"),
        ]


def test_batch_says_when_nothing_was_rejected(tmp_path: Path, rulebook: Path) -> None:
    records = write_records(tmp_path / "records.csv", [record("T-1")])
    result = batch(records, rulebook, tmp_path / "scores.parquet", "--rejects", str(tmp_path / "bad.jsonl"))
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[-1] == f"rejects → {tmp_path / 'bad.jsonl'} (none)"
    assert pq.read_table(tmp_path / "scores.parquet").num_rows == 1


def test_batch_reasons_column(tmp_path: Path, rulebook: Path, records: Path) -> None:
    result = batch(records, rulebook, tmp_path / "scores.csv", "--reasons")
    assert result.exit_code == 0, result.stderr
    with (tmp_path / "scores.csv").open() as fh:
        reasons = {r["subject_id"]: r["reasons"] for r in csv.DictReader(fh)}
    assert reasons == {PERSON: "court.judgment_default", ORG: ""}


def _binary(path: Path) -> None:
    path.write_bytes(bytes(range(256)) * 64)


def _truncated_parquet(path: Path) -> None:
    whole = path.with_suffix(".whole.parquet")
    pq.write_table(pa.table({"source": ["court"] * 1000, "subject_id": [PERSON] * 1000}), whole)
    path.write_bytes(whole.read_bytes()[:-100])
    whole.unlink()


def _damaged_parquet(path: Path) -> None:
    """A Parquet file whose footer is fine but whose pages are not: it fails only once rows are read."""
    n = 5000
    columns = {f: [f"{f}-{i}" for i in range(n)] for f in ("source", "record_id", "category")}
    columns.update(subject_id=[PERSON] * n, subject_kind=["person"] * n, occurred_on=["2026-03-01"] * n)
    pq.write_table(pa.table(columns), path, compression="zstd", use_dictionary=False)
    data = bytearray(path.read_bytes())
    data[200:2000] = b"\xab" * 1800
    path.write_bytes(bytes(data))


def _parquet_with_reserved_column(path: Path) -> None:
    pq.write_table(pa.table({"source": ["court"], "subject_id": [PERSON], "file_row_number": [1]}), path)


def _latin1_csv(path: Path) -> None:
    path.write_bytes(f"source,record_id,subject_id\ncaf\xe9,r1,{PERSON}\n".encode("latin-1"))


def _latin1_jsonl(path: Path) -> None:
    path.write_bytes(f'{{"source": "caf\xe9", "subject_id": "{PERSON}"}}\n'.encode("latin-1"))


def _binary_malformed_csv(path: Path) -> None:  # a row of the wrong width whose bytes are not text
    path.write_bytes(b"source,record_id\n" + f"{PERSON},\xff\xfe,x\n".encode("latin-1"))


def _empty_parquet_file(path: Path) -> None:
    path.write_bytes(b"")


UNREADABLE = {
    "binary.csv": _binary,
    "binary.jsonl": _binary,
    "binary.parquet": _binary,
    "truncated.parquet": _truncated_parquet,
    "empty.parquet": _empty_parquet_file,
    "damaged.parquet": _damaged_parquet,
    "reserved-column.parquet": _parquet_with_reserved_column,
    "latin1.csv": _latin1_csv,
    "latin1.jsonl": _latin1_jsonl,
    "binary-wrong-width.csv": _binary_malformed_csv,
}


@pytest.mark.parametrize("name", UNREADABLE)
def test_unreadable_input_is_one_clear_line(tmp_path: Path, rulebook: Path, name: str) -> None:
    path = tmp_path / name
    UNREADABLE[name](path)
    line = assert_one_clear_error(batch(path, rulebook, tmp_path / "scores.csv"), str(path), "cannot read")
    assert PERSON not in line  # no row of the file is echoed
    assert line.isprintable()
    assert not (tmp_path / "scores.csv").exists()


def test_missing_input(tmp_path: Path, rulebook: Path) -> None:
    missing = tmp_path / "nowhere" / "records.csv"
    assert_one_clear_error(batch(missing, rulebook, tmp_path / "scores.csv"), str(missing), "no such file")


def test_unknown_input_format(tmp_path: Path, rulebook: Path) -> None:
    path = tmp_path / "records.xlsx"
    path.write_bytes(b"PK\x03\x04")
    assert_one_clear_error(batch(path, rulebook, tmp_path / "scores.csv"), str(path), "unknown format")


def test_paths_with_brackets_are_paths_not_markup_or_patterns(tmp_path: Path, rulebook: Path) -> None:
    folder = tmp_path / "drop [2026]"
    records = write_records(folder / "records[1].jsonl", [record("T-1")])
    out = folder / "scores[bold].csv"
    result = batch(records, rulebook, out)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[1] == f"scores  → {out}"
    missing = folder / "missing[/bold].csv"
    assert_one_clear_error(batch(missing, rulebook, out), str(missing))


def test_glob_that_matches_nothing(tmp_path: Path, rulebook: Path) -> None:
    pattern = str(tmp_path / "*.jsonl")
    assert_one_clear_error(batch(pattern, rulebook, tmp_path / "scores.csv"), "no record files found")


def test_invalid_rulebook(tmp_path: Path, records: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(edit(BASE_YAML, "points: -100\n", "points: lots\n"), encoding="utf-8")
    assert_one_clear_error(batch(records, path, tmp_path / "scores.csv"), str(path), "invalid rulebook")
    missing = tmp_path / "missing.yaml"
    assert_one_clear_error(batch(records, missing, tmp_path / "scores.csv"), str(missing), "cannot read")


def test_unwritable_output(tmp_path: Path, rulebook: Path, records: Path) -> None:
    missing_folder = tmp_path / "no-such-folder" / "scores.csv"
    assert_one_clear_error(batch(records, rulebook, missing_folder), str(missing_folder), "does not exist")
    (tmp_path / "a-file").write_text("x")
    under_a_file = tmp_path / "a-file" / "scores.csv"
    assert_one_clear_error(batch(records, rulebook, under_a_file), str(under_a_file))
    (tmp_path / "folder.csv").mkdir()
    assert_one_clear_error(batch(records, rulebook, tmp_path / "folder.csv"), "cannot write")
    assert_one_clear_error(batch(records, rulebook, tmp_path / "scores.xlsx"), "unknown output format")
    rejects_nowhere = tmp_path / "gone" / "rejects.csv"
    result = batch(records, rulebook, tmp_path / "scores.csv", "--rejects", str(rejects_nowhere))
    assert_one_clear_error(result, str(rejects_nowhere))


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="needs a user that permissions apply to")
def test_read_only_output_folder(tmp_path: Path, rulebook: Path, records: Path) -> None:
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        assert_one_clear_error(batch(records, rulebook, folder / "scores.csv"), "cannot write")
    finally:
        folder.chmod(0o700)


# ---------------------------------------------------------------------------------------------
# credo explain


def explain(subject: str, records: Path | str, rulebook: Path | str, *extra: str) -> Result:
    return invoke(
        "explain", subject, "--records", str(records), "--rulebook", str(rulebook), "--as-of", "2026-06-30", *extra
    )


def test_explain_shows_the_masked_identifier_never_the_full_one(rulebook: Path, records: Path) -> None:
    result = explain(PERSON, records, rulebook)
    assert result.exit_code == 0, result.stderr
    assert mask_identifier(PERSON) in result.stdout
    assert "score 900, grade B" in result.stdout
    assert "dishonest-judgment-debtors" in result.stdout
    assert PERSON not in result.stdout + result.stderr


def test_explain_json_has_every_part(rulebook: Path, records: Path) -> None:
    result = explain(PERSON, records, rulebook, "--json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    keys = {"subject_id", "score", "grade", "dimensions", "lists", "measures", "contributions", "reasons", "forecast"}
    assert keys <= set(data)
    assert (data["subject_id"], data["score"], data["grade"]) == (PERSON, 900, "B")
    assert set(data["dimensions"]) == {"fiscal", "legal", "civic"}
    assert [v["id"] for v in data["lists"]] == ["dishonest-judgment-debtors"]


def test_explain_of_a_subject_without_records_does_not_repeat_the_identifier(rulebook: Path, records: Path) -> None:
    absent = make_resident_id("440305", dt.date(1999, 12, 31), 5)
    for subject in (absent, OTHER_PERSON):  # OTHER_PERSON has a row, but it is rejected
        line = assert_one_clear_error(explain(subject, records, rulebook))
        assert subject not in line
        assert "no accepted record" in line


def test_explain_of_an_invalid_identifier_does_not_echo_it(rulebook: Path, records: Path) -> None:
    broken = PERSON[:-1] + ("0" if PERSON[-1] != "0" else "1")
    for subject in (broken, "not-an-identifier", ORG.lower()):
        line = assert_one_clear_error(explain(subject, records, rulebook))
        assert subject not in line


def test_explain_of_a_subject_whose_only_row_is_rejected_for_its_identifier(tmp_path: Path, rulebook: Path) -> None:
    """The same record, sent for the right subject, must not make the wrongly-kinded one known."""
    rows = [record("T-1", subject_kind="organization"), record("T-1", subject_id=OTHER_PERSON)]
    records = write_records(tmp_path / "records.jsonl", rows)
    line = assert_one_clear_error(explain(PERSON, records, rulebook))
    assert "no accepted record" in line


@pytest.mark.parametrize("name", ["truncated.parquet", "damaged.parquet", "binary.csv"])
def test_explain_reports_unreadable_input_in_one_line(tmp_path: Path, rulebook: Path, name: str) -> None:
    path = tmp_path / name
    UNREADABLE[name](path)
    line = assert_one_clear_error(explain(PERSON, path, rulebook), "cannot read")
    assert PERSON not in line


def test_explain_shows_record_text_as_written(tmp_path: Path, rulebook: Path) -> None:
    """Source and record ids come from files: text like [/] or [bold] is shown, not taken as markup."""
    rows = [record("[bold]T-1", source="court[/]"), record("T-2[/x]", occurred_on="2020-01-01")]
    result = explain(PERSON, write_records(tmp_path / "records.jsonl", rows), rulebook)
    assert result.exit_code == 0, result.stderr
    assert "court[/]/" in result.stdout  # in the table of records that count (its cell may be cut short)
    assert "court/T-2[/x]: stopped counting" in result.stdout


# ---------------------------------------------------------------------------------------------
# explain agrees with batch on the published vector


@pytest.fixture(scope="module")
def vector_scores(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, str]]:
    out = tmp_path_factory.mktemp("v2") / "scores.csv"
    result = invoke(
        "batch",
        "--records",
        str(VECTORS / "v2-records.jsonl"),
        "--rulebook",
        str(VECTORS / "v2-rulebook.yaml"),
        "--as-of",
        "2026-06-30",
        "--out",
        str(out),
    )
    assert result.exit_code == 0, result.stderr
    with out.open() as fh:
        return {row["subject_id"]: row for row in csv.DictReader(fh)}


def _vector_subjects() -> list[str]:
    if not VECTORS.is_dir():
        return []
    with (VECTORS / "v2-expected.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    chosen = [rows[0], rows[-1]]
    chosen += [next(r for r in rows if r["lists"]), next(r for r in rows if r["subject_kind"] == "organization")]
    chosen += [min(rows, key=lambda r: int(r["score"]))]
    return list(dict.fromkeys(r["subject_id"] for r in chosen))


@needs_vectors
def test_batch_reproduces_the_published_vector(vector_scores: dict[str, dict[str, str]]) -> None:
    with (VECTORS / "v2-expected.csv").open() as fh:
        expected = {row["subject_id"]: row for row in csv.DictReader(fh)}
    assert vector_scores == expected


@needs_vectors
@pytest.mark.parametrize("subject", _vector_subjects())
def test_explain_json_matches_batch_on_the_published_vector(
    vector_scores: dict[str, dict[str, str]], subject: str
) -> None:
    result = explain(subject, VECTORS / "v2-records.jsonl", VECTORS / "v2-rulebook.yaml", "--json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    row = vector_scores[subject]
    assert (data["subject_id"], data["subject_kind"]) == (subject, row["subject_kind"])
    assert (str(data["score"]), data["grade"]) == (row["score"], row["grade"])
    assert {f"dim_{name}": f"{d['hundredths'] / 100:.2f}" for name, d in data["dimensions"].items()} == {
        k: v for k, v in row.items() if k.startswith("dim_")
    }
    assert ";".join(sorted(v["id"] for v in data["lists"])) == row["lists"]
    assert ";".join(sorted(v["id"] for v in data["measures"])) == row["measures"]


@needs_vectors
def test_explain_human_view_on_the_published_vector_masks_the_identifier() -> None:
    (subject, *_) = _vector_subjects()
    result = explain(subject, VECTORS / "v2-records.jsonl", VECTORS / "v2-rulebook.yaml")
    assert result.exit_code == 0, result.stderr
    assert mask_identifier(subject) in result.stdout
    assert subject not in result.stdout


@pytest.mark.parametrize("fmt", ["parquet", "csv", "jsonl"])
def test_scores_never_overwrite_an_input_file(tmp_path: Path, rulebook: Path, fmt: str) -> None:
    """--out naming one of the record files would destroy the records (and, for Parquet, crash half-way)."""
    records = write_records(tmp_path / f"records.{fmt}", [record("T-1"), record("T-2", occurred_on="2026-02-30")])
    before = records.read_bytes()
    assert_one_clear_error(batch(records, rulebook, records))
    assert records.read_bytes() == before


def test_a_second_run_into_the_input_folder_does_not_read_its_own_outputs(tmp_path: Path, rulebook: Path) -> None:
    """Scores written into the records folder become records of the next run over that folder: refuse that."""
    folder = tmp_path / "drop"
    write_records(folder / "records.jsonl", [record("T-1")])
    first = batch(folder, rulebook, folder / "scores.csv")
    assert first.exit_code == 0, first.stderr
    scores = (folder / "scores.csv").read_bytes()
    assert_one_clear_error(batch(folder, rulebook, folder / "scores.csv"))
    assert (folder / "scores.csv").read_bytes() == scores


def test_scores_and_rejects_are_never_the_same_file(tmp_path: Path, rulebook: Path, records: Path) -> None:
    out = tmp_path / "scores.csv"
    assert_one_clear_error(batch(records, rulebook, out, "--rejects", str(out)))


def _csv(path: Path, header: str, rows: list[str]) -> Path:
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


GOOD_ROW = f"court,T-1,{PERSON},person,court.judgment_default,2026-03-01"


@pytest.mark.parametrize(
    ("header", "row", "must_contain"),
    [
        # a semicolon file: one column named by the whole header line
        (
            "source;record_id;subject_id;subject_kind;category;occurred_on",
            GOOD_ROW.replace(",", ";"),
            ("missing required columns source, record_id, subject_id, subject_kind, category, occurred_on",
             "is the delimiter a comma?"),
        ),
        ("source\trecord_id\tsubject_id\tsubject_kind\tcategory\toccurred_on", GOOD_ROW.replace(",", "\t"),
         ("missing required columns", "is the delimiter a comma?")),
        # misspelt columns: named as unknown
        ("source,record,subject_id,kind,category,occurred_on", GOOD_ROW,
         ("missing required columns record_id, subject_kind", "unknown columns record, kind")),
        # no header at all: the first row is data, and is not echoed
        (GOOD_ROW, GOOD_ROW, ("missing required columns", "the first line must name the columns")),
        # a column named twice is as ambiguous as a JSON key named twice
        ("source,record_id,subject_id,subject_kind,category,occurred_on,category", GOOD_ROW + ",tax.x",
         ("names column category more than once",)),
    ],
)  # fmt: skip
def test_a_csv_header_without_the_required_columns_is_one_clear_error(
    tmp_path: Path, rulebook: Path, header: str, row: str, must_contain: tuple[str, ...]
) -> None:
    """Before: every row was rejected as 'missing subject_id' and the run exited 0."""
    path = _csv(tmp_path / "records.csv", header, [row, row.replace("T-1", "T-2")])
    line = assert_one_clear_error(batch(path, rulebook, tmp_path / "scores.csv"), str(path), *must_contain)
    assert PERSON not in line and line.isprintable()
    assert not (tmp_path / "scores.csv").exists()


def test_a_parquet_file_without_the_required_columns_is_one_clear_error(tmp_path: Path, rulebook: Path) -> None:
    path = tmp_path / "records.parquet"
    pq.write_table(pa.table({"source": ["court"], "id": ["T-1"]}), path)
    assert_one_clear_error(
        batch(path, rulebook, tmp_path / "scores.csv"),
        str(path),
        "missing required columns record_id",
        "unknown columns id",
    )


@pytest.mark.parametrize(
    ("as_of", "message"),
    [
        ("2026-6-30", "--as-of is not a valid date (YYYY-MM-DD)"),  # accepted before, refused in records
        ("2026-02-30", "--as-of is not a valid date (YYYY-MM-DD)"),  # was "does not match the format"
        ("0001-01-01", "--as-of must be between 1900-01-01 and 2999-12-31"),
        ("tomorrow", "--as-of is not a valid date (YYYY-MM-DD)"),
        ("30/06/2026", "--as-of is not a valid date (YYYY-MM-DD)"),
        ("", "--as-of is not a valid date (YYYY-MM-DD)"),
    ],
)
def test_a_bad_date_option_is_one_line_in_the_words_of_records(
    tmp_path: Path, rulebook: Path, records: Path, as_of: str, message: str
) -> None:
    """One date parser for records and options; a bad value is one line, not a usage box."""
    result = batch(records, rulebook, tmp_path / "scores.csv", as_of=as_of)
    assert assert_one_clear_error(result) == f"error: {message}"
    explained = invoke("explain", PERSON, "--records", str(records), "--rulebook", str(rulebook), "--as-of", as_of)
    assert assert_one_clear_error(explained) == f"error: {message}"


def test_a_date_option_takes_what_a_record_takes(tmp_path: Path, rulebook: Path, records: Path) -> None:
    for as_of in ("2026-06-30", "2026-06-30T12:00:00"):
        assert batch(records, rulebook, tmp_path / f"scores-{len(as_of)}.csv", as_of=as_of).exit_code == 0


def test_explain_from_files_with_a_record_of_year_one(tmp_path: Path, rulebook: Path) -> None:
    """Before: credo explain --records crashed on occurred_on 0001-01-01. Now the row is a reject like any other."""
    path = write_records(tmp_path / "r.jsonl", [record("T-1"), record("T-2", occurred_on="0001-01-01")])
    result = invoke("explain", PERSON, "--records", str(path), "--rulebook", str(rulebook), "--as-of", "2026-06-30")
    assert result.exit_code == 0, result.stderr
    scored = batch(path, rulebook, tmp_path / "scores.csv")
    assert scored.exit_code == 0 and "rejected 1" in scored.stdout
