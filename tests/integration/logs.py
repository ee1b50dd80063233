"""Read what a function logged: its Powertools logger's JSON lines, as CloudWatch Logs would receive them.

Powertools binds its stream handler to the first ``sys.stdout`` it saw for a service name, so capsys cannot be relied
upon across tests; a handler is added to the function's own logger instead, with the logger's own JSON formatter.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import Any


class _JsonLines(logging.Handler):
    def __init__(self, formatter: logging.Formatter) -> None:
        super().__init__()
        self.setFormatter(formatter)
        self.lines: list[dict[str, Any]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(json.loads(self.format(record)))


@contextmanager
def json_logs(module: ModuleType) -> Iterator[list[dict[str, Any]]]:
    """The JSON log lines ``module.logger`` writes within the block (at its level: WARNING in the tests)."""
    handler = _JsonLines(module.logger.registered_formatter)
    module.logger.addHandler(handler)
    try:
        yield handler.lines
    finally:
        module.logger.removeHandler(handler)


def errors_of_type(lines: list[dict[str, Any]], error_type: str) -> list[dict[str, Any]]:
    return [line for line in lines if line.get("level") == "ERROR" and line.get("error_type") == error_type]
