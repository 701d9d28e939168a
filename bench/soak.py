"""Soak: ``credo serve`` under a mixed load for minutes, then the checks that matter.

    PYTHONPATH=. .venv/bin/python -m bench.soak --minutes 10                 # SQLite
    PYTHONPATH=. .venv/bin/python -m bench.soak --minutes 10 --db postgresql+psycopg://postgres@127.0.0.1:5432/test
    PYTHONPATH=. .venv/bin/python -m bench.soak --seconds 30 --people 2000   # a short run

A fresh store (a SQLite file, or a new PostgreSQL schema dropped at the end)
gets the demo town (``--people``) through ingestion, the demo rulebook and a
relying party registered for every measure. ``credo serve`` runs as a
separate process, its delivery pass every ``--deliver-every`` seconds
against a local SMTP server and webhook receiver (:mod:`bench.receivers`):
webhooks for the relying party and for the court, email addresses for some
subjects. The mixed load (:mod:`bench.soak_load`) runs from this process over
loopback for the whole run, a ``credo ingest`` of a few thousand records in
parallel a third of the way in.

It prints requests and errors by route, p50 and p99 per minute (per
``--window``) and route, the server's resident memory per minute, and at the
end: ``credo audit verify``, every acknowledged push stored exactly once
(the (source, record_id, version) answered against the store), every decision
answered in the decisions log, what was delivered; then whether each target
is met. ``--json FILE`` writes the same as JSON.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import random
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import sqlalchemy as sa
import uvloop

from bench.api import BANK, free_port, known_people, server
from bench.ingest import fresh_store, setup
from bench.receivers import Received, receivers
from bench.soak_load import DECIDE, PUSH, PUSHED, Ledger, Plan, Tally, run_load
from credo.api.auth import issue_token
from credo.demo import DEMO_AS_OF, generate_town
from credo.services.ingest import ingest_path
from credo.store.bootstrap import Store
from credo.store.relying import add_relying
from credo.store.rulebooks import rulebook_at
from credo.store.tables import decisions, deliveries, records

__all__ = ["Options", "Report", "main", "run"]

NOW = dt.datetime.now(dt.UTC)
TARGETS_MS = {DECIDE: 20.0, PUSH: 30.0}  # p99 in every window
MEMORY_GROWTH = 0.10  # after the first window
CONTACTS = 50  # active subjects with an email address


@dataclass
class Options:
    seconds: float = 600.0
    db: str | None = None
    people: int = 20_000
    push_rate: float = 200.0
    connections: int = 8
    subject_rate: float = 4.0
    review_every: float = 2.0
    window: float = 60.0
    warmup: float = 3.0
    deliver_every: float = 15.0
    ingest_people: int = 400
    ingest_at: float | None = None  # seconds after the warm-up; default: a third of the run
    active: int = 200  # subjects active at a time: a third of the pushes go to them, and they visit
    active_for: float = 60.0  # seconds each set of active subjects stays active before the next set's turn (0: always)
    seed: int = 7


@dataclass
class Report:
    backend: str
    options: dict[str, Any]
    load_average: dict[str, str]
    windows: dict[str, dict[int, dict[str, float]]]  # route -> window -> requests, errors, p50 and p99 (ms)
    memory_kb: dict[int, int]
    pushes: dict[str, int]
    decisions: dict[str, int]
    disputes: dict[str, int]
    deliveries: dict[str, Any]
    ingest: dict[str, Any]
    audit: dict[str, Any]
    server_log: dict[str, Any]
    targets: list[tuple[str, bool | None, str]] = field(default_factory=list)

    @property
    def server_errors(self) -> int:
        return sum(int(w["5xx"] + w["no answer"]) for route in self.windows.values() for w in route.values())


def run(options: Options, say: Any = print) -> Report:
    """Set up, serve, load, check; the report (also printed through ``say``)."""
    rng = random.Random(options.seed)
    loadavg = {"before": Path("/proc/loadavg").read_text().strip()}
    with tempfile.TemporaryDirectory(prefix="credo-soak-") as tmp, fresh_store(options.db, tmp) as store:
        started = time.perf_counter()
        town = generate_town(f"{tmp}/town.parquet", options.people, max(1, options.people // 10), options.seed)
        setup(store)
        ingest_path(store, f"{tmp}/town.parquet", today=DEMO_AS_OF)
        with store.begin() as connection:
            _, book = rulebook_at(connection, DEMO_AS_OF)
            measures = [m.id for m in book.measures]
            add_relying(connection, BANK, measures, set(measures), NOW)
            ring = store.keys(connection)
        people = known_people(store, 5_000)
        sets = 1 if options.active_for <= 0 else max(1, math.ceil(options.seconds / options.active_for))
        active = rng.sample(people, min(options.active * sets, len(people)))

        def token(role: str, principal: str, kind: str | None = None) -> str:
            return issue_token(ring, role, principal, now=NOW, expires=dt.timedelta(days=1), kind=kind)

        extra = _ingest_file(tmp, options) if options.ingest_people else ("", 0)
        say(
            f"{store.engine.dialect.name} store: {town.records:,} records of {town.people + town.organizations:,} "
            f"subjects ingested ({time.perf_counter() - started:.1f} s); the file ingest: {extra[1]:,} records"
        )
        url = store.url.render_as_string(hide_password=False)
        port = free_port()
        with receivers() as got, open(f"{tmp}/server.log", "wb") as log:
            env = {
                "CREDO_TODAY": DEMO_AS_OF.isoformat(),
                **(store.environ or {}),
                "CREDO_SMTP_HOST": "127.0.0.1",
                "CREDO_SMTP_PORT": str(got.smtp_port),
                "CREDO_SMTP_FROM": "notices@credo.example",
                "CREDO_SMTP_STARTTLS": "false",
                "CREDO_WEBHOOK_ALLOW_HOSTS": "127.0.0.1",
                "CREDO_DELIVERY_INTERVAL": str(options.deliver_every),
            }
            with server(["-m", "credo", "--db", url, "serve", "--port", str(port)], env, port, log) as process:
                _prepare(port, got, token, active)
                plan = Plan(
                    port=port,
                    seconds=options.seconds,
                    warmup=options.warmup,
                    window=options.window,
                    push_rate=options.push_rate,
                    connections=options.connections,
                    subject_rate=options.subject_rate,
                    review_every=options.review_every,
                    sources={source: token("source", source) for source, _ in PUSHED},
                    bank=token("relying", BANK),
                    reviewer=token("reviewer", "soak-reviewer"),
                    measures=measures,
                    people=people,
                    active={p: token("subject", p, "person") for p in active},
                    active_size=options.active,
                    active_for=options.active_for,
                    today=DEMO_AS_OF.isoformat(),
                    server_pid=process.pid,
                    ingest=[sys.executable, "-m", "credo", "--db", url, "ingest", extra[0]] if extra[1] else [],
                    ingest_at=options.seconds / 3 if options.ingest_at is None else options.ingest_at,
                    ingest_env={**os.environ, **env},
                    seed=options.seed,
                )
                say(
                    f"soak: {options.seconds:.0f} s after a {options.warmup:.0f} s warm-up; load average {loadavg['before']}"
                )
                tally, ledger = uvloop.run(run_load(plan))
                time.sleep(1.0)  # the server's own log lines of the last requests
            loadavg["after"] = Path("/proc/loadavg").read_text().strip()
            audit = _audit_verify(url, env)
        report = _report(store, options, loadavg, tally, ledger, got, audit, Path(f"{tmp}/server.log"))
    _print(report, say)
    return report


def _ingest_file(folder: str, options: Options) -> tuple[str, int]:
    """A town of its own for ``credo ingest`` (record ids prefixed, so they meet none of the store's)."""
    people = options.ingest_people
    stats = generate_town(f"{folder}/extra-raw.parquet", people, max(1, people // 10), options.seed + 1, bad_rows=8)
    path = f"{folder}/extra.parquet"
    duckdb.sql(
        f"COPY (SELECT * REPLACE ('ingest-' || record_id AS record_id) FROM read_parquet('{folder}/extra-raw.parquet')) "
        f"TO '{path}' (FORMAT parquet)"
    )
    return path, stats.records


def _prepare(port: int, got: Received, token: Any, active: list[str]) -> None:
    """Webhooks for the bank and the court, and email addresses for some active subjects, through the API."""
    operator = token("operator", "soak-operator")
    for kind, party in (("relying", BANK), ("source", "people-court")):
        _call(port, "PUT", f"/v1/webhooks/{kind}/{party}", operator, {"url": got.webhook_url})
    for n, subject in enumerate(active[:: max(1, len(active) // CONTACTS)][:CONTACTS]):  # spread over the sets
        _call(port, "PUT", "/v1/me/contact", token("subject", subject, "person"), {"email": f"subject{n}@example.org"})


def _call(port: int, method: str, path: str, token: str, body: Any) -> None:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        data=json.dumps(body).encode(),
        method=method,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        answer.read()


def _audit_verify(url: str, env: dict[str, str]) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "credo", "--db", url, "audit", "verify"],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    return {"exit": done.returncode, "said": (done.stdout + done.stderr).strip()[:300]}


def _report(  # noqa: PLR0917 (what the run gathered)
    store: Store,
    options: Options,
    loadavg: dict[str, str],
    tally: Tally,
    ledger: Ledger,
    got: Received,
    audit: dict[str, Any],
    log: Path,
) -> Report:
    with store.engine.connect() as connection:
        stored = Counter(
            {
                (s, r, v): n
                for s, r, v, n in connection.execute(
                    sa.select(records.c.source_id, records.c.record_id, records.c.version, sa.func.count())
                    .where(records.c.record_id.like("soak-%"))
                    .group_by(records.c.source_id, records.c.record_id, records.c.version)
                )
            }
        )
        logged = set(connection.execute(sa.select(decisions.c.decision_id)).scalars())
        states = connection.execute(
            sa.select(deliveries.c.channel, deliveries.c.state, deliveries.c.last_error, sa.func.count()).group_by(
                deliveries.c.channel, deliveries.c.state, deliveries.c.last_error
            )
        ).all()
    lines = log.read_text(errors="replace").splitlines()
    report = Report(
        backend=store.engine.dialect.name,
        options=asdict(options),
        load_average=loadavg,
        windows=_windows(tally),
        memory_kb=dict(sorted(ledger.memory.items())),
        pushes={
            "not sent by the end (the server behind)": ledger.unsent,
            "acknowledged": len(ledger.pushed),
            "stored once": sum(stored[k] == 1 for k in ledger.pushed),
            "missing": sum(stored[k] == 0 for k in ledger.pushed),
            "stored more than once": sum(stored[k] > 1 for k in ledger.pushed),
        },
        decisions={"answered": len(ledger.decisions), "logged": sum(d in logged for d in ledger.decisions)},
        disputes={"opened": ledger.disputes_opened, "decided": ledger.disputes_decided},
        deliveries={
            "store": {f"{c} {s}" + (f" ({e})" if e else ""): n for c, s, e, n in states},
            "received": got.counts,
        },
        ingest=ledger.ingest,
        audit=audit,
        server_log={
            "warnings": sum(" WARNING " in line for line in lines),
            "errors": sum(" ERROR " in line for line in lines),
            "last": [line[:200] for line in lines if " WARNING " in line or " ERROR " in line][-5:],
        },
    )
    report.targets = _targets(report)
    return report


def _windows(tally: Tally) -> dict[str, dict[int, dict[str, float]]]:
    found: dict[str, dict[int, dict[str, float]]] = {}
    for (route, window), latencies in sorted(tally.latencies.items()):
        ordered = sorted(latencies)
        statuses = tally.statuses[(route, window)]
        found.setdefault(route, {})[window] = {
            "requests": len(ordered),
            "4xx": sum(n for s, n in statuses.items() if 400 <= s < 500),
            "5xx": sum(n for s, n in statuses.items() if s >= 500),
            "no answer": statuses.get(0, 0),
            "p50": ordered[len(ordered) // 2] * 1000,
            "p99": ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))] * 1000,
        }
    return found


def _targets(report: Report) -> list[tuple[str, bool | None, str]]:
    targets: list[tuple[str, bool | None, str]] = [
        ("0 responses 5xx (and none unanswered or unsent)",
         report.server_errors == 0 and report.pushes["not sent by the end (the server behind)"] == 0,
         f"{report.server_errors} 5xx or unanswered; {report.pushes['not sent by the end (the server behind)']} unsent")
    ]  # fmt: skip
    for route, limit in TARGETS_MS.items():
        worst = max((w["p99"] for n, w in report.windows.get(route, {}).items() if n >= 0), default=float("nan"))
        targets.append((f"{route}: p99 under {limit:.0f} ms in every window", worst < limit, f"worst {worst:.2f} ms"))
    counted = {n: kb for n, kb in report.memory_kb.items() if n >= 0}
    if len(counted) < 2:
        targets.append((f"memory growth under {MEMORY_GROWTH:.0%} after the first window", None, "one window only"))
    else:
        first, last = counted[min(counted)], counted[max(counted)]
        growth = last / first - 1
        targets.append(
            (f"memory growth under {MEMORY_GROWTH:.0%} after the first window", growth < MEMORY_GROWTH,
             f"{first / 1024:.1f} -> {last / 1024:.1f} MiB ({growth:+.1%})")
        )  # fmt: skip
    pushes = report.pushes
    targets.append(
        ("every acknowledged push stored exactly once", pushes["stored once"] == pushes["acknowledged"] > 0,
         f"{pushes['stored once']:,} of {pushes['acknowledged']:,}")
    )  # fmt: skip
    answered = report.decisions
    targets.append(
        ("every decision answered is in the decisions log", answered["logged"] == answered["answered"] > 0,
         f"{answered['logged']:,} of {answered['answered']:,}")
    )  # fmt: skip
    delivered = sum(n for state, n in report.deliveries["store"].items() if " delivered" in state)
    received = report.deliveries["received"]
    arrived = received.get("emails", 0) + received.get("webhooks", 0) - received.get("repeats", 0)
    targets.append(  # at least once: one sent as the server stopped may still be pending, to be sent again
        ("every delivery marked delivered arrived, none twice", arrived >= delivered and received.get("repeats") == 0,
         f"{delivered:,} delivered; received {received}")
    )  # fmt: skip
    targets.append(("the audit chain verifies (credo audit verify)", report.audit["exit"] == 0, report.audit["said"]))
    targets.append(("the file ingest succeeded", report.ingest.get("exit") == 0, report.ingest.get("said", "not run")))
    return targets


def _print(report: Report, say: Any) -> None:
    say(f"\n{report.backend}: requests by route and window ({report.options['window']:.0f} s; -1: warm-up)")
    say(f"{'route':<42} {'window':>6} {'requests':>9} {'4xx':>5} {'5xx':>5} {'none':>5} {'p50 ms':>8} {'p99 ms':>8}")
    for route, windows in report.windows.items():
        for n, w in windows.items():
            say(
                f"{route:<42} {n:>6} {w['requests']:>9,.0f} {w['4xx']:>5.0f} {w['5xx']:>5.0f} {w['no answer']:>5.0f} "
                f"{w['p50']:>8.2f} {w['p99']:>8.2f}"
            )
    say(
        "server memory (VmRSS, MiB) by window: "
        + ", ".join(f"{n}: {kb / 1024:.1f}" for n, kb in report.memory_kb.items())
    )
    say(f"pushes: {report.pushes}; decisions: {report.decisions}; disputes: {report.disputes}")
    say(f"deliveries: {report.deliveries}")
    say(f"file ingest: {report.ingest}")
    say(
        f"server log: {report.server_log['warnings']} warnings, {report.server_log['errors']} errors {report.server_log['last']}"
    )
    say(f"load average before {report.load_average['before']}; after {report.load_average.get('after')}")
    say("targets:")
    for name, met, detail in report.targets:
        say(f"  [{'met' if met else 'n/a' if met is None else 'NOT MET'}] {name}: {detail}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    length = parser.add_mutually_exclusive_group()
    length.add_argument("--minutes", type=float, help="Length of the run, after the warm-up (default 10).")
    length.add_argument("--seconds", type=float, help="Length of the run in seconds.")
    parser.add_argument("--db", default=None, help="A PostgreSQL URL (a new schema is made and dropped).")
    defaults = Options()
    for name in ("people", "push_rate", "connections", "subject_rate", "review_every", "window", "warmup",
                 "deliver_every", "ingest_people", "ingest_at", "active", "active_for", "seed"):  # fmt: skip
        default = getattr(defaults, name)
        parser.add_argument(
            f"--{name.replace('_', '-')}", type=type(default) if default is not None else float, default=default
        )
    parser.add_argument("--json", type=Path, default=None, help="Write the report as JSON to this file too.")
    args = parser.parse_args()
    seconds = args.seconds if args.seconds is not None else (args.minutes or 10) * 60
    chosen = {k: v for k, v in vars(args).items() if k in Options.__dataclass_fields__}
    report = run(Options(**{**chosen, "seconds": seconds}))
    if args.json is not None:
        args.json.write_text(json.dumps(asdict(report), indent=1, default=str))
    sys.exit(0 if all(met is not False for _, met, _ in report.targets) else 1)


if __name__ == "__main__":
    main()
