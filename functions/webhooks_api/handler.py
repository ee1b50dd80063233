"""Staff webhook API: register endpoints (secret shown once), rotate secrets, see and redeliver deliveries."""

# No `from __future__ import annotations` here: Powertools reads the route annotations at run time.
from http import HTTPStatus

from aws_lambda_powertools import Metrics, Tracer
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from marquee.core.env import load_env
from marquee.core.logs import Logger
from marquee.http import ApiResolver, accepted_response, created_response, ok_response
from marquee.ratelimit import valkey_request_limiter
from marquee.tenancy.tenant import TenantContext, current_tenant
from marquee.webhooks.queue import DeliveryQueue
from marquee.webhooks.signing_secrets import SigningSecrets
from marquee.webhooks.store import WebhookStore

from .logic import (
    create_endpoint,
    delete_endpoint,
    enable_endpoint,
    get_endpoint,
    list_deliveries,
    list_endpoints,
    redeliver,
    rotate_secret,
)
from .models import (
    CreateEndpointRequest,
    DeliveryList,
    EndpointCreated,
    EndpointList,
    EndpointView,
    RedeliveryAccepted,
    SecretRotated,
    WebhooksApiEnv,
)

env = load_env(WebhooksApiEnv)
logger = Logger()
tracer = Tracer()
metrics = Metrics()
secrets = SigningSecrets(max_age=env.webhook_secret_max_age_s)
queue = DeliveryQueue(env.delivery_queue_url)
# Rate-limited per tenant plan and user (GCRA in Valkey, docs/patterns/01-rate-limiting.md).
app = ApiResolver(rate_limit=valkey_request_limiter(env.cache_client))

NO_STORE = {"Cache-Control": "no-store"}  # responses that carry a secret must never be cached


def store_for(tenant: TenantContext) -> WebhookStore:
    """One tenant's endpoints and deliveries, through a client confined to its keys (the tenant-access role)."""
    return WebhookStore(env.table_name, client=env.dynamodb_for(tenant))


@app.post("/webhooks/endpoints", responses={201: created_response(EndpointCreated)})
@tracer.capture_method
def post_endpoint(body: CreateEndpointRequest) -> Response[str]:
    tenant = current_tenant(app)
    created = create_endpoint(body, tenant, env, store_for(tenant), secrets)
    metrics.add_metric(name="WebhookEndpointsCreated", unit=MetricUnit.Count, value=1)
    return Response(
        status_code=HTTPStatus.CREATED,
        content_type="application/json",
        body=created.model_dump_json(by_alias=True),
        headers={"Location": f"/webhooks/endpoints/{created.endpoint_id}", **NO_STORE},
    )


@app.get("/webhooks/endpoints")
@tracer.capture_method
def get_endpoints() -> EndpointList:
    tenant = current_tenant(app)
    return list_endpoints(tenant, store_for(tenant))


@app.get("/webhooks/endpoints/<endpoint_id>")
@tracer.capture_method
def get_endpoint_route(endpoint_id: str) -> EndpointView:
    tenant = current_tenant(app)
    return get_endpoint(endpoint_id, tenant, store_for(tenant))


@app.delete("/webhooks/endpoints/<endpoint_id>", responses={204: {"description": "Deleted"}})
@tracer.capture_method
def delete_endpoint_route(endpoint_id: str) -> Response[str]:
    tenant = current_tenant(app)
    delete_endpoint(endpoint_id, tenant, store_for(tenant), secrets)
    return Response(status_code=HTTPStatus.NO_CONTENT, body="")


@app.post("/webhooks/endpoints/<endpoint_id>/rotate-secret", responses={200: ok_response(SecretRotated)})
@tracer.capture_method
def post_rotate_secret(endpoint_id: str) -> Response[str]:
    tenant = current_tenant(app)
    rotated = rotate_secret(endpoint_id, tenant, env, store_for(tenant), secrets)
    metrics.add_metric(name="WebhookSecretsRotated", unit=MetricUnit.Count, value=1)
    return Response(
        status_code=HTTPStatus.OK,
        content_type="application/json",
        body=rotated.model_dump_json(by_alias=True),
        headers=NO_STORE,
    )


@app.post("/webhooks/endpoints/<endpoint_id>/enable")
@tracer.capture_method
def post_enable(endpoint_id: str) -> EndpointView:
    tenant = current_tenant(app)
    return enable_endpoint(endpoint_id, tenant, store_for(tenant))


@app.get("/webhooks/endpoints/<endpoint_id>/deliveries")
@tracer.capture_method
def get_deliveries(endpoint_id: str) -> DeliveryList:
    tenant = current_tenant(app)
    return list_deliveries(endpoint_id, tenant, store_for(tenant))


@app.post(
    "/webhooks/endpoints/<endpoint_id>/deliveries/<delivery_id>/redeliver",
    responses={202: accepted_response(RedeliveryAccepted)},
)
@tracer.capture_method
def post_redeliver(endpoint_id: str, delivery_id: str) -> Response[str]:
    tenant = current_tenant(app)
    accepted = redeliver(endpoint_id, delivery_id, tenant, store_for(tenant), queue)
    metrics.add_metric(name="WebhookRedeliveries", unit=MetricUnit.Count, value=1)
    return Response(
        status_code=HTTPStatus.ACCEPTED, content_type="application/json", body=accepted.model_dump_json(by_alias=True)
    )


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
