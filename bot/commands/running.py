"""Running a coroutine to completion from a command."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def run(main: Coroutine[Any, Any, T]) -> T:
    """`asyncio.run(main)`, with the result handed back beside the main task, not as its result.

    CPython 3.11's `asyncio.run` formats the repr of its finished main task, result included,
    twice while it puts the SIGINT handler back (python/cpython#112559). For a command whose
    result is a catalog or a registry that is every service's repr: seconds at 10k services,
    minutes at 100k, spent on text nobody reads."""
    box: list[T] = []

    async def kept() -> None:
        box.append(await main)

    asyncio.run(kept())
    return box[0]
