"""Catalog build time and memory for 1k, 10k and 100k generated services.

For each size: how long storing the registry takes (one transaction), how long loading it
from the database into a catalog takes (`store.load_catalog`, what a process does at start and
on every registry change), and how long `Catalog.build` alone takes on a registry in memory
(best of three); memory is the tracemalloc peak during each step, and what the finished
catalog keeps. The database is a SQLite file in a temporary folder (the embedded default), or
`TSUNAGARI_BENCH_DATABASE_URL` if set (it must point at an empty database).

    .venv/bin/python -m benchmarks.catalog_build [1000 10000 ...]
"""

from __future__ import annotations

import gc
import os
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from benchmarks.generate import generate_registry
from bot.commands import running
from resources import store
from resources.catalog import Catalog

SIZES = (1_000, 10_000, 100_000)
MIB = 1024 * 1024
T = TypeVar("T")


@dataclass(frozen=True)
class Figures:
    services: int
    store_s: float
    load_s: float
    load_peak_mib: float
    build_s: float
    build_peak_mib: float
    catalog_mib: float


def _timed(work: Callable[[], T]) -> tuple[T, float]:
    gc.collect()
    start = time.perf_counter()
    result = work()
    return result, time.perf_counter() - start


def _peak(work: Callable[[], T]) -> tuple[T, float, float]:
    """Run `work` under tracemalloc: its result, the peak and what stays allocated (MiB)."""
    gc.collect()
    tracemalloc.start()
    try:
        result = work()
        gc.collect()
        current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return result, peak / MIB, current / MIB


def _run(coro: Callable[[], Coroutine[Any, Any, T]]) -> T:
    # Not asyncio.run: on Python 3.11 it formats the catalog's repr twice, which took longer
    # than loading it (bot/commands/running.py).
    return running.run(coro())


def measure(n: int, url: str) -> Figures:
    registry = generate_registry(n)

    async def stored() -> None:
        await store.upgrade(url)
        engine = store.make_engine(url)
        try:
            await store.replace_registry(engine, registry, actor="benchmark")
        finally:
            await engine.dispose()

    async def loaded() -> Catalog:
        engine = store.make_engine(url)
        try:
            return await store.load_catalog(engine)
        finally:
            await engine.dispose()

    _, store_s = _timed(lambda: _run(stored))
    catalog, load_s = _timed(lambda: _run(loaded))
    assert len(catalog.services) == n
    del catalog
    _, load_peak, _ = _peak(lambda: _run(loaded))

    build_s = min(_timed(lambda: Catalog.build(registry))[1] for _ in range(3))
    built, build_peak, held = _peak(lambda: Catalog.build(registry))
    assert len(built.services) == n
    return Figures(n, store_s, load_s, load_peak, build_s, build_peak, held)


def table(rows: list[Figures]) -> str:
    head = (
        "services", "store s", "load_catalog s", "load peak MiB", "Catalog.build s",
        "build peak MiB", "catalog keeps MiB",
    )  # fmt: skip
    lines = [" | ".join(head), " | ".join("-" * len(h) for h in head)]
    for f in rows:
        cells = (
            f"{f.services:,}", f"{f.store_s:.2f}", f"{f.load_s:.2f}", f"{f.load_peak_mib:.1f}",
            f"{f.build_s:.3f}", f"{f.build_peak_mib:.1f}", f"{f.catalog_mib:.1f}",
        )  # fmt: skip
        lines.append(" | ".join(c.rjust(len(h)) for c, h in zip(cells, head, strict=True)))
    return "\n".join(lines)


def main(sizes: tuple[int, ...] = SIZES) -> None:
    print(f"catalog build (python {sys.version.split()[0]}, {os.cpu_count()} cpus)")
    rows = []
    given = os.environ.get("TSUNAGARI_BENCH_DATABASE_URL")
    for n in sizes:
        with tempfile.TemporaryDirectory(prefix="tsunagari-bench-") as tmp:
            url = given or f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
            rows.append(measure(n, url))
        print(f"  measured {n:,} services", file=sys.stderr, flush=True)
    print(table(rows))


if __name__ == "__main__":
    main(tuple(int(a) for a in sys.argv[1:]) or SIZES)
