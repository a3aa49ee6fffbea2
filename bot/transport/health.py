"""`/healthz` and `/metrics` for whoever runs the bot (`KHABAR_HEALTH_PORT`, or
`khabar bot --health-port N`): a supervisor or load balancer asks the first, Prometheus scrapes
the second (its text format, from `prometheus-client`).

`/healthz` answers 200 only while updates are being received (the poller's last getUpdates
succeeded recently, or the webhook is set and listening) and the index is loaded; otherwise 503
with the reason. The figures are read from the live objects when scraped: nothing else in the
bot has to know about metrics.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator
from typing import Protocol

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    InfoMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from ..service import AnswerService

log = logging.getLogger(__name__)


class Transport(Protocol):
    """What the health check asks of the poller or the webhook server."""

    @property
    def healthy(self) -> bool: ...

    failures: int  # calls to Telegram that failed
    unreadable: int  # updates that could not be read, skipped


class KhabarMetrics(Collector):
    def __init__(self, service: AnswerService, transport: Transport) -> None:
        self.service = service
        self.transport = transport

    def collect(self) -> Iterator[Metric]:
        s, t = self.service, self.transport
        yield CounterMetricFamily("khabar_questions", "Questions answered or declined", s.answered)
        yield CounterMetricFamily(
            "khabar_declines", "Questions declined ('found nothing')", s.declined
        )
        yield from s.latency.collect()
        yield CounterMetricFamily(
            "khabar_updates_skipped", "Updates that could not be read (skipped)", t.unreadable
        )
        yield CounterMetricFamily(
            "khabar_telegram_errors", "Calls to Telegram that failed (retried)", t.failures
        )
        try:
            info = s.info()
        except Exception as exc:  # the index could not be read: /healthz says so
            log.warning("metrics: the index could not be read: %s", exc)
            return
        yield InfoMetricFamily(
            "khabar_index",
            "The published index answering now",
            value={"generation": info.generation, "model": info.manifest.model},
        )
        yield GaugeMetricFamily("khabar_index_articles", "Articles in the index", info.articles)
        yield GaugeMetricFamily("khabar_index_passages", "Passages in the index", info.passages)
        age = _age_seconds(info.manifest.built_at)
        if age is not None:
            yield GaugeMetricFamily(
                "khabar_index_age_seconds", "Seconds since the index was built", age
            )


def _age_seconds(built_at: str) -> float | None:
    try:
        built = dt.datetime.fromisoformat(built_at)
    except ValueError:
        return None
    if built.tzinfo is None:
        built = built.replace(tzinfo=dt.UTC)
    return max(0.0, (dt.datetime.now(dt.UTC) - built).total_seconds())


class HealthServer:
    def __init__(
        self, service: AnswerService, transport: Transport, *, listen: str, port: int
    ) -> None:
        self.service = service
        self.transport = transport
        self.listen, self.port = listen, port
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(KhabarMetrics(service, transport))
        self._runner: web.AppRunner | None = None

    async def start(self) -> HealthServer:
        app = web.Application()
        app.router.add_get("/healthz", self._health)
        app.router.add_get("/metrics", self._metrics)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.listen, self.port).start()
        log.info("health and metrics on http://%s:%d/healthz, /metrics", self.listen, self.port)
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def problem(self) -> str | None:
        """Why the bot is not healthy, or None."""
        if not self.transport.healthy:
            return "updates are not being received from Telegram"
        try:
            self.service.info()
        except Exception as exc:
            return f"the index cannot be read ({type(exc).__name__})"
        return None

    async def _health(self, request: web.Request) -> web.Response:
        problem = self.problem()
        if problem is None:
            return web.Response(text="ok\n")
        return web.Response(status=503, text=problem + "\n")

    async def _metrics(self, request: web.Request) -> web.Response:
        body = generate_latest(self.registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})
