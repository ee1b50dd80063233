"""Secrets Manager rotation function for the providers' API keys (payments, notifications; challenge 16): one step per invoke."""

from aws_lambda_powertools import Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from marquee.core import aws
from marquee.core.env import load_env
from marquee.core.logs import Logger

from .adapters import ProviderKeyApi, SecretsManagerStore
from .logic import rotate
from .models import RotationEnv, RotationEvent

env = load_env(RotationEnv)
logger = Logger()
tracer = Tracer()
metrics = Metrics()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict, context: LambdaContext) -> dict:
    rotation = RotationEvent.model_validate(event)
    outcome = rotate(
        rotation,
        secrets=SecretsManagerStore(aws.secretsmanager()),
        provider=ProviderKeyApi(env.provider_timeout_ms),
        api_key_length=env.api_key_length,
    )
    metrics.add_metric(name=f"Rotation-{rotation.step.value}", unit=MetricUnit.Count, value=1)
    return outcome
