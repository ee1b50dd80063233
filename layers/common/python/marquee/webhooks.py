"""Signed webhooks (challenge 10): Standard Webhooks signing and verification, the stored items, the secrets.

Signing and verification use the official ``standardwebhooks`` library (1.1.0):
- ``Webhook(secret).sign(msg_id, timestamp, body)`` gives one ``v1,<base64 HMAC-SHA256 of id.timestamp.body>``. It
  signs with one secret, so during a rotation's overlap window ``signature_header`` signs once per secret and joins
  the results with a space, as the spec allows (``webhook-signature: v1,<new> v1,<old>``);
- ``Webhook(secret).verify(body, headers)`` checks the timestamp (5 minutes either way) and compares every ``v1``
  signature with ``hmac.compare_digest`` (constant time). ``verify_inbound`` wraps it and maps every failure,
  including the library's own ``ValueError`` on a malformed header, to ``InvalidSignature`` (401).

Items in the main table (docs/patterns/10-hmac-webhooks.md):
    endpoint   pk TENANT#t#WEBHOOKS            sk ENDPOINT#{endpointId}
    delivery   pk TENANT#t#WEBHOOK#{endpointId} sk DELIVERY#{deliveryId}   (attempts inside, TTL 30 days)
    inbound    pk TENANT#t#PAYMENT#{paymentId}  sk REFUND#{ref} | CHARGEBACK#{ref}
Replays of inbound webhooks are dropped with a conditional put in the inbox table (pk ``webhooks-inbound#{id}``).

Each endpoint's signing secrets live in Secrets Manager (``{prefix}{tenant}/{endpointId}``) as a JSON document
(``SecretDocument``) and are read through Powertools parameters with a cache (``max_age``). The endpoint item carries
the document's version, so a sender whose cache predates a rotation fetches again at once. Secret values are never
logged, never put in events or in the table.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import secrets as _secrets
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from enum import StrEnum
from functools import lru_cache
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from aws_lambda_powertools.utilities.parameters import SecretsProvider
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError
from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel
from standardwebhooks import Webhook, WebhookVerificationError

from marquee import aws
from marquee.errors import MarqueeError
from marquee.events import Envelope, EventData, envelope, register
from marquee.money import Money
from marquee.outbox import outbox_put
from marquee.tenant import tenant_key

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
else:
    DynamoDBClient = Any

SECRET_PREFIX = "whsec_"  # noqa: S105 - the Standard Webhooks prefix, not a secret
SECRET_BYTES = 32  # the spec asks for 24 to 64 bytes
MIN_SECRET_BYTES = 24
MAX_SECRET_BYTES = 64
TOLERANCE_SECONDS = 300  # standardwebhooks' own, fixed window: a timestamp 301 s old or ahead is refused
MAX_BODY_BYTES = 256 * 1024
DELIVERY_TTL_SECONDS = 30 * 24 * 3600
INBOX_TTL_SECONDS = 24 * 3600  # longer than the 5-minute window: a replay past TTL is refused by its timestamp
INBOX_CONSUMER = "webhooks-inbound"
USER_AGENT = "Marquee-Webhooks/1.0"

# The booking events (docs/booking-data-model.md) plus this capability's own: what an endpoint may subscribe to.
BOOKING_EVENT_TYPES: frozenset[str] = frozenset(
    {
        "HoldCreated",
        "HoldReleased",
        "OrderPlaced",
        "SeatsReserved",
        "OrderConfirmed",
        "OrderFailed",
        "SeatsReleased",
        "PaymentCaptured",
        "PaymentDeclined",
        "PaymentRefunded",
    }
)


# ---- errors -----------------------------------------------------------------------------------------------------------
class EndpointNotFound(MarqueeError):
    status = HTTPStatus.NOT_FOUND
    slug = "webhook-endpoint-not-found"
    title = "Webhook endpoint not found"


class DeliveryNotFound(MarqueeError):
    status = HTTPStatus.NOT_FOUND
    slug = "webhook-delivery-not-found"
    title = "Webhook delivery not found"


class EndpointDisabledError(MarqueeError):
    status = HTTPStatus.CONFLICT
    slug = "webhook-endpoint-disabled"
    title = "Webhook endpoint disabled"


class InvalidSignature(MarqueeError):
    status = HTTPStatus.UNAUTHORIZED
    slug = "invalid-webhook-signature"
    title = "Invalid webhook signature"


class PaymentNotFound(MarqueeError):
    status = HTTPStatus.NOT_FOUND
    slug = "payment-not-found"
    title = "Payment not found"


class RotationConflict(MarqueeError):
    status = HTTPStatus.CONFLICT
    slug = "webhook-rotation-conflict"
    title = "Concurrent secret rotation"


# ---- events -----------------------------------------------------------------------------------------------------------
class _CamelEvent(EventData):
    model_config = ConfigDict(extra="forbid", frozen=True, alias_generator=to_camel, populate_by_name=True)


@register
class EndpointDisabled(_CamelEvent):
    """The tenant's endpoint failed ``consecutive_failures`` deliveries in a row and is no longer called."""

    event_type: ClassVar[str] = "EndpointDisabled"
    endpoint_id: str
    url: str
    consecutive_failures: int
    last_delivery_id: str


