"""Prometheus metrics. Labels are endpoints, stages and codes: never text."""

from __future__ import annotations

from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

if TYPE_CHECKING:  # the metrics module stays below the service in the import graph
    from client.core.service import Classification

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


class GatewayMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "triage_requests", "HTTP requests", ["endpoint", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "triage_request_seconds",
            "End-to-end request latency",
            ["endpoint"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.stage = Histogram(
            "triage_stage_seconds",
            "Latency per stage of a classification",
            ["stage"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.chunks = Histogram(
            "triage_chunks_per_narrative",
            "Chunks per classified narrative",
            buckets=(1, 2, 3, 4, 6, 8, 12, 16, 32, 64),
            registry=self.registry,
        )
        self.narratives = Counter(
            "triage_narratives", "Narratives classified", registry=self.registry
        )
        self.escalations = Counter(
            "triage_escalations",
            "Cases escalated to the most severe priority",
            registry=self.registry,
        )
        self.review = Counter(
            "triage_needs_review", "Cases flagged for human review", registry=self.registry
        )
        self.errors = Counter(
            "triage_errors", "Error responses by code", ["code"], registry=self.registry
        )
        self.in_flight = Gauge(
            "triage_requests_in_flight", "Requests being processed", registry=self.registry
        )
        self.narratives_in_flight = Gauge(
            "triage_narratives_in_flight",
            "Narratives admitted and being classified (the backpressure limit counts these)",
            registry=self.registry,
        )

    def observe_classification(self, c: Classification) -> None:
        """One narrative classified (a request's, or a live call's final)."""
        t = c.timings
        self.stage.labels("tokenize").observe(t.tokenize_ms / 1000)
        self.stage.labels("inference").observe(t.inference_ms / 1000)
        self.stage.labels("aggregate").observe(t.aggregate_ms / 1000)
        self.chunks.observe(len(c.chunks))
        self.narratives.inc()
        if c.result.escalation.escalated:
            self.escalations.inc()
        if c.result.needs_review:
            self.review.inc()
