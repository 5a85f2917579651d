"""Prometheus metrics of live-call streaming (registered on the gateway's registry)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge


class StreamMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.open_sessions = Gauge(
            "triage_stream_sessions_open", "Streaming sessions open", registry=registry
        )
        self.sessions = Counter(
            "triage_stream_sessions",
            "Streaming sessions ended, by how they ended",
            ["reason"],
            registry=registry,
        )
        self.segments = Counter(
            "triage_stream_segments", "Transcript segments applied", registry=registry
        )
        self.chunks = Counter(
            "triage_stream_chunks",
            "Chunk windows of streaming sessions: sent to the model, or reused from the cache "
            "for a final result",
            ["source"],
            registry=registry,
        )
        self.alerts = Counter(
            "triage_stream_alerts", "Escalation alerts raised by sessions", registry=registry
        )
        self.webhook = Counter(
            "triage_stream_alert_webhook",
            "Alert webhook deliveries by outcome",
            ["outcome"],
            registry=registry,
        )
