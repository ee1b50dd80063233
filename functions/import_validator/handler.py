"""Import validator (challenge 15): one function, three roles. The imports bucket notifies it (ObjectCreated): it is the
coordinator of that file. For a big file the coordinator invokes it again once per byte range (``{"task": "range"}``):
it is then one range validator. A publish that outlasts one invocation is handed on to a fresh one, and an operator's
``POST /imports/{id}/resume`` starts one (``{"task": "publish"}``): it then publishes on from the job's cursor."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Metrics, Tracer
from aws_lambda_powertools.utilities.data_classes import S3Event
from aws_lambda_powertools.utilities.typing import LambdaContext

from marquee.core.env import load_env
from marquee.core.logs import Logger
from marquee.imports.jobs import PublishTask

from . import logic
from .models import RangeTask, ValidatorEnv

env = load_env(ValidatorEnv)
logger = Logger()
tracer = Tracer()
metrics = Metrics()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any] | None:
    if event.get("task") == "range":
        return logic.validate_range(RangeTask.model_validate(event), env=env)
    if event.get("task") == "publish":
        logic.continue_publishing(PublishTask.model_validate(event), env=env, context=context)
        return None
    for record in S3Event(event).records:
        logic.on_object_created(record.raw_event, env=env, context=context)
    return None
