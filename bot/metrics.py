"""Prometheus metrics, one registry per application (no process globals, tests stay isolated)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.http_requests = Counter(
            "liuyan_http_requests", "HTTP requests by route and status", ["route", "status"], registry=self.registry
        )
        self.http_latency = Histogram(
            "liuyan_http_request_seconds",
            "HTTP request latency",
            ["route"],
            registry=self.registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
        )
        self.transitions = Counter(
            "liuyan_case_transitions", "Case transitions by action", ["action"], registry=self.registry
        )
        self.inbound = Counter(
            "liuyan_inbound_events",
            "Platform callbacks by platform and outcome",
            ["platform", "outcome"],
            registry=self.registry,
        )
        self.outbox_sent = Counter(
            "liuyan_outbox_messages",
            "Outbox deliveries by platform and outcome",
            ["platform", "outcome"],
            registry=self.registry,
        )
        self.open_cases = Gauge("liuyan_open_cases", "Cases open at the units", registry=self.registry)
        self.overdue_cases = Gauge("liuyan_overdue_cases", "Open cases past their deadline", registry=self.registry)
        self.outbox_pending = Gauge("liuyan_outbox_pending", "Messages waiting to be sent", registry=self.registry)
        self.dingtalk_stream_up = Gauge(
            "liuyan_dingtalk_stream_up", "1 while the DingTalk Stream connection is open", registry=self.registry
        )
        self.dingtalk_stream_failures = Gauge(
            "liuyan_dingtalk_stream_failures",
            "Failed DingTalk Stream connection attempts in a row, by last error kind",
            ["state"],
            registry=self.registry,
        )
        self.calendar_uncovered = Gauge(
            "liuyan_calendar_uncovered_years",
            "Years (this and, from November, next) without holiday data",
            registry=self.registry,
        )
