"""Internal entry points: one function asks another for data with a direct Lambda invoke (RequestResponse).

The owning function keeps its data (the catalog its table, the queries function its read models) and answers small,
named operations next to its API routes. Its handler dispatches on the event's shape: API Gateway never sends the
``marqueeInternal`` key, and only roles granted ``lambda:InvokeFunction`` on the function can send it at all (the
aggregator's, infra/constructs/overview.py). The caller's identity travels as the verified claims the caller itself
received from API Gateway's authorizer (tenant, subject, groups), so the owner applies the same tenant rules as on its
API; the request id travels too, so the owner's log lines carry the id the client sent or was given.

Request:  ``{"marqueeInternal": {"op": "availability", "v": 1}, "caller": {...}, "params": {...}, "requestId": "..."}``
Answer:   ``{"ok": true, "value": ...}`` or ``{"ok": false, "status": 404, "slug": "not-found", "detail": "..."}``
A domain error (``MarqueeError``) is an answer with ``ok`` false; anything else is a function error, as any bug is.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from marquee.core import aws
from marquee.core.errors import MarqueeError
from marquee.core.logs import Logger
from marquee.tenancy.tenant import TenantContext

logger = Logger(child=True)  # masked: logs through the function's Logger (marquee.core.logs)

MARKER = "marqueeInternal"
VERSION = 1


class Caller(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    tenant_id: str = Field(alias="tenantId")
    user_id: str = Field(alias="userId")
    username: str | None = None
    groups: list[str] = Field(default_factory=list)

    @classmethod
    def of(cls, tenant: TenantContext) -> Caller:
        return cls(
            tenantId=tenant.tenant_id, userId=tenant.user_id, username=tenant.username, groups=sorted(tenant.groups)
        )

    def tenant(self) -> TenantContext:
        return TenantContext(
            tenant_id=self.tenant_id, user_id=self.user_id, username=self.username, groups=frozenset(self.groups)
        )


class Operation(BaseModel):
    model_config = ConfigDict(extra="forbid")

    op: str = Field(min_length=1, max_length=64)
    v: int = VERSION


class InternalRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    marquee_internal: Operation = Field(alias="marqueeInternal")
    caller: Caller
    params: dict[str, Any] = Field(default_factory=dict)
    request_id: str | None = Field(default=None, alias="requestId", max_length=200)


Handler = Callable[[TenantContext, Mapping[str, Any]], Any]


class InternalRouter:
    """The owner's side: named operations, each ``(tenant, params) -> a JSON-able value or a pydantic model``.

    With ``chaos_service``, each request first sleeps for the ``chaos_latency_ms`` flag's value for that service and
    the caller (marquee.resilience.chaos): the fault injection of drills and tests. Only functions given the flags."""

    def __init__(self, *, chaos_service: str | None = None) -> None:
        self._ops: dict[str, Handler] = {}
        self.chaos_service = chaos_service

    def op(self, name: str) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self._ops[name] = handler
            return handler

        return register

    @staticmethod
    def owns(event: Any) -> bool:
        return isinstance(event, Mapping) and MARKER in event

    def resolve(self, event: Mapping[str, Any]) -> dict[str, Any]:
        try:
            request = InternalRequest.model_validate(event)
            tenant = request.caller.tenant()
        except ValidationError:
            return _refusal(HTTPStatus.BAD_REQUEST, "bad-internal-request", "The internal request is malformed.")
        handler = self._ops.get(request.marquee_internal.op)
        if handler is None or request.marquee_internal.v != VERSION:
            return _refusal(HTTPStatus.NOT_FOUND, "unknown-operation", f"No operation {request.marquee_internal.op}.")
        logger.info("internal request", extra={"op": request.marquee_internal.op, "request_id": request.request_id})
        if self.chaos_service is not None:
            from marquee.resilience.chaos import inject_latency  # the flags, only in functions that have them

            inject_latency(self.chaos_service, tenant)
        try:
            value = handler(tenant, request.params)
        except MarqueeError as exc:
            return _refusal(exc.status, exc.slug, exc.detail)
        if isinstance(value, BaseModel):
            value = value.model_dump(mode="json", by_alias=True)
        return {"ok": True, "value": value}


def _refusal(status: int, slug: str, detail: str) -> dict[str, Any]:
    return {"ok": False, "status": int(status), "slug": slug, "detail": detail}


# ---- the caller's side ---------------------------------------------------------------------------------------------
class BackendError(Exception):
    """The backend did not answer with a value: a function error, a throttle, a malformed answer, a network error."""


class BackendRefused(Exception):
    """The backend answered with a domain error (``ok`` false): not a failure of the backend."""

    def __init__(self, status: int, slug: str, detail: str) -> None:
        super().__init__(f"{status} {slug}: {detail}")
        self.status, self.slug, self.detail = status, slug, detail


@dataclass(frozen=True)
class LambdaBackend:
    """Invoke ``function_name``'s operation ``op`` synchronously, with a client whose connect and read timeouts are
    ``timeout_ms`` and that never retries (the aggregator's deadline and breaker decide what happens next)."""

    function_name: str
    op: str
    timeout_ms: int

    def __call__(self, tenant: TenantContext, params: Mapping[str, Any], *, request_id: str | None) -> Any:
        payload = {
            MARKER: {"op": self.op, "v": VERSION},
            "caller": Caller.of(tenant).model_dump(by_alias=True),
            "params": dict(params),
            "requestId": request_id,
        }
        try:
            response = aws.probe_client("lambda", self.timeout_ms).invoke(
                FunctionName=self.function_name, InvocationType="RequestResponse", Payload=json.dumps(payload).encode()
            )
            body = response["Payload"].read()
        except Exception as exc:  # noqa: BLE001 - botocore's errors (read timeout, throttling, ...) are all failures
            raise BackendError(f"{self.function_name}: {type(exc).__name__}") from exc
        if response.get("FunctionError"):
            raise BackendError(f"{self.function_name}: function error {response['FunctionError']}")
        try:
            answer = json.loads(body)
        except ValueError as exc:
            raise BackendError(f"{self.function_name}: the answer is not JSON") from exc
        if not isinstance(answer, dict) or "ok" not in answer:
            raise BackendError(f"{self.function_name}: the answer is not an internal answer")
        if not answer["ok"]:
            raise BackendRefused(int(answer.get("status", 500)), str(answer.get("slug")), str(answer.get("detail")))
        return answer.get("value")
