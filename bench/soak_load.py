"""The soak's mixed load, on asyncio over kept-alive loopback connections (:mod:`bench.loadgen`'s exchange).

Actors, all at once until the end of the run:

- sources push one record per request at ``push_rate`` per second (open loop,
  latency counted from the moment each push was due): mostly new records,
  one in ten a new version of a record pushed before; a third go to the
  "active" subjects, so that they have records to dispute;
- relying parties ask for decisions on ``connections`` connections, each as
  fast as the server answers (closed loop);
- active subjects, ``subject_rate`` visits per second: read their report and
  notices, open a dispute on a record pushed to them (every other visit) and
  list their disputes;
- a reviewer, every ``review_every`` seconds, reads the queue and decides the
  oldest open dispute (upheld or removed), after reading it;
- the server's resident memory is read every second from /proc/PID/status;
- a file ingest (``credo ingest``, a subprocess) starts ``ingest_at`` seconds in.

Every answer is tallied by route and window (a minute for the figures); what
was acknowledged (pushes: (source, record_id, version); decisions: their ids)
is kept for the checks at the end.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import itertools
import json
import random
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from bench.loadgen import exchange, request_bytes

__all__ = ["PUSHED", "Ledger", "Plan", "Tally", "run_load"]

# (source, category): what the sources push; each source is registered for its category in the town.
PUSHED = (
    ("people-court", "court.judgment_default"),
    ("bank-consortium", "loan.overdue"),
    ("traffic-police", "traffic.violation"),
)
PUSH, DECIDE = "POST /v1/records", "GET /v1/decisions/{measure_id}"
GRACE = 30.0  # seconds after the end that answers are still waited for


@dataclass
class Tally:
    """Latencies (seconds) and statuses by (route, window); window -1 is the warm-up."""

    started: float
    window: float
    latencies: dict[tuple[str, int], list[float]] = field(default_factory=dict)
    statuses: dict[tuple[str, int], Counter[int]] = field(default_factory=dict)

    def add(self, route: str, since: float, status: int) -> None:
        key = (route, self.window_of(since))
        self.latencies.setdefault(key, []).append(time.perf_counter() - since)
        self.statuses.setdefault(key, Counter())[status] += 1

    def window_of(self, moment: float) -> int:
        return int((moment - self.started) // self.window) if moment >= self.started else -1


@dataclass
class Ledger:
    """What the server acknowledged, for the checks at the end."""

    pushed: set[tuple[str, str, int]] = field(default_factory=set)  # (source, record_id, version) answered 2xx
    decisions: list[str] = field(default_factory=list)  # decision ids answered
    records: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)  # (source, token, record) new ones
    disputable: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # active subject -> (source, record_id)
    disputes_opened: int = 0
    disputes_decided: int = 0
    memory: dict[int, int] = field(default_factory=dict)  # window -> the server's resident memory (kB), last read
    unsent: int = 0  # pushes due before the end that no connection was free to send
    ingest: dict[str, Any] = field(default_factory=dict)


@dataclass
class Plan:
    """Everything the load needs: the port, tokens, subjects, and the pace of each actor."""

    port: int
    seconds: float
    warmup: float
    window: float
    push_rate: float
    connections: int
    subject_rate: float
    review_every: float
    sources: dict[str, str]  # source id -> token
    bank: str
    reviewer: str
    measures: Sequence[str]
    people: Sequence[str]
    active: dict[str, str]  # active subject's identifier -> its token, set after set (active_size each)
    today: str
    server_pid: int
    ingest: Sequence[str] = ()  # the command line of the file ingest, if any
    ingest_at: float = 0.0
    ingest_env: dict[str, str] = field(default_factory=dict)
    seed: int = 7
    active_size: int = 0  # subjects active at a time (0: all of them, always)
    active_for: float = 0.0  # seconds each set stays active (0: always the first set)


class _Connection:
    """A kept-alive connection, opened again after a failure; a request without an answer has status 0."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.pair: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def send(self, request: bytes) -> tuple[int, bytes]:
        try:
            if self.pair is None:
                self.pair = await asyncio.open_connection("127.0.0.1", self.port)
            return await exchange(*self.pair, request)
        except (OSError, asyncio.IncompleteReadError, ValueError):
            self.close()
            return 0, b""

    def close(self) -> None:
        if self.pair is not None:
            self.pair[1].close()
            self.pair = None


