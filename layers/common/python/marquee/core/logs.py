"""The one Powertools ``Logger`` every function builds: its JSON lines never carry personal data.

``Logger`` is Powertools' logger with ``MaskingFormatter``: each record, once assembled (message, appended keys,
``extra``, exception text), goes through ``marquee.core.personal.mask_record`` before it is serialized. Values under a
personal key (``PERSONAL_KEYS``: the fields classified ``x-personal`` in the models) are erased, and e-mail addresses
are erased from every string, with Powertools data masking. Child loggers (``Logger(child=True)`` in the layer) log
through their parent's handler, so through this formatter too.

Every handler imports ``Logger`` from here, not from ``aws_lambda_powertools`` (tests/unit/test_personal_data.py checks
it), which is what makes the masking systematic rather than a discipline at each call site.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger as PowertoolsLogger
from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

from marquee.core.personal import mask_record


class MaskingFormatter(LambdaPowertoolsFormatter):
    """Powertools' JSON formatter, with personal values erased from the assembled record."""

    def serialize(self, log: dict[str, Any]) -> str:  # type: ignore[override]
        return super().serialize(mask_record(log))


class Logger(PowertoolsLogger):
    """``aws_lambda_powertools.Logger`` whose records are masked (``MaskingFormatter``) unless a formatter is given."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if not kwargs.get("child"):
            kwargs.setdefault("logger_formatter", MaskingFormatter())
        super().__init__(*args, **kwargs)
