"""The subject's report as a page (``GET /me``) against the same report as JSON (``GET /v1/me/report``).

    PYTHONPATH=. .venv/bin/python -m bench.pages                      # SQLite, the demo town (100,000 people)
    PYTHONPATH=. .venv/bin/python -m bench.pages --people 20000 --seconds 5 --subjects 500
    PYTHONPATH=. .venv/bin/python -m bench.pages --db postgresql+psycopg://postgres@127.0.0.1:5432/test

A fresh store gets the demo town through ingestion and the demo rulebook, as :mod:`bench.api` makes it.
For ``--subjects`` people of the town drawn at random, each gets an API token and a signed-in session (a one-time link used,
as a person's browser would). One ``credo serve`` process answers both kinds of request, so both see the
same server, store and machine; the load comes from this process over loopback, in a closed loop with
``--connections`` connections (1 by default: the latency one person sees), alternating JSON, page, JSON,
page. Both requests read the report through the same service and each writes the same audit entry; the page
adds rendering. It prints each run's rate, p50 and p99, and the ratios of the page to the JSON report.
The issue's target: the page's p99 under 50 ms.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import tempfile
import time

import sqlalchemy as sa

from bench.api import free_port, server
from bench.ingest import fresh_store, setup
from bench.loadgen import Result, closed_loop, request_bytes
from credo.demo import DEMO_AS_OF, generate_town
from credo.services import signin
from credo.services.actor import Actor
from credo.services.ingest import ingest_path
from credo.services.unit_of_work import unit_of_work
from credo.store.bootstrap import Store, open_store
from credo.store.tables import subjects
from credo.tokens import issue_token
from credo.web.session import COOKIE

TARGET_P99 = 0.050  # seconds (issue 13)


def sample_people(store: Store, n: int, rng: random.Random) -> list[str]:
    """``n`` people of the town drawn at random (seeded): the store's first people are its busiest (the town
    generator gives its early people the most records), and a report costs more the more records count."""
    with store.begin() as connection:
        ring = store.keys(connection)
        ids = list(connection.execute(sa.select(subjects.c.id).where(subjects.c.kind == "person")).scalars())
        chosen = rng.sample(ids, min(n, len(ids)))
        rows = connection.execute(sa.select(subjects.c.identifier_enc).where(subjects.c.id.in_(chosen))).scalars()
        return [ring.decrypt(value).decode() for value in rows]


def sessions(store_environ: dict[str, str], store_url: str, people: list[str]) -> list[str]:
    """A signed-in session for each person: its cookie's token."""
    store = open_store(store_url, environ=store_environ)
    try:
        with unit_of_work(store) as uow:
            codes = [
                signin.issue_link(uow, Actor("operator", "bench"), "subject", p, "1h", kind="person") for p in people
            ]
        tokens = []
        with unit_of_work(store) as uow:
            for code in codes:
                started = signin.sign_in(uow, code)
                assert started is not None, "a fresh sign-in link could not be used"
                tokens.append(started.token)
        return tokens
    finally:
        store.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--people", type=int, default=100_000, help="People in the town (organisations: a tenth).")
    parser.add_argument("--db", default=None, help="A PostgreSQL URL (a new schema is made and dropped).")
    parser.add_argument("--subjects", type=int, default=200, help="Signed-in people the requests are spread over.")
    parser.add_argument("--seconds", type=float, default=10.0, help="Length of each run.")
    parser.add_argument("--connections", type=int, default=1, help="Connections of the closed loop.")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="credo-bench-pages-") as tmp:
        started = time.perf_counter()
        stats = generate_town(f"{tmp}/town.parquet", args.people, max(1, args.people // 10), args.seed, DEMO_AS_OF)
        with fresh_store(args.db, tmp) as store:
            setup(store)
            ingest_path(store, f"{tmp}/town.parquet", today=DEMO_AS_OF)
            print(
                f"{store.engine.dialect.name} store: {stats.records:,} records of "
                f"{stats.people + stats.organizations:,} subjects ({time.perf_counter() - started:.1f} s)"
            )
            people = sample_people(store, args.subjects, random.Random(args.seed))
            now = dt.datetime.now(dt.UTC)
            with store.begin() as connection:
                ring = store.keys(connection)
            bearer = [issue_token(ring, "subject", p, now=now, kind="person") for p in people]
            url = store.url.render_as_string(hide_password=False)
            env = {"CREDO_TODAY": DEMO_AS_OF.isoformat(), **(store.environ or {})}
            cookies = sessions({**env}, url, people)
            as_json = [request_bytes("GET", "/v1/me/report", {"Authorization": f"Bearer {t}"}) for t in bearer]
            as_page = [request_bytes("GET", "/me", {"Cookie": f"{COOKIE}={t}"}) for t in cookies]
            port = free_port()
            with server(["-m", "credo", "--db", url, "serve", "--port", str(port)], env, port):
                compare(args, port, as_json, as_page)


def compare(args: argparse.Namespace, port: int, as_json: list[bytes], as_page: list[bytes]) -> None:
    """Warm up, then two runs of each, alternating; the best run of each is compared."""
    for requests in (as_json, as_page):
        warm = closed_loop(port, requests, connections=args.connections, seconds=1.0)
        if set(warm.statuses) != {200}:
            raise SystemExit(f"while warming up the server answered {warm.statuses}, not only 200")
    runs: dict[str, list[Result]] = {"json": [], "page": []}
    for _ in range(2):
        runs["json"].append(closed_loop(port, as_json, connections=args.connections, seconds=args.seconds))
        runs["page"].append(closed_loop(port, as_page, connections=args.connections, seconds=args.seconds))
    names = {"json": "GET /v1/me/report (JSON)", "page": "GET /me (page)"}
    for name, results in runs.items():
        for n, r in enumerate(results, 1):
            print("  " + r.line(f"{names[name]}, run {n}"))
    json_best = min(runs["json"], key=lambda r: r.percentile(99))
    page_best = min(runs["page"], key=lambda r: r.percentile(99))
    page_worst = max(r.percentile(99) for r in runs["page"])
    verdict = "under" if page_worst < TARGET_P99 else "NOT under"
    print(
        f"report page: p99 {page_best.percentile(99) * 1000:.2f} ms (best run; worst {page_worst * 1000:.2f} ms, "
        f"{verdict} the {TARGET_P99 * 1000:.0f} ms target), {page_best.rate:,.0f}/s; JSON report p99 "
        f"{json_best.percentile(99) * 1000:.2f} ms, {json_best.rate:,.0f}/s; ratio page/JSON: p99 "
        f"{page_best.percentile(99) / json_best.percentile(99):.2f}, rate {page_best.rate / json_best.rate:.2f} "
        f"({args.connections} connection(s))"
    )


if __name__ == "__main__":
    main()
