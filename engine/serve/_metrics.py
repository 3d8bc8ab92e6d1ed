"""The service's Prometheus metrics, in a registry of its own (no process-wide state).

Served by ``GET /metrics`` in the Prometheus text format (``prometheus_client``'s exposition,
negotiated from the ``Accept`` header).
Label values are bounded: the route template (``/accounts/{id}``, never the account id), the
method, the status code, the routing outcome.
"""

from __future__ import annotations

import prometheus_client as prom

__all__ = ["ServiceMetrics"]

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class ServiceMetrics:
    """Counters, gauges and histograms of one service instance."""

    def __init__(self) -> None:
        self.registry = prom.CollectorRegistry(auto_describe=True)
        registry = self.registry
        self.requests = prom.Counter(
            "kam_http_requests", "HTTP requests answered, by route template, method and status.",
            ("route", "method", "status"), registry=registry)
        self.latency = prom.Histogram(
            "kam_http_request_duration_seconds", "Time to answer a request, by route template.",
            ("route",), buckets=_LATENCY_BUCKETS, registry=registry)
        self.in_flight = prom.Gauge("kam_http_requests_in_flight", "Requests being answered now.", registry=registry)
        self.decisions = prom.Counter(
            "kam_route_decisions", "Leads decided by POST /route, by route and status.",
            ("route", "status"), registry=registry)
        self.reloads = prom.Counter(
            "kam_snapshot_reloads", "Reloads of rules and models, by outcome (ok, failed).",
            ("outcome",), registry=registry)
        self.generation = prom.Gauge(
            "kam_snapshot_generation", "Generation of the snapshot serving requests (1 at start).", registry=registry)
        self.loaded = prom.Gauge(
            "kam_snapshot_loaded_timestamp_seconds", "When the serving snapshot was loaded (Unix time).",
            registry=registry)
        for outcome in ("ok", "failed"):
            self.reloads.labels(outcome)

    def snapshot_loaded(self, generation: int, loaded_at_unix: float) -> None:
        self.generation.set(generation)
        self.loaded.set(loaded_at_unix)

    def exposition(self, accept: str | None = None) -> tuple[bytes, str]:
        """Every metric, and its content type, in the format the scraper's ``Accept`` header asks for.

        Without an ``Accept`` header (curl, a test) it is the Prometheus text format 0.0.4, which
        every Prometheus version reads; a scraper asking for OpenMetrics gets OpenMetrics.
        """
        from prometheus_client.exposition import choose_encoder

        encoder, content_type = choose_encoder(accept or "")
        return encoder(self.registry), content_type
