"""POST /payments (Idempotency-Key, IETF draft) and GET /payments/{paymentId}."""

# No `from __future__ import annotations` here: Powertools reads the route annotations at run time.
import json
from dataclasses import replace

from aws_lambda_powertools import Metrics, Tracer
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from marquee.core.env import load_env
from marquee.core.logs import Logger
from marquee.http import ApiResolver, created_response, ok_response
from marquee.http.problem import PROBLEM_CONTENT_TYPE, problem_body
from marquee.payments import PaymentError
from marquee.payments.config import PaymentsDeps, default_deps
from marquee.payments.store import PaymentStore
from marquee.tenancy.tenant import TenantContext, current_tenant

from .logic import create_payment, idempotency_config, idempotency_key, parse_body, payment_request, read_payment
from .models import IDEMPOTENCY_KEY_HEADER, MAX_BODY_BYTES, REPLAYED_HEADER, PaymentResponse, PaymentsFunctionEnv

env = load_env(PaymentsFunctionEnv)
logger = Logger()
tracer = Tracer()
metrics = Metrics()
idempotency = idempotency_config(env.payments_idempotency_ttl_s)
app = ApiResolver(max_body_bytes=MAX_BODY_BYTES)


def deps_for(caller: TenantContext) -> PaymentsDeps:
    """The payments dependencies with the payment store confined to the caller's tenant (the tenant-access role)."""
    return replace(default_deps(), store=PaymentStore(env.table_name, client=env.dynamodb_for(caller)))


@app.exception_handler(PaymentError)
def _payment_problem(exc: PaymentError) -> Response[str]:
    """Payment errors, transient ones included (a 503 here is an expected state, not a bug): detail + Retry-After."""
    body = problem_body(
        status=exc.status, title=exc.title, detail=exc.detail, slug=exc.slug, instance=app.current_event.path
    )
    headers = {"Retry-After": str(getattr(exc, "retry_after_seconds", 1))} if exc.transient else {}
    return Response(
        status_code=int(exc.status), content_type=PROBLEM_CONTENT_TYPE, body=json.dumps(body), headers=headers
    )


@app.post(
    "/payments",
    responses={201: created_response(PaymentResponse), 200: ok_response(PaymentResponse, "A replay of a completed charge")},
)
@tracer.capture_method
def post_payment() -> Response[str]:
    event = app.current_event
    caller = current_tenant(app)
    document = parse_body(event.body, base64_encoded=bool(event.is_base64_encoded))
    key = idempotency_key(event.headers.get(IDEMPOTENCY_KEY_HEADER))
    payment_request(document)  # refused before the tenant's session or the key is touched
    outcome = create_payment(
        caller, key, document, table_name=env.idempotency_table_name, config=idempotency, deps=deps_for(caller)
    )
    headers = {REPLAYED_HEADER: "true"} if outcome.replayed else {}
    return Response(
        status_code=outcome.status, content_type="application/json", body=json.dumps(outcome.body), headers=headers
    )


@app.get("/payments/<paymentId>")
@tracer.capture_method
def get_payment(paymentId: str) -> PaymentResponse:  # noqa: N803 - the path parameter's name
    caller = current_tenant(app)
    return read_payment(caller, paymentId, deps_for(caller))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict, context: LambdaContext) -> dict:
    idempotency.register_lambda_context(context)
    return app.resolve(event, context)
