"""A synthetic town: people, organisations and three years of records, in one Parquet file.

Everything is computed inside DuckDB, column at a time: identifiers with
their check characters, which subject has which record, dates, amounts,
resolutions, later versions and withdrawals. Randomness is DuckDB's
``hash`` of each draw's coordinates (subject, category, occurrence, salt)
mixed with the seed, so a seed gives the same file, byte for byte, whatever
the number of threads (DuckDB's ``random()`` does not).

Identifiers never name a real person: birth dates, sequence numbers and
organisation codes are drawn, only the area codes are real (the districts in
:data:`AREAS`). Persons are unique by construction: an affine permutation of
the person's index picks the (area, birth date, sequence) triple. The same
holds for organisations, whose codes follow the post-2015 ``MA`` pattern.

The file has the record fields of SCORING.md. Dates are ISO text (so that
the deliberately bad rows can carry a date that does not exist) and amounts
are DECIMAL(18,2). Record ids (``TRF-2025-0CKYT51E3H``) are the record's
coordinates, permuted and written in base 31, so they are unique without a
sort. Rows come in arrival order: first versions by date, then later
versions that add a resolution, then withdrawals, then any bad rows.
"""

from __future__ import annotations

import datetime as dt
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import duckdb
import pyarrow as pa

from credo.batch.sqlids import base31, org_code_check_sql, resident_id_check_sql, uscc_check_sql
from credo.demo.rates import CATEGORIES, SOURCES, YEARS

__all__ = ["AREAS", "DEMO_AS_OF", "FIELDS", "MAX_ORGANIZATIONS", "MAX_PEOPLE", "TownStats", "generate_town"]

DEMO_AS_OF = dt.date(2026, 6, 30)  # the as-of date of the published scoring vectors

# Real district codes (GB/T 2260), weighted out of 20: Demo City is mostly Rongcheng and Huantai.
AREAS = {
    "371082": 10,  # Rongcheng, Weihai, Shandong
    "370321": 4,  # Huantai County, Zibo, Shandong
    "110101": 2,  # Dongcheng, Beijing
    "310104": 2,  # Xuhui, Shanghai
    "440305": 1,  # Nanshan, Shenzhen
    "510107": 1,  # Wuhou, Chengdu
}
_BY_RESIDUE = [code for code, weight in AREAS.items() for _ in range(weight)]
_AGE_DAYS = 62 * 365  # ages 18 to 80
_ADULT_DAYS = 18 * 365 + 5  # 18 years and their leap days
_SEQ_GROUPS = 50  # sequence numbers 000-999 = 50 groups of the 20 area residues
MAX_PEOPLE = len(_BY_RESIDUE) * _AGE_DAYS * _SEQ_GROUPS
MAX_ORGANIZATIONS = 31**6
FUTURE_SHARE = 0.002  # records dated after the as-of date (a source's clock or a data-entry slip)
TWO_VERSION_SHARE = 0.3  # resolved records first sent unresolved, then re-sent with resolved_on
WITHDRAWN_SHARE = 0.005  # adverse records the source later withdraws
_BAD_KINDS = 8
FIELDS = (
    "source",
    "record_id",
    "subject_id",
    "subject_kind",
    "category",
    "occurred_on",
    "amount",
    "resolved_on",
    "status",
    "reference",
)

Progress = Callable[[str], None]


@dataclass(frozen=True)
class TownStats:
    path: str
    people: int
    organizations: int
    records: int  # rows written, every version and bad row included
    by_source: dict[str, int] = field(default_factory=dict)
    later_versions: int = 0
    withdrawn: int = 0
    future_dated: int = 0
    bad_rows: int = 0
    seconds: float = 0.0


def _coprime(start: int, modulus: int) -> int:
    value = start % modulus or 1
    while math.gcd(value, modulus) != 1:
        value += 1
    return value


def _spec_table() -> pa.Table:
    rows = []
    for spec_id, c in enumerate(CATEGORIES):
        extra = max(c.events - 1.0, 0.0)
        slots = math.ceil(2 * extra) if extra > 0 else 0
        lo, hi = c.amount or (None, None)
        if spec_id >= 63 or slots >= 256:
            raise ValueError(f"{c.category}: too many categories or events to pack a draw's coordinates")
        rows.append(
            {
                "spec_id": spec_id,
                "source": c.source,
                "code": SOURCES[c.source],
                "category": c.category,
                "kind": c.kind,
                "share": c.share,
                "extra_slots": slots,
                "slot_prob": extra / slots if slots else 0.0,
                "amount_lo": lo,
                "amount_hi": hi,
                "resolve_share": c.resolved,
                "rmin": c.resolve_days[0],
                "rmax": c.resolve_days[1],
                "annual": c.annual,
                "negative": c.negative,
                "ref": c.reference,
            }
        )
    return pa.Table.from_pylist(rows)