class _ProviderEvent(_CamelEvent):
    payment_id: str
    provider_reference: str = Field(description="The provider's refund or dispute id")
    amount: Money
    reason: str | None = None
    webhook_id: str


@register
class RefundReported(_ProviderEvent):
    """The payment provider reported an asynchronous refund of one of the tenant's payments."""

    event_type: ClassVar[str] = "RefundReported"


@register
class ChargebackReported(_ProviderEvent):
    """The payment provider reported a chargeback (dispute) on one of the tenant's payments."""

    event_type: ClassVar[str] = "ChargebackReported"


WEBHOOK_EVENT_TYPES: frozenset[str] = BOOKING_EVENT_TYPES | {
    EndpointDisabled.event_type,
    RefundReported.event_type,
    ChargebackReported.event_type,
}


# ---- secrets and signatures --------------------------------------------------------------------------------------------
def new_secret() -> str:
    """A fresh signing secret: ``whsec_`` + base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(_secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def secret_length(secret: str) -> int:
    """The number of key bytes in ``secret`` (``whsec_`` prefix optional); ``ValueError`` if it is not base64."""
    raw = secret.removeprefix(SECRET_PREFIX)
    try:
        return len(base64.b64decode(raw, validate=True))
    except binascii.Error as exc:
        raise ValueError("the secret is not base64") from exc


@lru_cache(maxsize=256)
def _webhook(secret: str) -> Webhook:
    return Webhook(secret)  # decodes the base64 once per secret, not once per signature


def signature_header(secrets: Sequence[str], *, msg_id: str, timestamp: int, body: str) -> str:
    """``webhook-signature``: one ``v1,...`` per secret, space-separated (the first secret is the current one)."""
    if not secrets:
        raise ValueError("at least one secret is needed to sign")
    moment = datetime.fromtimestamp(timestamp, UTC)
    return " ".join(_webhook(secret).sign(msg_id, moment, body) for secret in secrets)


def signed_headers(secrets: Sequence[str], *, msg_id: str, timestamp: int, body: str) -> dict[str, str]:
    """Every header of an outbound delivery."""
    return {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature_header(secrets, msg_id=msg_id, timestamp=timestamp, body=body),
    }


def verify_inbound(secret: str, body: str, headers: Mapping[str, str]) -> str:
    """Verify a Standard Webhooks request with ``secret``; return its ``webhook-id`` or raise ``InvalidSignature``.

    The library refuses missing headers, timestamps more than 5 minutes old or ahead, and bodies whose every ``v1``
    signature differs (``hmac.compare_digest``). A malformed signature list makes it raise ``ValueError`` or a base64
    error, which are refusals too.
    """
    lowered = {k.lower(): v for k, v in headers.items()}
    try:
        _webhook(secret).verify(body, lowered, json_parse=False)
    except (WebhookVerificationError, ValueError, binascii.Error) as exc:
        raise InvalidSignature("The webhook signature, timestamp or headers are invalid.") from exc
    return lowered["webhook-id"]


def delivery_id(endpoint_id: str, event_id: str, occurred_at: datetime) -> str:
    """Stable across retries and re-fan-outs: ``msg_`` + the event time (hex ms, so ids sort by time) + a hash."""
    digest = hashlib.sha256(f"{endpoint_id}|{event_id}".encode()).hexdigest()[:20]
    return f"msg_{int(occurred_at.timestamp() * 1000):012x}{digest}"


class SecretDocument(BaseModel):
    """An endpoint's secret in Secrets Manager: the current secret and, during an overlap window, the previous one."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: int = Field(ge=1)
    current: str = Field(repr=False)
    previous: str | None = Field(default=None, repr=False)
    previous_expires_at: int | None = None

    def signing_keys(self, now: float) -> list[str]:
        keys = [self.current]
        if self.previous and self.previous_expires_at and now < self.previous_expires_at:
            keys.append(self.previous)
        return keys


