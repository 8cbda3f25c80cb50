"""Optional Prometheus metrics (`newsbot run --metrics-port`), on a registry of the process's own."""

from __future__ import annotations

import time
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

from bot.pipeline import SourceOutcome
from bot.store.store import State


class Metrics:
    """The process's metrics; the daemon feeds it after each cycle and each send."""

    def __init__(self, state: State, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.fetches = Counter("newsbot_fetches_total", "Source fetches by outcome", ["outcome"], registry=r)
        self.fetch_seconds = Histogram("newsbot_fetch_seconds", "Time to fetch and process one source",
                                       buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30), registry=r)
        self.items = Counter("newsbot_items_total", "New items read from sources", registry=r)
        self.findings = Counter("newsbot_findings_total", "Findings by kind", ["kind"], registry=r)
        self.alerts = Counter("newsbot_alerts_total", "Alerts delivered (to Telegram or the console) by result",
                              ["result"], registry=r)
        self.last_cycle = Gauge("newsbot_last_successful_cycle_timestamp_seconds",
                                "Unix time of the last cycle with at least one source fetched", registry=r)
        outbox = Gauge("newsbot_outbox_pending", "Alerts waiting in the outbox", registry=r)
        outbox.set_function(lambda: float(state.outbox_size()))

    def observe_outcome(self, outcome: SourceOutcome) -> None:
        """Counts one source's fetch, new items and findings, as it ends."""
        self.fetches.labels(outcome=outcome.status).inc()
        self.fetch_seconds.observe(outcome.elapsed)
        self.items.inc(outcome.new_items)
        for finding in outcome.findings:
            self.findings.labels(kind=finding.event.kind).inc()

    def cycle_done(self) -> None:
        """Marks now as the end of a cycle in which at least one source answered."""
        self.last_cycle.set(time.time())

    def observe_send(self, sent: int, failed: int) -> None:
        """Counts alert messages sent and failed."""
        if sent:
            self.alerts.labels(result="sent").inc(sent)
        if failed:
            self.alerts.labels(result="failed").inc(failed)


def start_metrics(port: int, host: str, state: State) -> Metrics:
    """Starts the metrics HTTP server in a daemon thread and returns the metrics to feed."""
    metrics = Metrics(state)
    server: Any = start_http_server(port, addr=host, registry=metrics.registry)
    del server
    return metrics
