"""Prometheus metrics (``GET /metrics``): requests and latency by route, records, rejects, decisions.

Labels are route templates (``/v1/decisions/{measure_id}``), never the path
as sent, so no identifier or record id reaches a metric. Each app has its own
registry, so tests that build many apps do not share counts.
"""

from __future__ import annotations

import time
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["Metrics", "MetricsMiddleware"]

_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.02, 0.03, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "credo_http_requests", "HTTP requests answered", ["method", "route", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "credo_http_request_seconds",
            "Time to answer",
            ["method", "route"],
            buckets=_BUCKETS,
            registry=self.registry,
        )
        self.records = Counter(
            "credo_records_pushed", "Records pushed over the API, by outcome", ["outcome"], registry=self.registry
        )
        self.rejects = Counter(
            "credo_records_rejected", "Pushed records rejected (kept in the quarantine)", registry=self.registry
        )
        self.decisions = Counter(
            "credo_decisions",
            "Decisions answered, by measure and answer",
            ["measure", "applies"],
            registry=self.registry,
        )

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


class MetricsMiddleware:
    """Counts and times every HTTP request by its route template (a plain ASGI middleware: cheap)."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = {"code": 500}

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            route = _template(scope)
            method = scope.get("method", "?")
            self.metrics.requests.labels(method, route, str(status["code"])).inc()
            self.metrics.latency.labels(method, route).observe(time.perf_counter() - started)


def _template(scope: dict[str, Any] | Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path_format", None)  # the template without converters: {record_id}, not {record_id:path}
    return path if isinstance(path, str) else "unmatched"
