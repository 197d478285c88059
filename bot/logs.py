"""How the service logs: structlog, one event per line, never message text or platform ids.

On a terminal the lines are for people (coloured key=value); anywhere else (a container, a
service manager, CI) they are JSON objects for a log pipeline. Either way they go to stderr, so
that commands whose stdout is data (`route --json`, `resources export`) stay parseable, and
below INFO nothing is even formatted: the worker logs once per event, and formatting a line
costs more than a filtered call.
"""

from __future__ import annotations

import logging
import sys

import structlog


def configure_logging(level: int = logging.INFO) -> None:
    stream = sys.stderr
    renderer: structlog.typing.Processor = (
        # plain tracebacks: rich ones print local variables, which may hold what a person wrote
        structlog.dev.ConsoleRenderer(exception_formatter=structlog.dev.plain_traceback)
        if stream.isatty()
        else structlog.processors.JSONRenderer()
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(stream),
        cache_logger_on_first_use=True,
    )