class SigningSecrets:
    """Endpoint secrets in Secrets Manager. Reads go through Powertools parameters, cached for ``max_age`` seconds."""

    def __init__(self, *, max_age: int, client: Any | None = None) -> None:
        self.max_age = max_age
        self._client = client
        self._provider: SecretsProvider | None = None

    @property
    def client(self) -> Any:
        return self._client or aws.secretsmanager()

    @property
    def provider(self) -> SecretsProvider:
        if self._provider is None:
            self._provider = SecretsProvider(boto3_client=self.client)
        return self._provider

    def create(self, name: str, *, description: str) -> SecretDocument:
        document = SecretDocument(version=1, current=new_secret())
        self.client.create_secret(Name=name, Description=description, SecretString=document.model_dump_json())
        return document

    def read(self, name: str, *, min_version: int = 0) -> SecretDocument:
        """The cached document, fetched again when it is older than the version the endpoint item names."""
        document = SecretDocument.model_validate(self.provider.get(name, transform="json", max_age=self.max_age))
        if document.version < min_version:
            document = SecretDocument.model_validate(
                self.provider.get(name, transform="json", max_age=self.max_age, force_fetch=True)
            )
        return document

    def rotate(self, name: str, *, version: int, overlap_seconds: int, now: float) -> SecretDocument:
        """Make a new current secret; the old one keeps signing until ``now + overlap_seconds``."""
        old = SecretDocument.model_validate(self.provider.get(name, transform="json", force_fetch=True))
        document = SecretDocument(
            version=version,
            current=new_secret(),
            previous=old.current,
            previous_expires_at=int(now + overlap_seconds),
        )
        self.client.put_secret_value(SecretId=name, SecretString=document.model_dump_json())
        return document

    def delete(self, name: str) -> None:
        try:
            self.client.delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ResourceNotFoundException":
                raise


# ---- stored items -----------------------------------------------------------------------------------------------------
class EndpointStatus(StrEnum):
    ACTIVE = "ACTIVE"
    DISABLED = "DISABLED"


class DeliveryStatus(StrEnum):
    PENDING = "PENDING"  # enqueued, not attempted yet (or redelivery requested)
    RETRYING = "RETRYING"  # failed, another attempt is scheduled
    SUCCEEDED = "SUCCEEDED"
    EXHAUSTED = "EXHAUSTED"  # every attempt failed; the message went to the DLQ
    SKIPPED = "SKIPPED"  # the endpoint was disabled or deleted before the attempt


