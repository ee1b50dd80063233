"""The data access of the webhook capability (DynamoDB only): endpoints, deliveries, inbound provider events.

Inbound replays are dropped with a conditional put in the inbox table (pk ``webhooks-inbound#{id}``), in the same
transaction as the record."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from botocore.exceptions import ClientError

from marquee.dynamo.conditions import CONDITION_FAILED, ITEM_IS_NEW, TRANSACTION_CANCELED, error_code
from marquee.dynamo.items import from_item, plain, to_attributes
from marquee.dynamo.store import TableStore
from marquee.dynamo.transactions import cancellation_reasons
from marquee.messaging.events import Envelope, envelope
from marquee.messaging.inbox import inbox_put, seen_before
from marquee.messaging.outbox import outbox_put
from marquee.tenancy.tenant import tenant_key
from marquee.webhooks.errors import (
    DeliveryNotFound,
    EndpointDisabledError,
    EndpointNotFound,
    PaymentNotFound,
    RotationConflict,
)
from marquee.webhooks.events import EndpointDisabled
from marquee.webhooks.models import (
    Attempt,
    Delivery,
    DeliveryStatus,
    Endpoint,
    EndpointStatus,
    ProviderEventRecorded,
    now_iso,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
else:
    DynamoDBClient = Any

DELIVERY_TTL_SECONDS = 30 * 24 * 3600
INBOX_TTL_SECONDS = 24 * 3600  # longer than the 5-minute window: a replay past TTL is refused by its timestamp
INBOX_CONSUMER = "webhooks-inbound"


def endpoint_key(tenant_id: str, endpoint_id: str) -> dict[str, dict[str, str]]:
    return {"pk": {"S": tenant_key(tenant_id, "WEBHOOKS")}, "sk": {"S": f"ENDPOINT#{endpoint_id}"}}


def delivery_key(tenant_id: str, endpoint_id: str, delivery: str) -> dict[str, dict[str, str]]:
    return {"pk": {"S": tenant_key(tenant_id, "WEBHOOK", endpoint_id)}, "sk": {"S": f"DELIVERY#{delivery}"}}


def payment_key(tenant_id: str, payment_id: str) -> dict[str, dict[str, str]]:
    return {"pk": {"S": tenant_key(tenant_id, "PAYMENT", payment_id)}, "sk": {"S": "META"}}


class WebhookStore(TableStore):
    """The data access of the webhook capability: endpoints, deliveries, inbound provider events (DynamoDB only)."""

    ENDPOINT_IS_ACTIVE: ClassVar[str] = "attribute_exists(pk) AND endpoint_status = :active"

    def __init__(self, table_name: str, *, inbox_table_name: str | None = None, client: DynamoDBClient | None = None):
        super().__init__(table_name, client)
        self.inbox_table_name = inbox_table_name

    # -- endpoints
    def put_endpoint(self, endpoint: Endpoint) -> None:
        attributes = to_attributes(endpoint.model_dump(mode="json"), skip_none=True)
        item = {**endpoint_key(endpoint.tenant_id, endpoint.endpoint_id), **attributes}
        item["entity"] = {"S": "WEBHOOK_ENDPOINT"}
        self.client.put_item(TableName=self.table_name, Item=item, ConditionExpression=ITEM_IS_NEW)

    def get_endpoint(self, tenant_id: str, endpoint_id: str) -> Endpoint:
        item = self.client.get_item(
            TableName=self.table_name, Key=endpoint_key(tenant_id, endpoint_id), ConsistentRead=True
        ).get("Item")
        if not item:
            raise EndpointNotFound(f"No webhook endpoint {endpoint_id!r} in this tenant.")
        return Endpoint.model_validate(plain(from_item(item)))

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
            endpoints.extend(Endpoint.model_validate(plain(from_item(i))) for i in page.get("Items", []))
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
            if error_code(exc) == CONDITION_FAILED:
                raise EndpointNotFound(f"No webhook endpoint {endpoint_id!r} in this tenant.") from exc
            raise
        return Endpoint.model_validate(plain(from_item(old["Attributes"])))

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
            if error_code(exc) != CONDITION_FAILED:
                raise
            old = exc.response.get("Item")
            if not old:
                raise EndpointNotFound(f"No webhook endpoint {endpoint_id!r} in this tenant.") from exc
            raise EndpointDisabledError(f"The webhook endpoint {endpoint_id!r} is disabled.") from exc
        return Endpoint.model_validate(plain(from_item(result["Attributes"])))

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
            if error_code(exc) != CONDITION_FAILED:
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
            if error_code(exc) == CONDITION_FAILED:
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
            if error_code(exc) == TRANSACTION_CANCELED:
                return False  # a racing failure disabled it first (one event only)
            raise
        return True

    # -- deliveries
    def create_delivery(self, delivery: Delivery, *, now: float) -> Delivery | None:
        """Write a new PENDING delivery. If it exists (a re-run fan-out), return it only while still PENDING, so that
        the caller enqueues it again; None means it is already being (or was) delivered."""
        item = {
            **delivery_key(delivery.tenant_id, delivery.endpoint_id, delivery.delivery_id),
            **to_attributes(delivery.model_dump(mode="json"), skip_none=True),
            "expires_at": {"N": str(int(now + DELIVERY_TTL_SECONDS))},
            "entity": {"S": "WEBHOOK_DELIVERY"},
        }
        try:
            self.client.put_item(
                TableName=self.table_name,
                Item=item,
                ConditionExpression=ITEM_IS_NEW,
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as exc:
            if error_code(exc) != CONDITION_FAILED:
                raise
            existing = Delivery.model_validate(plain(from_item(exc.response.get("Item") or item)))
            return existing if existing.delivery_status is DeliveryStatus.PENDING else None
        return delivery

    def get_delivery(self, tenant_id: str, endpoint_id: str, delivery: str) -> Delivery:
        item = self.client.get_item(
            TableName=self.table_name, Key=delivery_key(tenant_id, endpoint_id, delivery), ConsistentRead=True
        ).get("Item")
        if not item:
            raise DeliveryNotFound(f"No delivery {delivery!r} for this endpoint.")
        return Delivery.model_validate(plain(from_item(item)))

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
        return [Delivery.model_validate(plain(from_item(i))) for i in page.get("Items", [])]

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
            ":attempt": {"L": [{"M": to_attributes(attempt.model_dump(mode="json"), skip_none=True)}]},
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
            if error_code(exc) == CONDITION_FAILED:
                raise DeliveryNotFound(f"No delivery {delivery!r} for this endpoint.") from exc
            raise
        return Delivery.model_validate(plain(from_item(result["Attributes"])))

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
            inbox_put(self.inbox_table_name, INBOX_CONSUMER, webhook_id, expires_at=int(now + INBOX_TTL_SECONDS)),
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
                        **to_attributes({**record, "event_id": event.id, "webhook_id": webhook_id}, skip_none=True),
                        "recorded_at": {"S": now_iso(now)},
                        "entity": {"S": f"PAYMENT_{kind}"},
                    },
                    "ConditionExpression": ITEM_IS_NEW,
                }
            },
            outbox_put(self.table_name, event, now=now),
        ]
        try:
            self.client.transact_write_items(TransactItems=items)
        except ClientError as exc:
            if error_code(exc) != TRANSACTION_CANCELED:
                raise
            if seen_before(exc):  # the inbox entry (item 0): a replay
                return ProviderEventRecorded(duplicate=True)
            reasons = [r.get("Code", "None") for r in cancellation_reasons(exc)]
            if len(reasons) > 1 and reasons[1] == "ConditionalCheckFailed":
                raise PaymentNotFound(f"No payment {payment_id!r} in tenant {tenant_id!r}.") from exc
            if len(reasons) > 2 and reasons[2] == "ConditionalCheckFailed":
                return ProviderEventRecorded(duplicate=True)  # the same refund/dispute under another webhook id
            raise
        return ProviderEventRecorded(duplicate=False, event_id=event.id)
