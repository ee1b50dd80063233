"""Entry points of the projector functions, from this one code folder. Each function's handler setting names one:
- ``functions.projector.handler.route``: the router, target of the EventBridge rule (router.py);
- ``functions.projector.handler.project``: the projector, fed by the FIFO queue (worker.py).

Each imports its own module on the first invocation (its cold start), which validates that function's environment.
"""

import importlib
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext


def _entry(module: str) -> Any:
    return importlib.import_module(f".{module}", __package__).handler


def route(event: dict, context: LambdaContext) -> dict:
    return _entry("router")(event, context)


def project(event: dict, context: LambdaContext) -> dict:
    return _entry("worker")(event, context)
