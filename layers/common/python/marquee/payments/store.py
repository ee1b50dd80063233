"""Payments data access (the main table). The only module of the package that touches DynamoDB.

Items (docs/booking-data-model.md):
- payment ``pk = TENANT#t#PAYMENT#{paymentId}``, ``sk = META``: status CAPTURED/DECLINED/REFUNDED, amount, provider,
  providerChargeId, orderId, refundId, clientId, cardLast4 (never the card), createdAt.
- charge attempt ``pk = TENANT#t#PAYMENT#{paymentId}``, ``sk = ATTEMPT``: who is charging now (owner + lease), and which
  provider was asked (``provider``, ``ambiguous``). It exists only while a charge is unsettled, and is deleted in the
  same transaction that writes the payment. A charge whose outcome is unknown leaves it ``ambiguous``, which pins the
  payment to that provider: a retry asks it again with the same key, and never charges elsewhere. It also carries what
  the charge was for (``clientId``, ``orderId``, ``amount``, ``cardLast4``), so that a charge whose caller gave up can
  still be settled by asking the provider later (``marquee.payments.settle_unknown``, the integrity reconciler).
Payment and outbox event are written in ONE TransactWriteItems.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from marquee.core.money import Money
from marquee.dynamo.conditions import CONDITION_FAILED, TRANSACTION_CANCELED, error_code
from marquee.dynamo.store import TableStore
from marquee.messaging.events import Envelope
from marquee.messaging.outbox import outbox_put
from marquee.payments.errors import PaymentInFlight
from marquee.payments.models import PaymentResult, PaymentStatus, ProviderName, RefundResult
from marquee.tenancy.tenant import tenant_key

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
else:
    DynamoDBClient = Any

META = "META"
ATTEMPT = "ATTEMPT"
ATTEMPT_TTL_SECONDS = 7 * 24 * 3600

# Named conditions.
PAYMENT_IS_NEW = "attribute_not_exists(pk)"
ATTEMPT_IS_FREE = "attribute_not_exists(pk) OR lease_until_ms < :now"
ATTEMPT_IS_MINE = "#owner = :me"
PAYMENT_IS_CAPTURED = "#status = :captured"


@dataclass(frozen=True)
class StoredPayment:
    payment_id: str
    tenant_id: str
    client_id: str
    status: PaymentStatus
    amount: Money
    provider: ProviderName
    provider_charge_id: str | None
    order_id: str | None
    card_last4: str
    created_at: datetime
    decline_reason: str | None = None
    refund_id: str | None = None
    provider_refund_id: str | None = None
    refunded_at: datetime | None = None

    def as_result(self) -> PaymentResult:
        return PaymentResult(
            payment_id=self.payment_id,
            status=self.status,
            amount=self.amount,
            provider=self.provider,
            provider_charge_id=self.provider_charge_id or "",
            order_id=self.order_id,
            card_last4=self.card_last4,
            created_at=self.created_at,
        )

    def as_refund(self) -> RefundResult:
        return RefundResult(
            payment_id=self.payment_id,
            refund_id=self.refund_id or "",
            status=self.status,
            amount=self.amount,
            provider=self.provider,
            provider_refund_id=self.provider_refund_id or "",
            refunded_at=self.refunded_at or self.created_at,
        )


@dataclass(frozen=True)
class ChargeDetails:
    """What a charge attempt is for, stored on it (never the card: its last four digits)."""

    client_id: str
    order_id: str | None
    amount: Money
    card_last4: str


@dataclass(frozen=True)
class Attempt:
    provider: ProviderName | None
    ambiguous: bool
    details: ChargeDetails | None = None
    lease_until_ms: int = 0
    claimed_at_s: int | None = None  # when it was last claimed (its TTL minus ATTEMPT_TTL_SECONDS)


def attempt_from_item(item: dict[str, Any]) -> Attempt:
    """An ``ATTEMPT`` item (as read, or as a scan returns it)."""
    provider = item.get("provider", {}).get("S")
    details = None
    if "clientId" in item and "amount" in item and "cardLast4" in item:
        amount = item["amount"]["M"]
        details = ChargeDetails(
            client_id=item["clientId"]["S"],
            order_id=item["orderId"]["S"] if "orderId" in item else None,
            amount=Money(amount=int(amount["amount"]["N"]), currency=amount["currency"]["S"]),
            card_last4=item["cardLast4"]["S"],
        )
    return Attempt(
        provider=ProviderName(provider) if provider else None,
        ambiguous=bool(item.get("ambiguous", {}).get("BOOL", False)),
        details=details,
        lease_until_ms=int(item.get("lease_until_ms", {}).get("N", "0")),
        claimed_at_s=int(item["expires_at"]["N"]) - ATTEMPT_TTL_SECONDS if "expires_at" in item else None,
    )


def _key(tenant_id: str, payment_id: str, sk: str) -> dict[str, dict[str, str]]:
    return {"pk": {"S": tenant_key(tenant_id, "PAYMENT", payment_id)}, "sk": {"S": sk}}


def _now_iso() -> str:
    return datetime.now(UTC).isoformat()


class PaymentStore(TableStore):
    # ---- reads ------------------------------------------------------------------------------------------------------
    def get(self, tenant_id: str, payment_id: str) -> StoredPayment | None:
        item = self.client.get_item(
            TableName=self.table_name, Key=_key(tenant_id, payment_id, META), ConsistentRead=True
        ).get("Item")
        return None if item is None else self._payment(tenant_id, payment_id, item)

    @staticmethod
    def _payment(tenant_id: str, payment_id: str, item: dict[str, Any]) -> StoredPayment:
        def s(name: str) -> str | None:
            return item[name]["S"] if name in item else None

        amount = item["amount"]["M"]
        refunded_at = s("refundedAt")
        return StoredPayment(
            payment_id=payment_id,
            tenant_id=tenant_id,
            client_id=item["clientId"]["S"],
            status=PaymentStatus(item["status"]["S"]),
            amount=Money(amount=int(amount["amount"]["N"]), currency=amount["currency"]["S"]),
            provider=ProviderName(item["provider"]["S"]),
            provider_charge_id=s("providerChargeId"),
            order_id=s("orderId"),
            card_last4=item["cardLast4"]["S"],
            created_at=datetime.fromisoformat(item["createdAt"]["S"]),
            decline_reason=s("declineReason"),
            refund_id=s("refundId"),
            provider_refund_id=s("providerRefundId"),
            refunded_at=datetime.fromisoformat(refunded_at) if refunded_at else None,
        )

    # ---- the charge attempt (lease + provider pin) --------------------------------------------------------------------
    def claim_attempt(
        self, tenant_id: str, payment_id: str, owner: str, lease_ms: int, details: ChargeDetails | None = None
    ) -> Attempt:
        """Become the one caller charging this payment, or ``PaymentInFlight``. Returns the provider pin, if any.
        ``details`` (what is being charged) are recorded on the attempt; a settling caller passes none."""
        now_ms = int(time.time() * 1000)
        expression = "SET #owner = :me, lease_until_ms = :until, expires_at = :ttl"
        values: dict[str, Any] = {
            ":me": {"S": owner},
            ":until": {"N": str(now_ms + lease_ms)},
            ":now": {"N": str(now_ms)},
            ":ttl": {"N": str(now_ms // 1000 + ATTEMPT_TTL_SECONDS)},
        }
        if details is not None:
            expression += ", clientId = :client, amount = :amount, cardLast4 = :last4"
            values |= {
                ":client": {"S": details.client_id},
                ":amount": {
                    "M": {"amount": {"N": str(details.amount.amount)}, "currency": {"S": details.amount.currency}}
                },
                ":last4": {"S": details.card_last4},
            }
            if details.order_id is not None:
                expression += ", orderId = :order"
                values[":order"] = {"S": details.order_id}
        try:
            item = self.client.update_item(
                TableName=self.table_name,
                Key=_key(tenant_id, payment_id, ATTEMPT),
                UpdateExpression=expression,
                ConditionExpression=ATTEMPT_IS_FREE,
                ExpressionAttributeNames={"#owner": "owner"},
                ExpressionAttributeValues=values,
                ReturnValues="ALL_NEW",
            )["Attributes"]
        except ClientError as exc:
            if error_code(exc) == CONDITION_FAILED:
                raise PaymentInFlight(f"Payment {payment_id} is being charged by another request.") from exc
            raise
        return attempt_from_item(item)

    def pin_attempt(
        self, tenant_id: str, payment_id: str, owner: str, provider: ProviderName, *, ambiguous: bool
    ) -> None:
        """Record which provider is being asked. ``ambiguous`` = it may have charged (set BEFORE calling it)."""
        self._update_attempt(
            tenant_id,
            payment_id,
            owner,
            "SET provider = :provider, ambiguous = :ambiguous",
            {":provider": {"S": provider.value}, ":ambiguous": {"BOOL": ambiguous}},
        )

    def release_attempt(self, tenant_id: str, payment_id: str, owner: str) -> None:
        """Give up the lease (the pin stays), so that a retry can claim it at once."""
        try:
            self._update_attempt(tenant_id, payment_id, owner, "SET lease_until_ms = :zero", {":zero": {"N": "0"}})
        except ClientError as exc:
            if error_code(exc) != CONDITION_FAILED:  # settled (deleted) or taken over: nothing to release
                raise

    def _update_attempt(
        self, tenant_id: str, payment_id: str, owner: str, expression: str, values: dict[str, Any]
    ) -> None:
        self.client.update_item(
            TableName=self.table_name,
            Key=_key(tenant_id, payment_id, ATTEMPT),
            UpdateExpression=expression,
            ConditionExpression=ATTEMPT_IS_MINE,
            ExpressionAttributeNames={"#owner": "owner"},
            ExpressionAttributeValues={":me": {"S": owner}, **values},
        )

    # ---- settling a charge: payment + outbox event + attempt deletion, one transaction ------------------------------------
    def settle(self, payment: StoredPayment, event: Envelope, owner: str) -> StoredPayment:
        item: dict[str, Any] = {
            **_key(payment.tenant_id, payment.payment_id, META),
            "status": {"S": payment.status.value},
            "amount": {"M": {"amount": {"N": str(payment.amount.amount)}, "currency": {"S": payment.amount.currency}}},
            "provider": {"S": payment.provider.value},
            "clientId": {"S": payment.client_id},
            "cardLast4": {"S": payment.card_last4},
            "createdAt": {"S": payment.created_at.isoformat()},
        }
        for name, value in (
            ("providerChargeId", payment.provider_charge_id),
            ("orderId", payment.order_id),
            ("declineReason", payment.decline_reason),
        ):
            if value is not None:
                item[name] = {"S": value}
        try:
            self.client.transact_write_items(
                TransactItems=[
                    {"Put": {"TableName": self.table_name, "Item": item, "ConditionExpression": PAYMENT_IS_NEW}},
                    outbox_put(self.table_name, event),  # type: ignore[list-item]  # a Put entry, built untyped
                    {
                        "Delete": {
                            "TableName": self.table_name,
                            "Key": _key(payment.tenant_id, payment.payment_id, ATTEMPT),
                            "ConditionExpression": ATTEMPT_IS_MINE,
                            "ExpressionAttributeNames": {"#owner": "owner"},
                            "ExpressionAttributeValues": {":me": {"S": owner}},
                        }
                    },
                ]
            )
        except ClientError as exc:
            if error_code(exc) != TRANSACTION_CANCELED:
                raise
            existing = self.get(payment.tenant_id, payment.payment_id)
            if existing is None:  # our lease was taken over before we could settle: let the caller retry
                raise PaymentInFlight(f"Payment {payment.payment_id} is being settled by another request.") from exc
            return existing
        return payment

    def mark_refunded(
        self, payment: StoredPayment, refund_id: str, provider_refund_id: str, event: Envelope
    ) -> StoredPayment:
        refunded_at = datetime.now(UTC)
        try:
            self.client.transact_write_items(
                TransactItems=[
                    {
                        "Update": {
                            "TableName": self.table_name,
                            "Key": _key(payment.tenant_id, payment.payment_id, META),
                            "UpdateExpression": "SET #status = :refunded, refundId = :refund, "
                            "providerRefundId = :provider_refund, refundedAt = :at",
                            "ConditionExpression": PAYMENT_IS_CAPTURED,
                            "ExpressionAttributeNames": {"#status": "status"},
                            "ExpressionAttributeValues": {
                                ":refunded": {"S": PaymentStatus.REFUNDED.value},
                                ":captured": {"S": PaymentStatus.CAPTURED.value},
                                ":refund": {"S": refund_id},
                                ":provider_refund": {"S": provider_refund_id},
                                ":at": {"S": refunded_at.isoformat()},
                            },
                        }
                    },
                    outbox_put(self.table_name, event),  # type: ignore[list-item]  # a Put entry, built untyped
                ]
            )
        except ClientError as exc:
            if error_code(exc) != TRANSACTION_CANCELED:
                raise
            current = self.get(payment.tenant_id, payment.payment_id)
            if current is None:
                raise
            return current
        return StoredPayment(
            **{
                **payment.__dict__,
                "status": PaymentStatus.REFUNDED,
                "refund_id": refund_id,
                "provider_refund_id": provider_refund_id,
                "refunded_at": refunded_at,
            }
        )