class Endpoint(BaseModel):
    model_config = ConfigDict(frozen=True)

    endpoint_id: str
    tenant_id: str
    url: str
    event_types: tuple[str, ...]
    description: str | None = None
    endpoint_status: EndpointStatus = EndpointStatus.ACTIVE
    secret_name: str
    secret_version: int = 1
    consecutive_failures: int = 0
    created_at: str
    updated_at: str
    disabled_at: str | None = None

    def subscribes_to(self, event_type: str) -> bool:
        return self.endpoint_status is EndpointStatus.ACTIVE and event_type in self.event_types


class Attempt(BaseModel):
    model_config = ConfigDict(frozen=True)

    number: int
    at: str
    outcome: Literal["success", "failure"]
    status_code: int | None = None
    error: str | None = None
    error_type: str | None = Field(default=None, description="The exception's type, for an error of the sender itself")
    duration_ms: int
    signatures: int = Field(description="How many signatures the attempt carried (2 during a rotation overlap)")


class Delivery(BaseModel):
    model_config = ConfigDict(frozen=True)

    delivery_id: str
    endpoint_id: str
    tenant_id: str
    event_id: str
    event_type: str
    delivery_status: DeliveryStatus = DeliveryStatus.PENDING
    generation: int = 0
    body: str = Field(repr=False)
    attempts: tuple[Attempt, ...] = ()
    created_at: str
    updated_at: str
    next_attempt_at: str | None = None


class DeliveryMessage(BaseModel):
    """The delivery queue's message body: which delivery to attempt (the payload stays in the table)."""

    model_config = ConfigDict(frozen=True, alias_generator=to_camel, populate_by_name=True)

    tenant_id: str
    endpoint_id: str
    delivery_id: str
    generation: int = 0


def now_iso(now: float | None = None) -> str:
    return datetime.fromtimestamp(now if now is not None else time.time(), UTC).isoformat(timespec="milliseconds")


_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def _to_item(values: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _serializer.serialize(v) for k, v in values.items() if v is not None}


def _from_item(item: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _plain(_deserializer.deserialize(v)) for k, v in item.items()}


def _plain(value: Any) -> Any:
    """DynamoDB numbers come back as Decimal; every number stored here is an integer."""
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if type(value).__name__ == "Decimal":
        return int(value)
    return value


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def endpoint_key(tenant_id: str, endpoint_id: str) -> dict[str, dict[str, str]]:
    return {"pk": {"S": tenant_key(tenant_id, "WEBHOOKS")}, "sk": {"S": f"ENDPOINT#{endpoint_id}"}}


def delivery_key(tenant_id: str, endpoint_id: str, delivery: str) -> dict[str, dict[str, str]]:
    return {"pk": {"S": tenant_key(tenant_id, "WEBHOOK", endpoint_id)}, "sk": {"S": f"DELIVERY#{delivery}"}}


def payment_key(tenant_id: str, payment_id: str) -> dict[str, dict[str, str]]:
    return {"pk": {"S": tenant_key(tenant_id, "PAYMENT", payment_id)}, "sk": {"S": "META"}}


class ProviderEventRecorded(BaseModel):
    model_config = ConfigDict(frozen=True)

    duplicate: bool
    event_id: str | None = None


