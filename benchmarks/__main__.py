"""Run every benchmark: each `benchmarks/<name>.py` with a `main()` prints its own figures.

.venv/bin/python -m benchmarks            # all of them (`make bench`)
.venv/bin/python -m benchmarks catalog_build   # only those named
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
import time
from collections.abc import Callable
from pathlib import Path


def benchmarks(only: set[str] | None = None) -> list[tuple[str, Callable[[], None]]]:
    """The modules beside this file that define `main()`, by name (helpers define none)."""
    found = []
    for info in sorted(pkgutil.iter_modules([str(Path(__file__).parent)]), key=lambda m: m.name):
        if info.name.startswith("_") or (only is not None and info.name not in only):
            continue
        module = importlib.import_module(f"benchmarks.{info.name}")
        main = getattr(module, "main", None)
        if callable(main):
            found.append((info.name, main))
    return found


def run(names: list[str]) -> int:
    chosen = benchmarks(set(names) if names else None)
    missing = set(names) - {name for name, _ in chosen}
    if missing:
        print(f"no benchmark named: {', '.join(sorted(missing))}", file=sys.stderr)
        return 2
    for name, main in chosen:
        print(f"== {name}", flush=True)
        start = time.perf_counter()
        main()
        print(f"({name} took {time.perf_counter() - start:.0f} s)\n", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))
