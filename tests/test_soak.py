"""A short soak (``bench.soak``, about 20 s of mixed load on SQLite): what must hold whatever the machine's speed.

It checks the report's correctness only, never its timings: no answer 5xx
or left unanswered, every acknowledged push stored exactly once, every
decision answered logged, every delivery that is marked delivered arrived
once, the file ingest done, and ``credo audit verify`` content.
"""

from __future__ import annotations

from bench.soak import Options, run


def test_a_short_soak_keeps_every_promise_but_the_timings() -> None:
    report = run(
        Options(
            seconds=20, people=1_000, push_rate=100, window=10, warmup=1, deliver_every=4, ingest_people=200, active=50
        ),
        say=lambda _line: None,
    )
    assert report.server_errors == 0, report.windows
    assert report.pushes["acknowledged"] > 0
    assert report.pushes["stored once"] == report.pushes["acknowledged"], report.pushes
    assert report.decisions["logged"] == report.decisions["answered"] > 0
    assert report.disputes["opened"] > 0
    assert report.ingest["exit"] == 0, report.ingest
    assert report.audit["exit"] == 0, report.audit
    assert report.server_log["errors"] == 0, report.server_log
    checks = {name: met for name, met, _ in report.targets}
    assert checks["every delivery marked delivered arrived, none twice"], report.deliveries
    assert sum(n for state, n in report.deliveries["store"].items() if " delivered" in state) > 0
