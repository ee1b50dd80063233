"""GET /me: the caller's tenant, user id, username and groups, from the authorizer's verified claims only."""

# No `from __future__ import annotations` here: Powertools reads the route annotations at run time.
from aws_lambda_powertools import Metrics, Tracer
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from marquee.core.env import load_env
from marquee.core.logs import Logger
from marquee.http import ApiResolver
from marquee.ratelimit import valkey_request_limiter
from marquee.tenancy.tenant import current_tenant

from .logic import describe_caller, features_for
from .models import FeaturesResponse, MeEnv, MeResponse

env = load_env(MeEnv)
logger = Logger()
tracer = Tracer()
metrics = Metrics()
# Rate-limited per tenant plan and user (GCRA in Valkey, docs/patterns/01-rate-limiting.md).
app = ApiResolver(rate_limit=valkey_request_limiter(env.cache_client))


@app.get("/me")
@tracer.capture_method
def get_me() -> MeResponse:
    return describe_caller(current_tenant(app))


@app.get("/me/features")
@tracer.capture_method
def get_my_features() -> FeaturesResponse:
    return features_for(current_tenant(app))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
