"""Entry points of the sensitive-data audit functions (design question 7), both from this one code folder:
- ``functions.access_audit.handler.api``: GET /audit/access and GET/PUT /settings/security (api.py);
- ``functions.access_audit.handler.write``: the trail's writer, an SQS consumer (writer.py).

Each imports its own module on its first invocation, which validates that function's environment model only.
"""

import importlib
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext


def _entry(module: str) -> Any:
    return importlib.import_module(f".{module}", __package__).handler


def api(event: dict, context: LambdaContext) -> dict:
    return _entry("api")(event, context)


def write(event: dict, context: LambdaContext) -> dict:
    return _entry("writer")(event, context)