def _key(idx: object, kind_no: object, spec_id: object, slot: object) -> str:
    """Pack a draw's coordinates into one integer: 30 + 1 + 6 + 8 bits, and 5 left for the salt."""
    return f"((({idx}) * 2 + {kind_no}) * 64 + {spec_id}) * 256 + {slot}"


class _Sql:
    """SQL text for one town: the seed, the as-of date and the uniform draws."""

    def __init__(self, seed: int, as_of: dt.date) -> None:
        self.seed = seed
        self.as_of = f"DATE '{as_of.isoformat()}'"
        rating_day = dt.date(as_of.year, 4, 25)
        self.rating_year = as_of.year if as_of >= rating_day else as_of.year - 1

    def u(self, key: str, salt: int) -> str:
        """A uniform draw in [0, 1) from the seed, a row's packed coordinates and a salt.

        DuckDB's ``hash`` of one integer mixes well, but its many-argument form
        combines hashes weakly (draws sharing all but one argument correlate),
        so the coordinates are packed into one integer first.
        """
        return f"(hash(xor(CAST(({key}) * 32 + {salt} AS UBIGINT), hash({self.seed}))) / 18446744073709551616.0)"

    def persons(self, people: int) -> str:
        multiplier = _coprime(1_000_003 + (self.seed * 7919) % 100_000, MAX_PEOPLE)
        offset = (self.seed * 2_654_435_761) % MAX_PEOPLE
        residues = "[" + ", ".join(f"'{a}'" for a in _BY_RESIDUE) + "]"
        n = len(_BY_RESIDUE)
        return f"""
        SELECT idx, first17 || {resident_id_check_sql("first17")} AS subject_id
        FROM (
            SELECT idx,
                   {residues}[CAST(k % {n} AS INTEGER) + 1]
                   || strftime({self.as_of} - CAST({_ADULT_DAYS} + (k // {n}) % {_AGE_DAYS} AS INTEGER), '%Y%m%d')
                   || lpad(CAST((k // {n * _AGE_DAYS}) * {n} + k % {n} AS VARCHAR), 3, '0') AS first17
            FROM (SELECT range AS idx, (range * {multiplier} + {offset}) % {MAX_PEOPLE} AS k FROM range({people}))
        )"""

    def organizations(self, organizations: int) -> str:
        multiplier = _coprime(700_001 + (self.seed * 104_729) % 100_000, MAX_ORGANIZATIONS)
        offset = (self.seed * 40_503) % MAX_ORGANIZATIONS
        residues = "[" + ", ".join(f"'{a}'" for a in _BY_RESIDUE) + "]"
        kind = self.u(_key("idx", 1, 63, 0), 1)
        area = self.u(_key("idx", 1, 63, 0), 2)
        return f"""
        SELECT idx, first17 || {uscc_check_sql("first17")} AS subject_id
        FROM (
            SELECT idx, registry || body || {org_code_check_sql("body")} AS first17
            FROM (
                SELECT idx,
                       '9' || CASE WHEN {kind} < 0.85 THEN '1' WHEN {kind} < 0.95 THEN '2' ELSE '3' END
                       || {residues}[CAST(floor({area} * {len(_BY_RESIDUE)}) AS INTEGER) + 1] AS registry,
                       'MA' || {base31("k", 6)} AS body
                FROM (SELECT range AS idx, (range * {multiplier} + {offset}) % {MAX_ORGANIZATIONS} AS k
                      FROM range({organizations}))
            )
        )"""

    def events(self) -> str:
        """One row per record: which subjects have which records, and how many."""
        key = _key("s.idx", "s.kind_no", "p.spec_id", 0)
        return f"""
        WITH chosen AS (
            SELECT s.kind, s.kind_no, s.idx, s.subject_id, p.*,
                   least(1.0, 2.0 * p.slot_prob * {self.u(key, 2)}) AS p_i
            FROM subjects s JOIN spec p ON s.kind = p.kind
            WHERE {self.u(key, 1)} < p.share
        )
        SELECT c.*, t.slot
        FROM chosen c, range(c.extra_slots + 1) t(slot)
        WHERE t.slot = 0 OR {self.u(_key("c.idx", "c.kind_no", "c.spec_id", "t.slot"), 3)} < c.p_i"""

    def drawn(self) -> str:
        """Dates, amounts, resolutions, versions and withdrawals for each record."""
        key = _key("idx", "kind_no", "spec_id", "slot")
        days = YEARS * 365
        return f"""
        SELECT kind, kind_no, idx, subject_id, spec_id, slot, source, code, category, ref,
               occurred, amount, two_versions, withdrawn,
               CASE WHEN will_resolve AND occurred + resolve_after <= {self.as_of}
                    THEN occurred + resolve_after END AS resolved
        FROM (
            SELECT e.*,
                CASE WHEN annual THEN make_date({self.rating_year} - CAST(slot AS INTEGER), 4, 25)
                     WHEN {self.u(key, 4)} < {FUTURE_SHARE}
                         THEN {self.as_of} + CAST(1 + floor({self.u(key, 5)} * 60) AS INTEGER)
                     ELSE {self.as_of} - CAST(floor({self.u(key, 6)} * {days}) AS INTEGER)
                END AS occurred,
                CASE WHEN amount_lo IS NOT NULL THEN CAST(round(
                    amount_lo * pow(amount_hi / amount_lo, {self.u(key, 7)}), 2) AS DECIMAL(18, 2)) END AS amount,
                {self.u(key, 8)} < resolve_share AS will_resolve,
                CAST(rmin + floor({self.u(key, 9)} * (rmax - rmin + 1)) AS INTEGER) AS resolve_after,
                {self.u(key, 10)} < {TWO_VERSION_SHARE} AS two_versions,
                negative AND {self.u(key, 11)} < {WITHDRAWN_SHARE} AS withdrawn
            FROM events e
        )"""


