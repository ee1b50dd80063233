"""POST /payments and GET /payments/{id}: parse strictly, then charge exactly once. Knows nothing of API Gateway.

Idempotency follows the IETF Idempotency-Key draft, on Powertools' idempotency utility (DynamoDB persistence):
- the key is scoped by tenant and client: ``event_key_jmespath = [tenant, client, key]``;
- the payload is fingerprinted (``payload_validation_jmespath = payload``): the same key with another payload is 422;
- a second request while the first is in flight is 409 (the in-progress record, bounded by the Lambda's remaining
  time, registered through ``config.register_lambda_context``);
- a completed request is replayed from the record (24 h), marked by the ``response_hook``;
- a failed request (exception) deletes its record, so a retry runs again, and ``marquee.payments.charge`` (idempotent on
  the same key in its own right) returns what the first attempt settled.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyInconsistentStateError,
    IdempotencyKeyError,
    IdempotencyValidationError,
)
from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord
from pydantic import ValidationError

from marquee import payments
from marquee.core import aws
from marquee.core.errors import PayloadTooLarge
from marquee.payments import (
    ChargeRequest,
    IdempotencyKeyInFlight,
    IdempotencyKeyReused,
    InvalidIdempotencyKey,
)
from marquee.payments.config import PaymentsDeps
from marquee.tenancy.tenant import TenantContext

from .models import (
    MAX_BODY_BYTES,
    MAX_IDEMPOTENCY_KEY_LENGTH,
    DuplicateJsonKey,
    MalformedJson,
    PaymentRequest,
    PaymentResponse,
)

STAFF_GROUP = "staff"


@dataclass(frozen=True)
class PaymentOutcome:
    status: int
    body: dict[str, Any]
    replayed: bool = False


# ---- parsing -------------------------------------------------------------------------------------------------------------
def idempotency_key(value: str | None) -> str:
    if value is None:
        raise InvalidIdempotencyKey("The Idempotency-Key header is required for POST /payments.")
    if not value.strip():
        raise InvalidIdempotencyKey("The Idempotency-Key header is empty.")
    if len(value) > MAX_IDEMPOTENCY_KEY_LENGTH:
        raise InvalidIdempotencyKey(
            f"The Idempotency-Key header is longer than {MAX_IDEMPOTENCY_KEY_LENGTH} characters."
        )
    return value


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise DuplicateJsonKey(f"The JSON body has the key {key!r} more than once.")
        seen[key] = value
    return seen


def parse_body(raw: str | None, *, base64_encoded: bool = False) -> dict[str, Any]:
    """The JSON object of the body: 413 above 256 KB, 400 if malformed or with a duplicate key."""
    text = raw or ""
    if not text:
        # As on every route with a body model: a missing body is a 422 naming it, not a JSON error.
        raise RequestValidationError([{"loc": ("body",), "type": "missing", "msg": "Field required"}])
    data = text.encode()
    if base64_encoded:
        try:
            data = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise MalformedJson("The request body is not valid base64.") from exc
    if len(data) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"The request body is {len(data)} bytes; the limit is {MAX_BODY_BYTES}.")
    try:
        document = json.loads(data, object_pairs_hook=_no_duplicate_keys)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise MalformedJson("The request body is not valid JSON.") from exc
    if not isinstance(document, dict):
        raise MalformedJson("The request body must be a JSON object.")
    return document


def payment_request(document: dict[str, Any]) -> PaymentRequest:
    """Strict validation; a pydantic ``ValidationError`` becomes the shared 422 problem (marquee.http.problem)."""
    try:
        return PaymentRequest.model_validate(document)
    except ValidationError as exc:
        # Only loc/type/msg reach the caller (never the input: it may hold a card number).
        errors = [{"loc": ("body", *e["loc"]), "type": e["type"], "msg": e["msg"]} for e in exc.errors()]
        raise RequestValidationError(errors) from exc


# ---- idempotent charge -----------------------------------------------------------------------------------------------------
def idempotency_config(ttl_seconds: int) -> IdempotencyConfig:
    return IdempotencyConfig(
        event_key_jmespath="[tenant, client, key]",
        payload_validation_jmespath="payload",
        raise_on_no_idempotency_key=True,
        expires_after_seconds=ttl_seconds,
        response_hook=_mark_replayed,
    )


def _mark_replayed(response: Any, idempotent_data: DataRecord) -> Any:
    return {**response, "replayed": True}


def _charge_once(request: dict[str, Any], deps: PaymentsDeps | None = None) -> dict[str, Any]:
    body = PaymentRequest.model_validate(request["payload"])
    result = payments.charge(
        request["tenant"],
        request["client"],
        request["key"],
        ChargeRequest(amount=body.amount, card=body.card, order_id=body.order_id),
        deps=deps,
    )
    return {
        "status": int(HTTPStatus.CREATED),
        "body": PaymentResponse.of(result).model_dump(mode="json", by_alias=True),
    }


@cache
def idempotent_charge(table_name: str, config: IdempotencyConfig) -> Callable[..., dict[str, Any]]:
    """``_charge_once`` behind Powertools idempotency; built on first use (no client at import time)."""
    persistence = DynamoDBPersistenceLayer(table_name=table_name, boto3_client=aws.dynamodb())
    wrapped: Callable[..., dict[str, Any]] = idempotent_function(
        data_keyword_argument="request", persistence_store=persistence, config=config
    )(_charge_once)
    return wrapped


def create_payment(
    caller: TenantContext,
    key: str,
    document: dict[str, Any],
    *,
    table_name: str,
    config: IdempotencyConfig,
    deps: PaymentsDeps | None = None,
) -> PaymentOutcome:
    """``deps``: the payments dependencies for this caller (its store confined to the caller's tenant).

    ``document`` has passed ``payment_request`` already: the handler validates it before the tenant's session or the
    key is touched, so it is not validated twice on the hot path."""
    request = {"tenant": caller.tenant_id, "client": caller.user_id, "key": key, "payload": document}
    try:
        stored = idempotent_charge(table_name, config)(request=request, deps=deps)
    except IdempotencyValidationError as exc:
        raise IdempotencyKeyReused(
            "This Idempotency-Key was first used with a different request body; use a new key for a new payment."
        ) from exc
    except (IdempotencyAlreadyInProgressError, IdempotencyInconsistentStateError) as exc:
        raise IdempotencyKeyInFlight("The first request with this Idempotency-Key is still in progress.") from exc
    except IdempotencyKeyError as exc:
        raise InvalidIdempotencyKey("The Idempotency-Key could not be read.") from exc
    return PaymentOutcome(status=stored["status"], body=stored["body"], replayed=bool(stored.get("replayed")))


def read_payment(caller: TenantContext, payment_id: str, deps: PaymentsDeps | None = None) -> PaymentResponse:
    owner = None if caller.in_group(STAFF_GROUP) else caller.user_id
    return PaymentResponse.of(payments.get_payment(caller.tenant_id, owner, payment_id, deps=deps))
