"""Prometheus metrics (prometheus-client), correct with several processes.

`credo serve` points PROMETHEUS_MULTIPROC_DIR at a fresh directory before its workers start
(unless the operator set one), so every API process and the worker child write their
samples there and `/metrics` adds them up; a single process without it keeps them in
memory. Queue depths are read from the database when scraped, so they are right whichever
process, on whichever machine, did the work.

Label values are bounded: route templates (never raw paths, which carry ids and tokens),
status codes, job kinds, refusal codes. No organization, person or address is a label."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector

from credo.domain.entities import QueueStats

CONTENT_TYPE = CONTENT_TYPE_LATEST
_LATENCY = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

REQUESTS = Counter(
    "credo_http_requests_total", "HTTP requests answered", ["method", "route", "status"]
)
LATENCY = Histogram(
    "credo_http_request_duration_seconds",
    "Time to answer an HTTP request",
    ["method", "route"],
    buckets=_LATENCY,
)
CHARGED = Counter("credo_credits_charged_total", "Credits charged (seats opened)")
REFUSED = Counter("credo_publish_refusals_total", "Publishes refused for credits", ["code"])
MAIL = Counter("credo_mail_total", "E-mail delivery outcomes", ["outcome"])
JOBS = Counter("credo_job_steps_total", "Background job steps", ["kind", "outcome"])
JOB_TIME = Histogram(
    "credo_job_step_duration_seconds", "Time one job step took", ["kind"], buckets=_LATENCY
)
PHASES = Histogram(
    "credo_phase_duration_seconds",
    "Time spent signing and rendering",
    ["phase"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0),
)
_PHASES = {"sign", "documents", "render_pdf", "render_badge"}


class PrometheusSink:
    """telemetry.Sink: events and phases to the metrics above."""

    def event(self, name: str, value: float, labels: dict[str, str]) -> None:
        if name == "credits.charged":
            CHARGED.inc(value)
        elif name == "publish.refused":
            REFUSED.labels(labels.get("code", "")).inc(value)
        elif name.startswith("mail."):
            MAIL.labels(name.removeprefix("mail.")).inc(value)
        elif name == "job.step":
            JOBS.labels(labels.get("kind", ""), labels.get("outcome", "")).inc(value)
        elif name == "job.seconds":
            JOB_TIME.labels(labels.get("kind", "")).observe(value)

    def phase(self, name: str, seconds: float) -> None:
        if name in _PHASES:
            PHASES.labels(name).observe(seconds)


def request(method: str, route: str, status: int, seconds: float) -> None:
    REQUESTS.labels(method, route, str(status)).inc()
    LATENCY.labels(method, route).observe(seconds)


class QueueCollector:
    """Queue depth, due count, oldest due age and failures per queue, read when scraped."""

    def __init__(self, read: Callable[[], Sequence[QueueStats]], now: Callable[[], datetime]):
        self._read = read
        self._now = now

    def collect(self) -> Iterable[Metric]:
        stats = self._read()
        now = self._now()
        families = {
            "pending": GaugeMetricFamily(
                "credo_queue_pending", "Work waiting, due or not", labels=["queue"]
            ),
            "due": GaugeMetricFamily("credo_queue_due", "Work due now", labels=["queue"]),
            "oldest": GaugeMetricFamily(
                "credo_queue_oldest_due_age_seconds",
                "How long the oldest due work has waited",
                labels=["queue"],
            ),
            "running": GaugeMetricFamily(
                "credo_queue_running", "Work leased by a worker", labels=["queue"]
            ),
            "failed": GaugeMetricFamily(
                "credo_queue_failed", "Work given up, kept with its error", labels=["queue"]
            ),
        }
        for q in stats:
            families["pending"].add_metric([q.queue], q.pending)
            families["due"].add_metric([q.queue], q.due)
            age = (now - q.oldest_due_at).total_seconds() if q.oldest_due_at else 0.0
            families["oldest"].add_metric([q.queue], max(age, 0.0))
            families["running"].add_metric([q.queue], q.running)
            families["failed"].add_metric([q.queue], q.failed)
        return list(families.values())


def exposition(queues: QueueCollector | None = None) -> bytes:
    """The text format of every process's samples (and the queues when given)."""
    registry: CollectorRegistry = REGISTRY
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    body = generate_latest(registry)
    if queues is not None:
        own = CollectorRegistry()
        own.register(queues)
        body += generate_latest(own)
    return body