_SERIAL_MULTIPLIER = 186_601  # odd, so multiplying modulo 2**45 permutes the packed keys

# Record ids are unique by construction, without a sort: the packed coordinates of the
# record (unique per record), permuted so that neighbours do not look alike, in base 31.
_NUMBERED = f"""
    SELECT *, code || '-' || year(occurred) || '-' || serial AS record_id,
           CASE WHEN ref IS NOT NULL THEN '(' || year(occurred) || ')' || ref || '-' || serial END AS reference
    FROM (
        SELECT *, {base31(f"(rkey * {_SERIAL_MULTIPLIER}) % {2**45}", 10)} AS serial
        FROM (SELECT *, {_key("idx", "kind_no", "spec_id", "slot")} AS rkey FROM drawn)
    )"""

_FIELDS = """source, record_id, subject_id, kind AS subject_kind, category,
             strftime(occurred, '%Y-%m-%d') AS occurred_on, amount"""

_ROWS = f"""
    SELECT 1 AS phase, occurred AS arrived, rkey, {_FIELDS},
           CASE WHEN NOT two_versions THEN strftime(resolved, '%Y-%m-%d') END AS resolved_on,
           'active' AS status, reference
    FROM numbered
    UNION ALL
    SELECT 2, resolved, rkey, {_FIELDS}, strftime(resolved, '%Y-%m-%d'), 'active', reference
    FROM numbered WHERE two_versions AND resolved IS NOT NULL
    UNION ALL
    SELECT 3, occurred, rkey, {_FIELDS}, strftime(resolved, '%Y-%m-%d'), 'withdrawn', reference
    FROM numbered WHERE withdrawn"""


def _bad_rows_sql(count: int, people: int, organizations: int, as_of: dt.date) -> str:
    """``count`` rows that each break one rule of SCORING.md, cycling through eight kinds."""
    day = f"'{as_of - dt.timedelta(days=10):%Y-%m-%d}'"
    impossible = f"'{as_of.year}-02-30'"
    return f"""
    SELECT 4 AS phase, DATE '{as_of.isoformat()}' AS arrived, b AS rkey,
        ['traffic-police', 'traffic-police', 'tax-authority', 'bank-consortium',
         'market-regulator', 'civil-affairs', 'people-court', 'online-platform'][b % {_BAD_KINDS} + 1] AS source,
        'BAD-' || lpad(CAST(b + 1 AS VARCHAR), 6, '0') AS record_id,
        CASE b % {_BAD_KINDS}
            WHEN 0 THEN substr(p.subject_id, 1, 17)
                        || CASE WHEN substr(p.subject_id, 18, 1) = '0' THEN '1' ELSE '0' END
            WHEN 4 THEN substr(o.subject_id, 1, 16)
                        || CASE WHEN substr(o.subject_id, 17, 1) = '0' THEN '1' ELSE '0' END
                        || substr(o.subject_id, 18, 1)
            WHEN 2 THEN o.subject_id
            WHEN 6 THEN o.subject_id
            ELSE p.subject_id
        END AS subject_id,
        CASE WHEN b % {_BAD_KINDS} IN (2, 4) THEN 'organization' ELSE 'person' END AS subject_kind,
        CASE b % {_BAD_KINDS}
            WHEN 2 THEN 'tax.late_payment' WHEN 3 THEN 'loan.overdue' WHEN 4 THEN 'market.abnormal_operations'
            WHEN 5 THEN 'civic.volunteer_service' WHEN 6 THEN 'court.judgment_default'
            WHEN 7 THEN NULL ELSE 'traffic.violation'
        END AS category,
        CASE WHEN b % {_BAD_KINDS} = 1 THEN {impossible} ELSE {day} END AS occurred_on,
        CASE WHEN b % {_BAD_KINDS} = 2 THEN CAST(-100 AS DECIMAL(18, 2)) END AS amount,
        CASE WHEN b % {_BAD_KINDS} = 3 THEN '{as_of - dt.timedelta(days=40):%Y-%m-%d}' END AS resolved_on,
        CASE WHEN b % {_BAD_KINDS} = 5 THEN 'deleted' ELSE 'active' END AS status,
        CAST(NULL AS VARCHAR) AS reference
    FROM range({count}) t(b)
    JOIN persons p ON p.idx = (b * 7919) % {max(people, 1)}
    JOIN organizations o ON o.idx = (b * 104729) % {max(organizations, 1)}"""