class WebhookStore:
    """The data access of the webhook capability: endpoints, deliveries, inbound provider events (DynamoDB only)."""

    ENDPOINT_IS_ACTIVE: ClassVar[str] = "attribute_exists(pk) AND endpoint_status = :active"

    def __init__(self, table_name: str, *, inbox_table_name: str | None = None, client: DynamoDBClient | None = None):
        self.table_name = table_name
        self.inbox_table_name = inbox_table_name
        self._client = client

    @property
    def client(self) -> DynamoDBClient:
        return self._client or aws.dynamodb()

    # -- endpoints
    def put_endpoint(self, endpoint: Endpoint) -> None:
        item = {**endpoint_key(endpoint.tenant_id, endpoint.endpoint_id), **_to_item(endpoint.model_dump(mode="json"))}
        item["entity"] = {"S": "WEBHOOK_ENDPOINT"}
        self.client.put_item(TableName=self.table_name, Item=item, ConditionExpression="attribute_not_exists(pk)")

    def get_endpoint(self, tenant_id: str, endpoint_id: str) -> Endpoint:
        item = self.client.get_item(
            TableName=self.table_name, Key=endpoint_key(tenant_id, endpoint_id), ConsistentRead=True
        ).get("Item")
        if not item:
            raise EndpointNotFound(f"No webhook endpoint {endpoint_id!r} in this tenant.")
        return Endpoint.model_validate(_from_item(item))

    def list_endpoints(self, tenant_id: str) -> list[Endpoint]:
        endpoints: list[Endpoint] = []
        kwargs: dict[str, Any] = {
            "TableName": self.table_name,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
            "ExpressionAttributeValues": {
                ":pk": {"S": tenant_key(tenant_id, "WEBHOOKS")},
                ":prefix": {"S": "ENDPOINT#"},
            },
        }
        while True:
            page = self.client.query(**kwargs)
            endpoints.extend(Endpoint.model_validate(_from_item(i)) for i in page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                return endpoints
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def delete_endpoint(self, tenant_id: str, endpoint_id: str) -> Endpoint:
        try:
            old = self.client.delete_item(
                TableName=self.table_name,
                Key=endpoint_key(tenant_id, endpoint_id),
                ConditionExpression="attribute_exists(pk)",
                ReturnValues="ALL_OLD",
            )
        except ClientError as exc:
            if _code(exc) == "ConditionalCheckFailedException":
                raise EndpointNotFound(f"No webhook endpoint {endpoint_id!r} in this tenant.") from exc
            raise
        return Endpoint.model_validate(_from_item(old["Attributes"]))

    def _update_endpoint(
        self, tenant_id: str, endpoint_id: str, update: str, condition: str, values: dict[str, Any]
    ) -> Endpoint:
        try:
            result = self.client.update_item(
                TableName=self.table_name,
                Key=endpoint_key(tenant_id, endpoint_id),
                UpdateExpression=update,
                ConditionExpression=condition,
                ExpressionAttributeValues=values,
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as exc:
            if _code(exc) != "ConditionalCheckFailedException":
                raise
            old = exc.response.get("Item")
            if not old:
                raise EndpointNotFound(f"No webhook endpoint {endpoint_id!r} in this tenant.") from exc
            raise EndpointDisabledError(f"The webhook endpoint {endpoint_id!r} is disabled.") from exc
        return Endpoint.model_validate(_from_item(result["Attributes"]))

    def claim_rotation(self, endpoint: Endpoint, *, now: float) -> Endpoint:
        """Move the endpoint to the next secret version; only one of two racing rotations wins (409 for the other)."""
        try:
            return self._update_endpoint(
                endpoint.tenant_id,
                endpoint.endpoint_id,
                "SET secret_version = :next, updated_at = :now",
                "attribute_exists(pk) AND secret_version = :seen",
                {
                    ":next": {"N": str(endpoint.secret_version + 1)},
                    ":seen": {"N": str(endpoint.secret_version)},
                    ":now": {"S": now_iso(now)},
                },
            )
        except EndpointDisabledError as exc:
            raise RotationConflict("Another rotation of this endpoint's secret won the race; try again.") from exc

    def enable(self, tenant_id: str, endpoint_id: str, *, now: float) -> Endpoint:
        return self._update_endpoint(
            tenant_id,
            endpoint_id,
            "SET endpoint_status = :active, consecutive_failures = :zero, updated_at = :now REMOVE disabled_at",
            "attribute_exists(pk)",
            {":active": {"S": EndpointStatus.ACTIVE.value}, ":zero": {"N": "0"}, ":now": {"S": now_iso(now)}},
        )

    def record_endpoint_success(self, endpoint: Endpoint) -> None:
        if endpoint.consecutive_failures == 0:
            return  # nothing to reset: save the write
        try:
            self.client.update_item(
                TableName=self.table_name,
                Key=endpoint_key(endpoint.tenant_id, endpoint.endpoint_id),
                UpdateExpression="SET consecutive_failures = :zero",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeValues={":zero": {"N": "0"}},
            )
        except ClientError as exc:
            if _code(exc) != "ConditionalCheckFailedException":
                raise

    def record_endpoint_failure(
        self, endpoint: Endpoint, *, threshold: int, delivery: str, correlation_id: str, now: float
    ) -> bool:
        """Count one more consecutive failure; at ``threshold`` disable the endpoint and write ``EndpointDisabled``
        through the outbox, in one transaction. True only for the call that disabled it."""
        try:
            result = self.client.update_item(
                TableName=self.table_name,
                Key=endpoint_key(endpoint.tenant_id, endpoint.endpoint_id),
                UpdateExpression="ADD consecutive_failures :one",
                ConditionExpression=self.ENDPOINT_IS_ACTIVE,
                ExpressionAttributeValues={":one": {"N": "1"}, ":active": {"S": EndpointStatus.ACTIVE.value}},
                ReturnValues="UPDATED_NEW",
            )
        except ClientError as exc:
            if _code(exc) == "ConditionalCheckFailedException":
                return False  # deleted or already disabled
            raise
        failures = int(result["Attributes"]["consecutive_failures"]["N"])
        if failures < threshold:
            return False
        event = envelope(
            EndpointDisabled(
                endpoint_id=endpoint.endpoint_id,
                url=endpoint.url,
                consecutive_failures=failures,
                last_delivery_id=delivery,
            ),
            tenant_id=endpoint.tenant_id,
            correlation_id=correlation_id,
        )
        try:
            disable: list[Any] = [
                {
                    "Update": {
                        "TableName": self.table_name,
                        "Key": endpoint_key(endpoint.tenant_id, endpoint.endpoint_id),
                        "UpdateExpression": "SET endpoint_status = :disabled, disabled_at = :now, updated_at = :now",
                        "ConditionExpression": self.ENDPOINT_IS_ACTIVE,
                        "ExpressionAttributeValues": {
                            ":disabled": {"S": EndpointStatus.DISABLED.value},
                            ":active": {"S": EndpointStatus.ACTIVE.value},
                            ":now": {"S": now_iso(now)},
                        },
                    }
                },
                outbox_put(self.table_name, event, now=now),
            ]
            self.client.transact_write_items(TransactItems=disable)
        except ClientError as exc:
            if _code(exc) == "TransactionCanceledException":
                return False  # a racing failure disabled it first (one event only)
            raise
        return True

    # -- deliveries
    def create_delivery(self, delivery: Delivery, *, now: float) -> Delivery | None:
        """Write a new PENDING delivery. If it exists (a re-run fan-out), return it only while still PENDING, so that
        the caller enqueues it again; None means it is already being (or was) delivered."""
        item = {
            **delivery_key(delivery.tenant_id, delivery.endpoint_id, delivery.delivery_id),
            **_to_item(delivery.model_dump(mode="json")),
            "expires_at": {"N": str(int(now + DELIVERY_TTL_SECONDS))},
            "entity": {"S": "WEBHOOK_DELIVERY"},
        }
        try:
            self.client.put_item(
                TableName=self.table_name,
                Item=item,
                ConditionExpression="attribute_not_exists(pk)",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as exc:
            if _code(exc) != "ConditionalCheckFailedException":
                raise
            existing = Delivery.model_validate(_from_item(exc.response.get("Item") or item))
            return existing if existing.delivery_status is DeliveryStatus.PENDING else None
        return delivery

    def get_delivery(self, tenant_id: str, endpoint_id: str, delivery: str) -> Delivery:
        item = self.client.get_item(
            TableName=self.table_name, Key=delivery_key(tenant_id, endpoint_id, delivery), ConsistentRead=True
        ).get("Item")
        if not item:
            raise DeliveryNotFound(f"No delivery {delivery!r} for this endpoint.")
        return Delivery.model_validate(_from_item(item))

    def list_deliveries(self, tenant_id: str, endpoint_id: str, *, limit: int) -> list[Delivery]:
        """The newest ``limit`` deliveries (delivery ids sort by event time)."""
        page = self.client.query(
            TableName=self.table_name,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
            ExpressionAttributeValues={
                ":pk": {"S": tenant_key(tenant_id, "WEBHOOK", endpoint_id)},
                ":prefix": {"S": "DELIVERY#"},
            },
            ScanIndexForward=False,
            Limit=limit,
        )
        return [Delivery.model_validate(_from_item(i)) for i in page.get("Items", [])]

    def record_attempt(
        self,
        delivery: Delivery,
        attempt: Attempt,
        *,
        status: DeliveryStatus,
        next_attempt_at: str | None,
        now: float,
    ) -> None:
        update = (
            "SET attempts = list_append(if_not_exists(attempts, :empty), :attempt), delivery_status = :status, "
            "updated_at = :now"
        )
        values: dict[str, Any] = {
            ":empty": {"L": []},
            ":attempt": {"L": [{"M": _to_item(attempt.model_dump(mode="json"))}]},
            ":status": {"S": status.value},
            ":now": {"S": now_iso(now)},
        }
        if next_attempt_at:
            update += ", next_attempt_at = :next"
            values[":next"] = {"S": next_attempt_at}
        else:
            update += " REMOVE next_attempt_at"
        self.client.update_item(
            TableName=self.table_name,
            Key=delivery_key(delivery.tenant_id, delivery.endpoint_id, delivery.delivery_id),
            UpdateExpression=update,
            ExpressionAttributeValues=values,
        )

    def mark_delivery(self, delivery: Delivery, status: DeliveryStatus, *, now: float) -> None:
        self.client.update_item(
            TableName=self.table_name,
            Key=delivery_key(delivery.tenant_id, delivery.endpoint_id, delivery.delivery_id),
            UpdateExpression="SET delivery_status = :status, updated_at = :now REMOVE next_attempt_at",
            ExpressionAttributeValues={":status": {"S": status.value}, ":now": {"S": now_iso(now)}},
        )

    def request_redelivery(self, tenant_id: str, endpoint_id: str, delivery: str, *, now: float) -> Delivery:
        """PENDING again, under a new generation: older queue messages of this delivery become stale and are dropped."""
        try:
            result = self.client.update_item(
                TableName=self.table_name,
                Key=delivery_key(tenant_id, endpoint_id, delivery),
                UpdateExpression="SET delivery_status = :pending, updated_at = :now, generation = generation + :one",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeValues={
                    ":pending": {"S": DeliveryStatus.PENDING.value},
                    ":now": {"S": now_iso(now)},
                    ":one": {"N": "1"},
                },
                ReturnValues="ALL_NEW",
            )
        except ClientError as exc:
            if _code(exc) == "ConditionalCheckFailedException":
                raise DeliveryNotFound(f"No delivery {delivery!r} for this endpoint.") from exc
            raise
        return Delivery.model_validate(_from_item(result["Attributes"]))

    # -- inbound provider events
    def record_provider_event(
        self,
        *,
        tenant_id: str,
        payment_id: str,
        kind: Literal["REFUND", "CHARGEBACK"],
        webhook_id: str,
        event: Envelope,
        record: Mapping[str, Any],
        now: float,
    ) -> ProviderEventRecorded:
        """One transaction: the replay guard (inbox, by webhook id), the payment's existence in the tenant, the record
        (once per provider reference) and its event through the outbox. A replay writes nothing."""
        if not self.inbox_table_name:
            raise ValueError("the inbox table is needed to record inbound webhooks")
        reference = str(record["provider_reference"])
        pk = tenant_key(tenant_id, "PAYMENT", payment_id)
        items: list[Any] = [
            {
                "Put": {
                    "TableName": self.inbox_table_name,
                    "Item": {
                        "pk": {"S": f"{INBOX_CONSUMER}#{webhook_id}"},
                        "expires_at": {"N": str(int(now + INBOX_TTL_SECONDS))},
                    },
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
            {
                "ConditionCheck": {
                    "TableName": self.table_name,
                    "Key": payment_key(tenant_id, payment_id),
                    "ConditionExpression": "attribute_exists(pk)",
                }
            },
            {
                "Put": {
                    "TableName": self.table_name,
                    "Item": {
                        "pk": {"S": pk},
                        "sk": {"S": f"{kind}#{reference}"},
                        **_to_item({**record, "event_id": event.id, "webhook_id": webhook_id}),
                        "recorded_at": {"S": now_iso(now)},
                        "entity": {"S": f"PAYMENT_{kind}"},
                    },
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
            outbox_put(self.table_name, event, now=now),
        ]
        try:
            self.client.transact_write_items(TransactItems=items)
        except ClientError as exc:
            if _code(exc) != "TransactionCanceledException":
                raise
            reasons = [r.get("Code", "None") for r in exc.response.get("CancellationReasons", [])]
            if reasons and reasons[0] == "ConditionalCheckFailed":
                return ProviderEventRecorded(duplicate=True)
            if len(reasons) > 1 and reasons[1] == "ConditionalCheckFailed":
                raise PaymentNotFound(f"No payment {payment_id!r} in tenant {tenant_id!r}.") from exc
            if len(reasons) > 2 and reasons[2] == "ConditionalCheckFailed":
                return ProviderEventRecorded(duplicate=True)  # the same refund/dispute under another webhook id
            raise
        return ProviderEventRecorded(duplicate=False, event_id=event.id)


def body_bytes(event: Mapping[str, Any]) -> bytes:
    """The body of an API Gateway proxy event as sent (base64 bodies decoded)."""
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        return base64.b64decode(body)
    return str(body).encode("utf-8")


class DeliveryQueue:
    """The delivery queue (SQS only): enqueue deliveries, and push a failed one's next attempt into the future."""

    MAX_VISIBILITY_SECONDS: ClassVar[int] = 12 * 3600  # SQS's ceiling for ChangeMessageVisibility

    def __init__(self, queue_url: str, *, client: Any | None = None) -> None:
        self.queue_url = queue_url
        self._client = client

    @property
    def client(self) -> Any:
        return self._client or aws.sqs()

    def send(self, messages: Sequence[DeliveryMessage]) -> None:
        for start in range(0, len(messages), 10):
            chunk = messages[start : start + 10]
            entries = [{"Id": str(i), "MessageBody": m.model_dump_json(by_alias=True)} for i, m in enumerate(chunk)]
            result = self.client.send_message_batch(QueueUrl=self.queue_url, Entries=entries)
            if result.get("Failed"):
                codes = sorted({f.get("Code", "?") for f in result["Failed"]})
                raise DeliveryEnqueueFailed(f"{len(result['Failed'])} delivery message(s) were not enqueued: {codes}")

    def retry_in(self, receipt_handle: str, seconds: int) -> None:
        self.client.change_message_visibility(
            QueueUrl=self.queue_url,
            ReceiptHandle=receipt_handle,
            VisibilityTimeout=max(0, min(seconds, self.MAX_VISIBILITY_SECONDS)),
        )


class DeliveryEnqueueFailed(MarqueeError):
    """SQS refused some messages of a batch: the caller fails, and its own retry enqueues them again."""

    slug = "webhook-enqueue-failed"
    title = "Webhook delivery could not be enqueued"
