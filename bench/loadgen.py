"""A small HTTP/1.1 load generator on asyncio (uvloop): closed loop (N connections) or open loop (a fixed rate).

Requests are prepared bytes; each connection is kept alive; a response is
read by its Content-Length. Latency is measured from the moment a request is
due (open loop: its scheduled time, so a slow server cannot hide its queue)
or sent (closed loop) until its whole response is read.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import uvloop

__all__ = ["Result", "closed_loop", "exchange", "open_loop", "request_bytes"]


def request_bytes(method: str, path: str, headers: dict[str, str] | None = None, body: bytes = b"") -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", "Connection: keep-alive"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    if body or method == "POST":
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


@dataclass
class Result:
    seconds: float
    latencies: list[float] = field(default_factory=list)  # seconds
    statuses: dict[int, int] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] if ordered else float("nan")

    def line(self, name: str) -> str:
        errors = sum(n for s, n in self.statuses.items() if s >= 400)
        return (
            f"{name}: {len(self.latencies):,} requests in {self.seconds:.1f} s = {self.rate:,.0f}/s; "
            f"p50 {self.percentile(50) * 1000:.2f} ms, p99 {self.percentile(99) * 1000:.2f} ms, "
            f"max {max(self.latencies, default=0) * 1000:.1f} ms; errors {errors}"
        )


async def exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes) -> tuple[int, bytes]:
    """Send one request on a kept-alive connection; its status and body."""
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n"):
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    return status, await reader.readexactly(length) if length else b""


async def _exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes) -> int:
    return (await exchange(reader, writer, request))[0]


async def _closed(port: int, requests: Sequence[bytes], connections: int, seconds: float) -> Result:
    result = Result(seconds)
    cycle = itertools.cycle(requests)
    stop = time.perf_counter() + seconds

    async def worker() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        while time.perf_counter() < stop:
            sent = time.perf_counter()
            status = await _exchange(reader, writer, next(cycle))
            result.latencies.append(time.perf_counter() - sent)
            result.statuses[status] = result.statuses.get(status, 0) + 1
        writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(connections)))
    result.seconds = time.perf_counter() - started
    return result


async def _open(port: int, requests: Sequence[bytes], rate: float, seconds: float, connections: int) -> Result:
    result = Result(seconds)
    pool: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()
    for _ in range(connections):
        pool.put_nowait(await asyncio.open_connection("127.0.0.1", port))

    async def one(due: float, request: bytes) -> None:
        reader, writer = await pool.get()
        status = await _exchange(reader, writer, request)
        result.latencies.append(time.perf_counter() - due)
        result.statuses[status] = result.statuses.get(status, 0) + 1
        pool.put_nowait((reader, writer))

    started = time.perf_counter()
    tasks = []
    for n, request in enumerate(itertools.islice(itertools.cycle(requests), int(rate * seconds))):
        due = started + n / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(due, request)))
    await asyncio.gather(*tasks)
    result.seconds = time.perf_counter() - started
    return result


def closed_loop(port: int, requests: Sequence[bytes], *, connections: int, seconds: float) -> Result:
    return uvloop.run(_closed(port, requests, connections, seconds))


def open_loop(port: int, requests: Sequence[bytes], *, rate: float, seconds: float, connections: int = 32) -> Result:
    return uvloop.run(_open(port, requests, rate, seconds, connections))
