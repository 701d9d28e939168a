"""HTTP API benchmark: decisions against a bare FastAPI endpoint, and record pushes at a fixed rate.

    PYTHONPATH=. .venv/bin/python -m bench.api                        # SQLite, a town of 20,000 people
    PYTHONPATH=. .venv/bin/python -m bench.api --people 100000 --seconds 20
    PYTHONPATH=. .venv/bin/python -m bench.api --db postgresql+psycopg://postgres@127.0.0.1:5432/test

A fresh store gets the demo town (:func:`credo.demo.generate_town`) through
ingestion, the demo rulebook, and a relying party registered for every
measure. Two servers run as separate processes with the same uvicorn
settings (uvloop, httptools, no access log), one worker each: ``credo serve``
over the store, and a bare FastAPI endpoint returning a constant answer of
the same shape (:mod:`bench.bare_app`). The load comes from this process
(:mod:`bench.loadgen`), over loopback:

(a) decisions, closed loop: ``--connections`` connections ask as fast as the
    server answers, for random subjects of the town and the five measures,
    alternating with the bare endpoint (bare, credo, bare, credo), so both
    see the same machine; it prints requests per second, p50 and p99 of each,
    and the ratio credo / bare of the rates;
(b) pushes, open loop: one new record per request at ``--push-rate`` per
    second for ``--seconds``, each for a random subject of the town (real-time
    rescoring, the audit trail), latency counted from the moment each request
    was due.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO
from urllib.parse import quote

import sqlalchemy as sa

from bench.ingest import fresh_store, setup
from bench.loadgen import Result, closed_loop, open_loop, request_bytes
from credo.api.auth import issue_token
from credo.demo import DEMO_AS_OF, generate_town
from credo.services.ingest import ingest_path
from credo.store.bootstrap import Store
from credo.store.relying import add_relying
from credo.store.rulebooks import rulebook_at
from credo.store.tables import subjects

NOW = dt.datetime.now(dt.UTC)
BANK = "bench-bank"
SOURCE = "people-court"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def server(
    args: list[str], env: dict[str, str], port: int, log: IO[bytes] | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """A server process, once it answers; its standard error goes to ``log`` (default: nowhere)."""
    process = subprocess.Popen(
        [sys.executable, *args], env={**os.environ, **env}, stderr=subprocess.DEVNULL if log is None else log
    )
    try:
        for _ in range(300):
            if process.poll() is not None:
                raise SystemExit(f"the server on port {port} stopped at start (exit {process.returncode})")
            try:
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{port}/healthz" if "serve" in args else f"http://127.0.0.1:{port}/docs",
                    timeout=1,
                ):
                    break
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.1)
        else:
            raise SystemExit(f"the server on port {port} did not start")
        yield process
    finally:
        process.terminate()
        process.wait(timeout=30)


def known_people(store: Store, limit: int) -> list[str]:
    with store.begin() as connection:
        ring = store.keys(connection)
        rows = connection.execute(
            sa.select(subjects.c.identifier_enc).where(subjects.c.kind == "person").limit(limit)
        ).all()
    return [ring.decrypt(r[0]).decode() for r in rows]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--people", type=int, default=20_000, help="People in the town (organisations: a tenth).")
    parser.add_argument("--db", default=None, help="A PostgreSQL URL (a new schema is made and dropped).")
    parser.add_argument("--seconds", type=float, default=10.0, help="Length of each load phase.")
    parser.add_argument("--connections", type=int, default=16, help="Connections of the closed loop.")
    parser.add_argument("--push-rate", type=float, default=200.0, help="Record pushes per second (open loop).")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--only", choices=["decisions", "pushes"], default=None, help="Run one of the two loads.")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory(prefix="credo-bench-api-") as tmp:
        started = time.perf_counter()
        stats = generate_town(f"{tmp}/town.parquet", args.people, max(1, args.people // 10), args.seed, DEMO_AS_OF)
        with fresh_store(args.db, tmp) as store:
            setup(store)
            summary = ingest_path(store, f"{tmp}/town.parquet", today=DEMO_AS_OF)
            with store.begin() as connection:
                _, book = rulebook_at(connection, DEMO_AS_OF)
                measures = [m.id for m in book.measures]
                add_relying(connection, BANK, measures, set(measures), NOW)
                ring = store.keys(connection)
            print(
                f"{store.engine.dialect.name} store: {stats.records:,} records of {stats.people + stats.organizations:,} "
                f"subjects ingested ({time.perf_counter() - started:.1f} s; {summary.new:,} stored)"
            )
            people = known_people(store, 5_000)
            bank = issue_token(ring, "relying", BANK, now=NOW)
            court = issue_token(ring, "source", SOURCE, now=NOW)
            url = store.url.render_as_string(hide_password=False)
            env = {"CREDO_TODAY": DEMO_AS_OF.isoformat(), **(store.environ or {})}
            credo_port, bare_port = free_port(), free_port()
            auth = {"Authorization": f"Bearer {bank}"}
            asks = [
                request_bytes("GET", f"/v1/decisions/{rng.choice(measures)}?subject={quote(rng.choice(people))}", auth)
                for _ in range(20_000)
            ]
            bares = [
                request_bytes("GET", f"/v1/bare/{rng.choice(measures)}?subject={quote(rng.choice(people))}")
                for _ in range(2_000)
            ]
            with (
                server(["-m", "credo", "--db", url, "serve", "--port", str(credo_port)], env, credo_port),
                server(["-m", "bench.bare_app", "--port", str(bare_port)], {"PYTHONPATH": "."}, bare_port),
            ):
                if args.only != "pushes":
                    decisions(args, credo_port, bare_port, asks, bares)
                if args.only != "decisions":
                    pushes(args, credo_port, people, court, rng)


def decisions(args: argparse.Namespace, credo_port: int, bare_port: int, asks: list[bytes], bares: list[bytes]) -> None:
    closed_loop(credo_port, asks[:500], connections=args.connections, seconds=1.0)  # warm-up
    closed_loop(bare_port, bares, connections=args.connections, seconds=1.0)
    runs: dict[str, list[Result]] = {"bare": [], "credo": []}
    for _ in range(2):
        runs["bare"].append(closed_loop(bare_port, bares, connections=args.connections, seconds=args.seconds))
        runs["credo"].append(closed_loop(credo_port, asks, connections=args.connections, seconds=args.seconds))
    for name, results in runs.items():
        for n, r in enumerate(results, 1):
            print("  " + r.line(f"{name} FastAPI endpoint, run {n}" if name == "bare" else f"credo decisions, run {n}"))
    best_bare = max(runs["bare"], key=lambda r: r.rate)
    best = max(runs["credo"], key=lambda r: r.rate)
    worst_p99 = max(r.percentile(99) for r in runs["credo"]) * 1000
    print(
        f"decisions: {best.rate:,.0f}/s with p99 {best.percentile(99) * 1000:.2f} ms (best run; "
        f"worst p99 of the runs {worst_p99:.2f} ms); bare FastAPI {best_bare.rate:,.0f}/s; "
        f"ratio {best.rate / best_bare.rate:.2f} ({args.connections} connections)"
    )


def pushes(args: argparse.Namespace, credo_port: int, people: list[str], court: str, rng: random.Random) -> None:
    requests = []
    for n in range(int(args.push_rate * args.seconds)):
        body = [{"record_id": f"bench-{n}", "subject_id": rng.choice(people), "subject_kind": "person",
                 "category": "court.judgment_default", "occurred_on": (DEMO_AS_OF - dt.timedelta(days=rng.randint(0, 300))).isoformat()}]  # fmt: skip
        headers = {"Authorization": f"Bearer {court}", "Content-Type": "application/json"}
        requests.append(request_bytes("POST", "/v1/records", headers, json.dumps(body).encode()))
    result = open_loop(credo_port, requests, rate=args.push_rate, seconds=args.seconds)
    print("  " + result.line(f"record pushes at {args.push_rate:.0f}/s"))
    print(f"pushes: p99 {result.percentile(99) * 1000:.2f} ms at {result.rate:,.0f}/s (target < 30 ms at 200/s)")


if __name__ == "__main__":
    main()
