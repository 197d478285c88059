"""`tsunagari crisis-check`: one crisis assessment a line of stdin, as JSON lines on stdout."""

from __future__ import annotations

import json
import sys
from typing import TextIO

from routing.crisis import assess


def check_lines(lines: TextIO, out: TextIO) -> int:
    """Write `{"level": .., "signals": [..]}` for each line; signals are lexicon ids, never words."""
    count = 0
    for line in lines:
        out.write(json.dumps(assess(line.rstrip("\r\n")).to_json()) + "\n")
        out.flush()  # one answer per line as it comes, so the command works in a pipe
        count += 1
    return count


def crisis_check() -> None:
    check_lines(sys.stdin, sys.stdout)
