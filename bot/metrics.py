"""Prometheus counters of the service: turns, referrals by topic, crisis replies — no personal data.

Each Runtime has its own registry, so several apps in one process (tests) never collide.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

CONTENT_TYPE = CONTENT_TYPE_LATEST


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.turns = Counter(
            "tsunagari_turns", "Conversation turns handled", ["channel"], registry=self.registry
        )
        self.referrals = Counter(
            "tsunagari_referrals",
            "Referral cards shown, by the topic the person chose (none when skipped)",
            ["topic"],
            registry=self.registry,
        )
        self.crisis_replies = Counter(
            "tsunagari_crisis_replies",
            "Safety replies to a crisis",
            ["channel"],
            registry=self.registry,
        )
        self.forgotten = Counter(
            "tsunagari_forget_requests", "People who asked to be forgotten", registry=self.registry
        )
        # The inbox (bot/inbox.py, bot/worker.py): how much waits, how long an answer takes.
        self.inbox_depth = Gauge(
            "tsunagari_inbox_depth",
            "Events taken in and not yet answered",
            registry=self.registry,
        )
        self.latency = Histogram(
            "tsunagari_inbox_latency_seconds",
            "From the webhook taking an event in to its answer being sent",
            ["channel"],
            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
            registry=self.registry,
        )
        self.retries = Counter(
            "tsunagari_inbox_retries", "Events attempted again", ["channel"], registry=self.registry
        )
        self.dead_letters = Counter(
            "tsunagari_inbox_dead_letters",
            "Events given up after every attempt failed",
            ["channel"],
            registry=self.registry,
        )
        self.rate_limited = Counter(
            "tsunagari_rate_limited",
            "Events over a person's rate limit (answered calmly once, then quietly)",
            ["channel"],
            registry=self.registry,
        )
        self.degraded = Counter(
            "tsunagari_degraded_answers",
            "Answers given from memory while Redis or the database was down",
            ["channel"],
            registry=self.registry,
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