class _Load:
    def __init__(self, plan: Plan, tally: Tally, ledger: Ledger) -> None:
        self.plan, self.tally, self.ledger = plan, tally, ledger
        self.rng = random.Random(plan.seed)
        self.stop = tally.started + plan.seconds
        self.pushes = 0  # pushes sent (or being sent)
        self.push_begun = time.perf_counter()
        self.all_actives = list(plan.active)
        size = plan.active_size or len(self.all_actives)
        self.active_sets = [self.all_actives[i : i + size] for i in range(0, len(self.all_actives), size)] or [[]]

    @property
    def actives(self) -> list[str]:
        """The subjects active now: a set's turn lasts ``active_for`` seconds, so none piles up records for long."""
        if self.plan.active_for <= 0:
            return self.active_sets[0]
        turn = int((time.perf_counter() - self.tally.started) / self.plan.active_for)
        return self.active_sets[turn % len(self.active_sets)]

    def json_request(self, method: str, path: str, token: str, body: Any = None) -> bytes:
        headers = {"Authorization": f"Bearer {token}"}
        if body is None:
            return request_bytes(method, path, headers)
        headers["Content-Type"] = "application/json"
        return request_bytes(method, path, headers, json.dumps(body).encode())

    # -- sources ---------------------------------------------------------------------------------

    def next_push(self) -> tuple[str, dict[str, Any]]:
        """(source, record): a new record, or one in ten a new version of an acknowledged one."""
        self.pushes += 1
        if self.ledger.records and self.rng.random() < 0.1:
            source, _, record = self.rng.choice(self.ledger.records)
            return source, {**record, "amount": round(self.rng.uniform(100, 500_000), 2)}
        source, category = PUSHED[self.pushes % len(PUSHED)]
        active = self.rng.random() < 1 / 3
        subject = self.rng.choice(self.actives) if active else self.rng.choice(self.plan.people)
        day = dt.date.fromisoformat(self.plan.today) - dt.timedelta(days=self.rng.randint(1, 300))
        record = {
            "record_id": f"soak-{self.pushes}",
            "subject_id": subject,
            "subject_kind": "person",
            "category": category,
            "occurred_on": day.isoformat(),
            "amount": round(self.rng.uniform(100, 500_000), 2),
        }
        return source, record

    async def push(self, due: float, connection: _Connection) -> None:
        source, record = self.next_push()
        request = self.json_request("POST", "/v1/records", self.plan.sources[source], [record])
        status, body = await connection.send(request)
        self.tally.add(PUSH, due, status)
        if status != 200:
            return
        (result,) = json.loads(body)["results"]
        if result["outcome"] in ("new", "version"):
            self.ledger.pushed.add((source, result["record_id"], result["version"]))
        if result["outcome"] == "new":
            self.ledger.records.append((source, self.plan.sources[source], record))
            if record["subject_id"] in self.plan.active:
                self.ledger.disputable.setdefault(record["subject_id"], []).append((source, record["record_id"]))

    async def sources(self) -> None:
        """Open loop: push n is due at start + n / rate; 32 connections take the pushes in order, each when due.

        When every connection is busy the next push waits for one, and its latency still counts from when it was
        due. Pushes not sent by the end are not counted: their number says how far behind the server fell.
        """
        begun = self.push_begun = time.perf_counter()
        numbers = itertools.count()

        async def sender() -> None:
            connection = _Connection(self.plan.port)
            try:
                while (due := begun + next(numbers) / self.plan.push_rate) < self.stop:
                    if (delay := due - time.perf_counter()) > 0:
                        await asyncio.sleep(delay)
                    try:
                        await self.push(due, connection)
                    except asyncio.CancelledError:  # no answer GRACE seconds after the end: the server fell behind
                        self.tally.add(PUSH, due, 0)
                        raise
            finally:
                connection.close()

        await asyncio.gather(*(sender() for _ in range(32)))

    # -- relying parties -------------------------------------------------------------------------

    async def relying(self) -> None:
        asks = [
            self.json_request(
                "GET",
                f"/v1/decisions/{self.rng.choice(self.plan.measures)}?subject={quote(self.rng.choice(self.plan.people))}",
                self.plan.bank,
            )
            for _ in range(5_000)
        ]
        connection = _Connection(self.plan.port)
        n = self.rng.randrange(len(asks))
        while (sent := time.perf_counter()) < self.stop:
            n += 1
            status, body = await connection.send(asks[n % len(asks)])
            self.tally.add(DECIDE, sent, status)
            if status == 200:
                self.ledger.decisions.append(json.loads(body)["decision_id"])
        connection.close()

    # -- subjects and reviewers ------------------------------------------------------------------

    async def call(self, connection: _Connection, route: str, request: bytes) -> tuple[int, bytes]:
        sent = time.perf_counter()
        status, body = await connection.send(request)
        self.tally.add(route, sent, status)
        return status, body

    async def visit(self, subject: str, pool: asyncio.Queue[_Connection]) -> None:
        token = self.plan.active[subject]
        connection = await pool.get()
        await self.call(connection, "GET /v1/me/report", self.json_request("GET", "/v1/me/report", token))
        await self.call(connection, "GET /v1/me/notices", self.json_request("GET", "/v1/me/notices", token))
        records = self.ledger.disputable.get(subject)
        if records and self.rng.random() < 0.5:
            source, record_id = records.pop(self.rng.randrange(len(records)))
            body = {"source": source, "record_id": record_id, "statement": "This is not my debt."}
            status, _ = await self.call(
                connection, "POST /v1/me/disputes", self.json_request("POST", "/v1/me/disputes", token, body)
            )
            self.ledger.disputes_opened += status == 201
        await self.call(connection, "GET /v1/me/disputes", self.json_request("GET", "/v1/me/disputes", token))
        pool.put_nowait(connection)

    async def subjects(self) -> None:
        pool: asyncio.Queue[_Connection] = asyncio.Queue()
        for _ in range(4):
            pool.put_nowait(_Connection(self.plan.port))
        tasks: set[asyncio.Task[None]] = set()
        while time.perf_counter() < self.stop:
            task = asyncio.create_task(self.visit(self.rng.choice(self.actives), pool))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            await asyncio.sleep(1 / self.plan.subject_rate)
        await asyncio.gather(*tasks)
        while not pool.empty():
            pool.get_nowait().close()

    async def reviewer(self) -> None:
        connection = _Connection(self.plan.port)
        token = self.plan.reviewer
        while time.perf_counter() < self.stop:
            await asyncio.sleep(self.plan.review_every)
            status, body = await self.call(
                connection, "GET /v1/disputes", self.json_request("GET", "/v1/disputes", token)
            )
            queue = [d for d in json.loads(body) if d["kind"] == "dispute"] if status == 200 else []
            if not queue:
                continue
            dispute = queue[0]["dispute_id"]
            path = f"/v1/disputes/{dispute}"
            await self.call(connection, "GET /v1/disputes/{dispute_id}", self.json_request("GET", path, token))
            decision = {"outcome": self.rng.choice(["upheld", "removed"]), "reasons": "Checked with the source."}
            status, _ = await self.call(
                connection,
                "POST /v1/disputes/{dispute_id}/decision",
                self.json_request("POST", f"{path}/decision", token, decision),
            )
            self.ledger.disputes_decided += status == 200
        connection.close()

    # -- the server's memory, and the file ingest ----------------------------------------------------

    async def memory(self) -> None:
        while time.perf_counter() < self.stop:
            try:
                with open(f"/proc/{self.plan.server_pid}/status", encoding="ascii") as status:
                    rss = next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))
            except (OSError, StopIteration):
                return
            self.ledger.memory[self.tally.window_of(time.perf_counter())] = rss
            await asyncio.sleep(1.0)

    async def file_ingest(self) -> None:
        if not self.plan.ingest:
            return
        await asyncio.sleep(max(0.0, self.tally.started + self.plan.ingest_at - time.perf_counter()))
        begun = time.perf_counter()
        child = await asyncio.create_subprocess_exec(
            *self.plan.ingest,
            env=self.plan.ingest_env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            out, err = await child.communicate()
        except asyncio.CancelledError:
            child.kill()
            await child.wait()
            raise
        self.ledger.ingest = {
            "exit": child.returncode,
            "seconds": round(time.perf_counter() - begun, 2),
            "window": self.tally.window_of(begun),
            "said": (out.decode().strip().splitlines() or [""])[0],
            "error": err.decode().strip()[-500:],
        }


async def run_load(plan: Plan) -> tuple[Tally, Ledger]:
    """Run every actor for the warm-up and ``plan.seconds``; the tally's windows start after the warm-up."""
    tally = Tally(time.perf_counter() + plan.warmup, plan.window)
    ledger = Ledger()
    load = _Load(plan, tally, ledger)
    load.stop = tally.started + plan.seconds
    actors = asyncio.gather(
        load.sources(),
        *(load.relying() for _ in range(plan.connections)),
        load.subjects(),
        load.reviewer(),
        load.memory(),
        load.file_ingest(),
    )
    # What has no answer GRACE seconds after the end counts as unanswered (status 0): the server fell behind.
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(actors, timeout=plan.warmup + plan.seconds + GRACE)
    ledger.unsent = max(0, int(plan.push_rate * (load.stop - load.push_begun)) - load.pushes)
    return tally, ledger
