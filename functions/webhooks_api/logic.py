"""Staff operations on webhook endpoints. Knows nothing of API Gateway; every call is inside the caller's tenant."""

from __future__ import annotations

import re
import time
import uuid
from datetime import UTC, datetime

from botocore.exceptions import BotoCoreError, ClientError

from marquee.tenancy.tenant import TenantContext
from marquee.webhooks.errors import DeliveryNotFound, EndpointDisabledError, EndpointNotFound
from marquee.webhooks.models import DeliveryMessage, Endpoint, EndpointStatus, now_iso
from marquee.webhooks.queue import DeliveryQueue
from marquee.webhooks.signing_secrets import SigningSecrets
from marquee.webhooks.ssrf import Resolver, check_url
from marquee.webhooks.store import WebhookStore

from .models import (
    DELIVERIES_PAGE,
    CreateEndpointRequest,
    DeliveryList,
    DeliveryView,
    EndpointCreated,
    EndpointList,
    EndpointView,
    RedeliveryAccepted,
    SecretRotated,
    WebhooksApiEnv,
)

STAFF_GROUP = "staff"
ENDPOINT_ID = re.compile(r"^ep_[0-9a-f]{20}$")
DELIVERY_ID = re.compile(r"^msg_[0-9a-f]{32}$")


def _endpoint_id(raw: str) -> str:
    if not ENDPOINT_ID.match(raw):
        raise EndpointNotFound(f"No webhook endpoint {raw!r} in this tenant.")
    return raw


def _delivery_id(raw: str) -> str:
    if not DELIVERY_ID.match(raw):
        raise DeliveryNotFound(f"No delivery {raw!r} for this endpoint.")
    return raw


def create_endpoint(
    request: CreateEndpointRequest,
    tenant: TenantContext,
    env: WebhooksApiEnv,
    store: WebhookStore,
    secrets: SigningSecrets,
    *,
    resolver: Resolver | None = None,
    now: float | None = None,
) -> EndpointCreated:
    """Vet the URL (SSRF guard), create the secret, then the endpoint. If the endpoint cannot be written, the secret is
    deleted again: nothing is left half-written."""
    tenant.require_group(STAFF_GROUP)
    check_url(request.url, allow_loopback=env.webhook_allow_loopback, resolver=resolver)
    moment = now if now is not None else time.time()
    endpoint_id = f"ep_{uuid.uuid4().hex[:20]}"
    secret_name = f"{env.webhook_secret_prefix}{tenant.tenant_id}/{endpoint_id}"
    document = secrets.create(secret_name, description=f"Webhook signing secret of {endpoint_id} ({tenant.tenant_id})")
    endpoint = Endpoint(
        endpoint_id=endpoint_id,
        tenant_id=tenant.tenant_id,
        url=request.url,
        event_types=tuple(request.event_types),
        description=request.description,
        secret_name=secret_name,
        created_at=now_iso(moment),
        updated_at=now_iso(moment),
    )
    try:
        store.put_endpoint(endpoint)
    except (ClientError, BotoCoreError):
        secrets.delete(secret_name)
        raise
    return EndpointCreated(**EndpointView.of(endpoint).model_dump(), secret=document.current)


def list_endpoints(tenant: TenantContext, store: WebhookStore) -> EndpointList:
    tenant.require_group(STAFF_GROUP)
    endpoints = sorted(store.list_endpoints(tenant.tenant_id), key=lambda e: e.created_at)
    return EndpointList(endpoints=[EndpointView.of(e) for e in endpoints])


def get_endpoint(endpoint_id: str, tenant: TenantContext, store: WebhookStore) -> EndpointView:
    tenant.require_group(STAFF_GROUP)
    return EndpointView.of(store.get_endpoint(tenant.tenant_id, _endpoint_id(endpoint_id)))


def delete_endpoint(endpoint_id: str, tenant: TenantContext, store: WebhookStore, secrets: SigningSecrets) -> None:
    """The endpoint goes first (no more deliveries), then its secret. Its delivery log expires by TTL."""
    tenant.require_group(STAFF_GROUP)
    endpoint = store.delete_endpoint(tenant.tenant_id, _endpoint_id(endpoint_id))
    secrets.delete(endpoint.secret_name)


def rotate_secret(
    endpoint_id: str,
    tenant: TenantContext,
    env: WebhooksApiEnv,
    store: WebhookStore,
    secrets: SigningSecrets,
    *,
    now: float | None = None,
) -> SecretRotated:
    """A new current secret; the old one keeps signing (second signature) for the overlap window."""
    tenant.require_group(STAFF_GROUP)
    moment = now if now is not None else time.time()
    endpoint = store.get_endpoint(tenant.tenant_id, _endpoint_id(endpoint_id))
    claimed = store.claim_rotation(endpoint, now=moment)
    document = secrets.rotate(
        endpoint.secret_name,
        version=claimed.secret_version,
        overlap_seconds=env.webhook_rotation_overlap_s,
        now=moment,
    )
    expires = document.previous_expires_at
    return SecretRotated(
        endpoint_id=endpoint.endpoint_id,
        secret=document.current,
        secret_version=document.version,
        previous_secret_expires_at=datetime.fromtimestamp(expires, UTC).isoformat() if expires else None,
    )


def enable_endpoint(endpoint_id: str, tenant: TenantContext, store: WebhookStore) -> EndpointView:
    """Re-enable a disabled endpoint (its failure count starts again at zero)."""
    tenant.require_group(STAFF_GROUP)
    return EndpointView.of(store.enable(tenant.tenant_id, _endpoint_id(endpoint_id), now=time.time()))


def list_deliveries(endpoint_id: str, tenant: TenantContext, store: WebhookStore) -> DeliveryList:
    tenant.require_group(STAFF_GROUP)
    endpoint = store.get_endpoint(tenant.tenant_id, _endpoint_id(endpoint_id))
    deliveries = store.list_deliveries(tenant.tenant_id, endpoint.endpoint_id, limit=DELIVERIES_PAGE)
    return DeliveryList(endpoint_id=endpoint.endpoint_id, deliveries=[DeliveryView.of(d) for d in deliveries])


def redeliver(
    endpoint_id: str, delivery_id: str, tenant: TenantContext, store: WebhookStore, queue: DeliveryQueue
) -> RedeliveryAccepted:
    """Send a delivery again, same ``webhook-id``, with a fresh attempt schedule. Queue messages of its earlier
    generation are dropped by the sender, so at most one schedule runs for it."""
    tenant.require_group(STAFF_GROUP)
    endpoint = store.get_endpoint(tenant.tenant_id, _endpoint_id(endpoint_id))
    if endpoint.endpoint_status is EndpointStatus.DISABLED:
        raise EndpointDisabledError(f"The webhook endpoint {endpoint.endpoint_id!r} is disabled; enable it first.")
    delivery = store.request_redelivery(
        tenant.tenant_id, endpoint.endpoint_id, _delivery_id(delivery_id), now=time.time()
    )
    queue.send(
        [
            DeliveryMessage(
                tenant_id=tenant.tenant_id,
                endpoint_id=endpoint.endpoint_id,
                delivery_id=delivery.delivery_id,
                generation=delivery.generation,
            )
        ]
    )
    return RedeliveryAccepted(
        delivery_id=delivery.delivery_id, status=delivery.delivery_status, generation=delivery.generation
    )
