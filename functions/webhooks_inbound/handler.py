"""POST /webhooks/inbound/payments: the payment provider reports refunds and chargebacks. No Cognito authorizer:
the Standard Webhooks signature is the authentication."""

# No `from __future__ import annotations` here: Powertools reads the route annotations at run time.
from aws_lambda_powertools import Metrics, Tracer
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.typing import LambdaContext

from marquee.core.env import load_env
from marquee.core.logs import Logger
from marquee.http import ApiResolver
from marquee.webhooks.store import WebhookStore

from .logic import receive_payment_event
from .models import InboundAccepted, InboundEnv

env = load_env(InboundEnv)
logger = Logger()
tracer = Tracer()
metrics = Metrics()
store = WebhookStore(env.table_name, inbox_table_name=env.inbox_table_name)
app = ApiResolver()


def signing_secret() -> str:
    """The provider's signing secret, cached by Powertools for WEBHOOK_SECRET_MAX_AGE_S seconds. Never logged."""
    return parameters.get_secret(env.inbound_secret_name, max_age=env.webhook_secret_max_age_s)


@app.post("/webhooks/inbound/payments")
@tracer.capture_method
def post_payment_event() -> InboundAccepted:
    event = app.current_event
    accepted = receive_payment_event(
        event.decoded_body or "", event.headers, signing_secret=signing_secret, store=store
    )
    metrics.add_metric(name=f"InboundWebhooks{accepted.status.title()}", unit=MetricUnit.Count, value=1)
    return accepted


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