# Long: one DuckDB statement per table of the town, in the order they depend on each other.
def generate_town(
    out_path: str,
    people: int = 100_000,
    organizations: int = 10_000,
    seed: int = 7,
    as_of: dt.date = DEMO_AS_OF,
    *,
    progress: Progress | None = None,
    bad_rows: int = 0,
    threads: int | None = None,
) -> TownStats:
    """Write a synthetic town's records to ``out_path`` (Parquet) and say what is in it.

    Deterministic: the same arguments give the same file (birth dates count
    back from ``as_of``, so the people depend on it too). ``bad_rows`` adds
    that many rows that a validator must reject (a wrong check character, a
    date that does not exist, a negative amount, ...), so rejects show up.
    """
    if not 0 <= people <= MAX_PEOPLE:
        raise ValueError(f"people must be between 0 and {MAX_PEOPLE:,}")
    if not 0 <= organizations <= MAX_ORGANIZATIONS:
        raise ValueError(f"organizations must be between 0 and {MAX_ORGANIZATIONS:,}")
    if bad_rows < 0 or (bad_rows and (people == 0 or organizations == 0)):
        raise ValueError("bad_rows needs at least one person and one organisation, and cannot be negative")
    say = progress or (lambda _message: None)
    started = time.perf_counter()
    sql = _Sql(seed, as_of)
    config: dict[str, str | bool | int | float | list[str]] = {"preserve_insertion_order": True}
    if threads:
        config["threads"] = threads
    con = duckdb.connect(config=config)
    try:
        con.execute("SET enable_progress_bar = false").fetchall()
        say("making identifiers")
        con.register("spec", _spec_table())
        con.execute(f"CREATE TEMP TABLE persons AS {sql.persons(people)}").fetchall()
        con.execute(f"CREATE TEMP TABLE organizations AS {sql.organizations(organizations)}").fetchall()
        con.execute(
            """CREATE TEMP TABLE subjects AS
               SELECT 'person' AS kind, 0 AS kind_no, idx, subject_id FROM persons
               UNION ALL SELECT 'organization', 1, idx, subject_id FROM organizations"""
        ).fetchall()
        say("drawing records")
        con.execute(f"CREATE TEMP TABLE events AS {sql.events()}").fetchall()
        con.execute(f"CREATE TEMP TABLE drawn AS {sql.drawn()}").fetchall()
        con.execute(f"CREATE TEMP TABLE numbered AS {_NUMBERED}").fetchall()
        rows = _ROWS
        if bad_rows:
            rows += f" UNION ALL {_bad_rows_sql(bad_rows, people, organizations, as_of)}"
        con.execute(f"CREATE TEMP TABLE town AS {rows}").fetchall()
        say("writing Parquet")
        quoted = out_path.replace("'", "''")
        try:
            con.execute(
                f"COPY (SELECT {', '.join(FIELDS)} FROM town ORDER BY phase, arrived, rkey) "
                f"TO '{quoted}' (FORMAT parquet, COMPRESSION zstd)"
            ).fetchall()
        except duckdb.IOException as exc:
            raise OSError(f"{out_path}: cannot write: {str(exc).splitlines()[0]}") from None
        by_source = dict(con.execute("SELECT source, count(*) FROM town GROUP BY source ORDER BY source").fetchall())
        total, later, withdrawn, future, bad = con.execute(
            f"""SELECT count(*), count(*) FILTER (WHERE phase = 2), count(*) FILTER (WHERE phase = 3),
                       count(*) FILTER (WHERE phase = 1 AND arrived > {sql.as_of}),
                       count(*) FILTER (WHERE phase = 4)
                FROM town"""
        ).fetchall()[0]
    finally:
        con.close()
    return TownStats(
        path=out_path,
        people=people,
        organizations=organizations,
        records=int(total),
        by_source={str(k): int(v) for k, v in by_source.items()},
        later_versions=int(later),
        withdrawn=int(withdrawn),
        future_dated=int(future),
        bad_rows=int(bad),
        seconds=time.perf_counter() - started,
    )
