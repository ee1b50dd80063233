"""Notifications API (``handler.api``): the caller's preferences and delivery log, and staff operations.

- GET/PUT /me/notification-preferences, GET /me/notifications: the caller, from the verified token.
- GET /notifications?customerId=: staff, the tenant's delivery log. POST /notifications: staff message to a customer.
- GET /notifications/dlq, POST /notifications/dlq/{channel}/redrive: staff, the channel DLQs.
"""

# No `from __future__ import annotations` here: Powertools reads the route annotations at run time.
from http import HTTPStatus
from typing import Annotated

from aws_lambda_powertools import Metrics, Tracer
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from marquee.core import aws
from marquee.core.env import load_env
from marquee.core.logs import Logger
from marquee.http import ApiResolver, accepted_response
from marquee.notifications.channels import Channel, Preferences
from marquee.notifications.store import NotificationStore
from marquee.ratelimit import valkey_request_limiter
from marquee.tenancy.tenant import TenantContext, current_tenant

from . import logic
from .models import (
    ApiEnv,
    DeliveryLogResponse,
    DlqResponse,
    EnqueuedResponse,
    PreferencesResponse,
    RedriveResponse,
    StaffMessageRequest,
)

MAX_REQUEST_BYTES = 1024 * 1024  # larger bodies are refused before parsing; a message over 256 KiB is a 413 as well

env = load_env(ApiEnv)
logger = Logger()
tracer = Tracer()
metrics = Metrics()
app = ApiResolver(max_body_bytes=MAX_REQUEST_BYTES, rate_limit=valkey_request_limiter(env.cache_client))


def store_for(tenant: TenantContext) -> NotificationStore:
    """One tenant's preferences and delivery log, through a client confined to its keys (the tenant-access role)."""
    return NotificationStore(env.table_name, client=env.dynamodb_for(tenant))


Limit = Annotated[int, Query(ge=1, le=200)]


@app.get("/me/notification-preferences")
@tracer.capture_method
def get_preferences() -> PreferencesResponse:
    tenant = current_tenant(app)
    return PreferencesResponse(preferences=logic.get_preferences(tenant, store_for(tenant)))


@app.put("/me/notification-preferences")
@tracer.capture_method
def put_preferences(body: Preferences) -> PreferencesResponse:
    tenant = current_tenant(app)
    return PreferencesResponse(preferences=logic.put_preferences(tenant, body, store_for(tenant)))


@app.get("/me/notifications")
@tracer.capture_method
def my_notifications(limit: Limit = 50) -> DeliveryLogResponse:
    tenant = current_tenant(app)
    return DeliveryLogResponse(items=logic.my_notifications(tenant, store_for(tenant), limit))


@app.get("/notifications")
@tracer.capture_method
def tenant_notifications(
    limit: Limit = 50,
    customerId: Annotated[str | None, Query(min_length=1, max_length=128)] = None,  # noqa: N803
) -> DeliveryLogResponse:
    tenant = current_tenant(app)
    return DeliveryLogResponse(items=logic.tenant_notifications(tenant, store_for(tenant), limit, customerId))


@app.post("/notifications", responses={202: accepted_response(EnqueuedResponse)})
@tracer.capture_method
def staff_message(body: StaffMessageRequest) -> Response[str]:
    event_id, channels = logic.send_staff_message(current_tenant(app), body, env=env, sqs=aws.sqs())
    enqueued = EnqueuedResponse(event_id=event_id, channels=channels)
    return Response(
        status_code=HTTPStatus.ACCEPTED, content_type="application/json", body=enqueued.model_dump_json(by_alias=True)
    )


@app.get("/notifications/dlq")
@tracer.capture_method
def dlq_depths() -> DlqResponse:
    return DlqResponse(queues=logic.dlq_depths(current_tenant(app), env=env, sqs=aws.sqs()))


@app.post("/notifications/dlq/<channel>/redrive")
@tracer.capture_method
def redrive(channel: Channel) -> RedriveResponse:
    return logic.redrive_dlq(current_tenant(app), channel, env=env, sqs=aws.sqs())


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
