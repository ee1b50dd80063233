"""Access-audit API (``handler.api``), compliance officers only (the Cognito group ``compliance``):
- GET /audit/access?customer=...: who read that customer's personal data, when, from where, which fields (paginated);
- GET/PUT /settings/security: the tenant's security contact, time zone, working hours and read threshold.
"""

# No `from __future__ import annotations` here: Powertools reads the route annotations at run time.
from typing import Annotated

from aws_lambda_powertools import Metrics, Tracer
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from marquee.audit.rules import AccessState, SecuritySettings
from marquee.audit.trail import TrailBucket
from marquee.core.env import load_env
from marquee.core.logs import Logger
from marquee.http import ApiResolver
from marquee.tenancy.tenant import current_tenant

from . import logic
from .models import AccessPage, AuditEnv, SecuritySettingsResponse

env = load_env(AuditEnv)
logger = Logger()
tracer = Tracer()
metrics = Metrics()
app = ApiResolver()
trail = TrailBucket(env.trail_bucket_name)
state = AccessState(env.audit_table_name)

CustomerQuery = Annotated[str, Query(alias="customer", pattern=r"^[A-Za-z0-9_-]{1,128}$")]
Limit = Annotated[int, Query(ge=1, le=100)]
Cursor = Annotated[str | None, Query(min_length=1, max_length=80)]


@app.get("/audit/access")
@tracer.capture_method
def get_access(customer: CustomerQuery, limit: Limit = 50, cursor: Cursor = None) -> AccessPage:
    return logic.access_page(customer, limit=limit, cursor=cursor, tenant=current_tenant(app), trail=trail)


@app.get("/settings/security")
@tracer.capture_method
def get_security_settings() -> SecuritySettingsResponse:
    return logic.get_settings(tenant=current_tenant(app), state=state)


@app.put("/settings/security")
@tracer.capture_method
def put_security_settings(body: SecuritySettings) -> SecuritySettingsResponse:
    return logic.put_settings(body, tenant=current_tenant(app), state=state)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
