"""Prometheus counters of the service: turns, referrals by topic, crisis replies — no personal data.

Each Runtime has its own registry, so several apps in one process (tests) never collide.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, generate_latest
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

    def render(self) -> bytes:
        return generate_latest(self.registry)
