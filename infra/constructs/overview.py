"""The API aggregator (challenge 17) and real-time recommendations (design question 5).

- **Recommendations** (functions/recommendations), in the cache's VPC: the target of a rule on OrderConfirmed,
  ShowtimeScheduled and the movie events, which it turns into Valkey signals (idempotent by event id; Lambda retries an
  async invoke twice, then the on-failure queue); and the ``recommend`` operation the aggregator invokes.
- **The aggregator** (functions/overview), in the cache's VPC (it caches sections and is rate-limited):
  ``GET /showtimes/{showtimeId}/overview``. It invokes the catalog, the queries function and recommendations directly
  (RequestResponse) and may invoke nothing else: ``lambda:InvokeFunction`` on those three functions only. Each section's
  timeout is a constant here; the function's own timeout leaves room for the slowest section and a cold start.
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra import constants
from infra.constructs.api import Api
from infra.constructs.bus_target import async_rule_target
from infra.constructs.cache import Cache
from infra.constructs.feature_flags import FeatureFlags
from infra.constructs.function import PythonFunction


class Overview(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        api: Api,
        layer: lambda_.ILayerVersion,
        target: str,
        cache: Cache,
        flags: FeatureFlags,
        event_bus: events.IEventBus,
        catalog: PythonFunction,
        queries: PythonFunction,
    ) -> None:
        super().__init__(scope, construct_id)

        # ---- recommendations: the event stream -> Valkey; answers the aggregator ----------------------------------
        self.recommendations = PythonFunction(
            self,
            "Recommendations",
            name="recommendations",
            description="Recommendations: orders, showtimes and movies -> Valkey signals; popular now and because you "
            "watched, for the aggregator",
            layer=layer,
            target=target,
            memory_size=256,
            timeout=Duration.seconds(10),
            environment={},
        )
        cache.place(self.recommendations, flags=flags)  # flags: the chaos hook only
        self.failures = async_rule_target(
            self,
            function=self.recommendations,
            event_bus=event_bus,
            rule_id="RecommendationSignals",
            failures_id="RecommendationsFailures",
            description="Orders, showtimes and movies -> the recommendations function's signals in Valkey",
            detail_types=constants.RECOMMENDATION_EVENT_TYPES,
        )

        # ---- the aggregator -----------------------------------------------------------------------------------------
        timeouts = constants.OVERVIEW_SECTION_TIMEOUTS_MS
        self.aggregator = PythonFunction(
            self,
            "Aggregator",
            name="overview",
            description="GET /showtimes/{id}/overview: catalog, availability, recommendations and my orders at once",
            layer=layer,
            target=target,
            memory_size=512,
            timeout=Duration.seconds(
                -(-max(timeouts.values()) // 1000) + 5
            ),  # the slowest section, a cold start, the answer
            environment={
                "CATALOG_FUNCTION": catalog.function.function_name,
                "QUERIES_FUNCTION": queries.function.function_name,
                "RECOMMENDATIONS_FUNCTION": self.recommendations.function.function_name,
                "CATALOG_TIMEOUT_MS": str(timeouts["catalog"]),
                "AVAILABILITY_TIMEOUT_MS": str(timeouts["availability"]),
                "ORDERS_TIMEOUT_MS": str(timeouts["myOrders"]),
                "RECOMMENDATIONS_TIMEOUT_MS": str(timeouts["recommendations"]),
            },
        )
        cache.place(self.aggregator, flags=flags)  # flags: the rate-limit plans
        self.aggregator.role.add_to_principal_policy(  # unqualified ARNs only (grant_invoke adds "ARN:*")
            iam.PolicyStatement(
                actions=["lambda:InvokeFunction"],
                resources=[
                    catalog.function.function_arn,
                    queries.function.function_arn,
                    self.recommendations.function.function_arn,
                ],
            )
        )
        api.add_route("GET", "/showtimes/{showtimeId}/overview", self.aggregator.function)
