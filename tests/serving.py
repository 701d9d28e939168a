"""``credo serve`` as a process of its own, for the fault tests: started, spoken to over HTTP, killed.

:class:`Traffic` keeps pushes and decisions going from a few threads, and
remembers what the server acknowledged (each push's (record_id, version),
each decision's id) and every status it answered, so a test can check the
store against it after a fault. Every wait here is bounded.
"""

from __future__ import annotations

import http.client
import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import sqlalchemy as sa

from credo.store.audit import verify
from credo.store.bootstrap import Store
from credo.store.tables import decisions, records
from tests.apisupport import BANK, SOURCE, TODAY, record

PENALTY = "high-consumption-restriction"
START_WITHIN = 60.0  # seconds a server may take to answer /healthz (a bound, not a speed requirement)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def call(port: int, method: str, path: str, token: str | None = None, body: Any = None) -> tuple[int, Any]:
    """(status, JSON body or None); status 0 when the server gave no answer (it died, or never listened)."""
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, _json(answer.read(), answer.headers.get("Content-Type", ""))
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, _json(exc.read(), exc.headers.get("Content-Type", ""))
    except (OSError, urllib.error.URLError, http.client.HTTPException):  # HTTPException: a body cut off by a kill
        return 0, None


def _json(body: bytes, media: str) -> Any:
    return json.loads(body) if body and "json" in media else None


@dataclass
class Served:
    process: subprocess.Popen[bytes]
    port: int
    log: Path

    def kill(self) -> None:
        """SIGKILL: no shutdown, no flush, no goodbye."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)


@contextmanager
def serving(url: str, environ: Mapping[str, str], log: Path, port: int | None = None) -> Iterator[Served]:
    """``credo --db URL serve`` in a child process (no delivery pass), once it answers; stopped at the end."""
    env = {**os.environ, **environ, "CREDO_TODAY": TODAY, "CREDO_DELIVERY_INTERVAL": "0"}
    env.pop("CREDO_KEYS", None)
    port = port or free_port()
    with log.open("ab") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "credo", "--db", url, "serve", "--port", str(port)], env=env, stderr=sink
        )
    served = Served(process, port, log)
    try:
        deadline = time.monotonic() + START_WITHIN
        while call(port, "GET", "/healthz")[0] != 200:
            assert process.poll() is None, f"credo serve stopped at start: {log.read_text()[-2000:]}"
            assert time.monotonic() < deadline, f"credo serve did not answer within {START_WITHIN:.0f} s"
            time.sleep(0.1)
        yield served
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=30)


@dataclass
class Traffic:
    """Pushes (one new record each) and decisions from threads, until stopped; what was answered, kept."""

    port: int
    source_token: str
    bank_token: str
    subjects: list[str]
    prefix: str = "F"
    pushed: set[tuple[str, int]] = field(default_factory=set)  # (record_id, version) answered 200
    decided: list[str] = field(default_factory=list)  # decision ids answered
    statuses: Counter[int] = field(default_factory=Counter)
    problems: list[Any] = field(default_factory=list)  # bodies of answers other than 200
    _numbers: Iterator[int] = field(default_factory=itertools.count)
    _stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @contextmanager
    def running(self, pushers: int = 1, deciders: int = 1) -> Iterator[Traffic]:
        """Threads pushing and asking until the block ends (each has an answer, or none, within 30 s)."""
        threads = [threading.Thread(target=self._push, daemon=True) for _ in range(pushers)]
        threads += [threading.Thread(target=self._decide, daemon=True) for _ in range(deciders)]
        for thread in threads:
            thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            for thread in threads:
                thread.join(timeout=60)
                assert not thread.is_alive(), "a traffic thread did not stop"

    def wait_for(self, pushes: int, decisions: int, within: float = 60.0) -> None:
        """Until at least so many of each were acknowledged (bounded by ``within`` seconds)."""
        deadline = time.monotonic() + within
        while len(self.pushed) < pushes or len(self.decided) < decisions:
            assert time.monotonic() < deadline, f"only {len(self.pushed)} pushes, {len(self.decided)} decisions"
            time.sleep(0.02)

    def _note(self, status: int, body: Any) -> None:
        with self._lock:
            self.statuses[status] += 1
            if status not in (0, 200):
                self.problems.append(body)

    def _push(self) -> None:
        while not self._stop.is_set():
            n = next(self._numbers)
            row = record(f"{self.prefix}-{n}", subject=self.subjects[n % len(self.subjects)])
            status, body = call(self.port, "POST", "/v1/records", self.source_token, [row])
            self._note(status, body)
            if status == 200:
                (result,) = body["results"]
                with self._lock:
                    self.pushed.add((result["record_id"], result["version"]))

    def _decide(self) -> None:
        for n in itertools.count():
            if self._stop.is_set():
                return
            subject = quote(self.subjects[n % len(self.subjects)])
            status, body = call(self.port, "GET", f"/v1/decisions/{PENALTY}?subject={subject}", self.bank_token)
            self._note(status, body)
            if status == 200:
                with self._lock:
                    self.decided.append(body["decision_id"])


def check_store(store: Store, traffic: Traffic) -> None:
    """Every push answered 200 stored exactly once, every decision answered logged, the audit chain intact."""
    with store.engine.connect() as connection:
        stored = Counter(
            (r, int(v))
            for r, v in connection.execute(
                sa.select(records.c.record_id, records.c.version).where(
                    records.c.source_id == SOURCE, records.c.record_id.like(f"{traffic.prefix}-%")
                )
            )
        )
        logged = set(
            connection.execute(sa.select(decisions.c.decision_id).where(decisions.c.relying_id == BANK)).scalars()
        )
        chain = verify(connection)
    assert traffic.pushed and traffic.decided
    assert {key: stored[key] for key in traffic.pushed} == dict.fromkeys(traffic.pushed, 1)
    assert all(n == 1 for n in stored.values())  # nothing stored twice, acknowledged or not
    assert set(traffic.decided) <= logged
    assert chain.intact, chain.problem
