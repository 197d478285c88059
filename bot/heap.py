"""Garbage collection tuned for a long-lived service process.

A worker or server holds a large, long-lived heap (the catalog and its indexes, the crisis
lexicon's compiled patterns, the second opinion's weights: over a hundred thousand objects)
and makes many short-lived ones per message. CPython's collector would keep re-examining the
long-lived part; freezing it once loaded moves it out of the collector's sight, and a larger
young generation makes the per-message garbage cheaper to collect. Reference cycles made later
are still collected. What was frozen is still freed by reference counting when it is dropped (a
catalog replaced by a reload); only reference cycles within it stay, once, until the process
ends — a bounded cost for the collector's time saved on every message.
"""

from __future__ import annotations

import gc

YOUNG_THRESHOLD = 10_000
"""Allocations between young collections (CPython's default is 700): a message's worth of
objects dies young either way, so collecting less often costs no memory to speak of."""


def settle() -> None:
    """Call once, after start-up has loaded everything the process keeps for its lifetime."""
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, older, oldest)
