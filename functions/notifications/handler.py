"""Entry points of the notification functions, all from this one code folder. Each function's handler setting names
one of them:
- ``functions.notifications.handler.api``: the REST API (api.py);
- ``functions.notifications.handler.route``: the router, target of the EventBridge rule (router.py);
- ``functions.notifications.handler.work``: a channel worker, CHANNEL=email|sms|push (worker.py).

Each imports its own module on the first invocation of the execution environment (its cold start), which validates
that function's environment model; the other functions' modules, and their variables, are never needed.
"""

import importlib
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext


def _entry(module: str) -> Any:
    return importlib.import_module(f".{module}", __package__).handler


def api(event: dict, context: LambdaContext) -> dict:
    return _entry("api")(event, context)


def route(event: dict, context: LambdaContext) -> dict:
    return _entry("router")(event, context)


def work(event: dict, context: LambdaContext) -> dict:
    return _entry("worker")(event, context)
