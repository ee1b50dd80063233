"""Cross-service integrity (design question 8): the reconciler function and its schedule.

- An EventBridge schedule (default bus) invokes it every ``INTEGRITY_SCHEDULE_MINUTES``; ``marquee invoke`` or a
  Lambda Invoke runs it on demand (the event may narrow the grace period: ``{"graceSeconds": 0}``).
- It reads the main table (one filtered Scan) and both providers' ledgers, and settles unknown charge outcomes through
  ``marquee.payments`` (``grant_charging``: payments, their outbox events, breakers, provider secrets). Its reports go to
  the ops table, which ``grant_charging`` already covers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra import constants
from infra.constructs.function import PythonFunction


class Integrity(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        layer: lambda_.ILayerVersion,
        target: str,
        payments_environment: Mapping[str, str],
        grant_payments: Callable[[iam.IGrantable], None],
    ) -> None:
        super().__init__(scope, construct_id)
        self.reconciler = PythonFunction(
            self,
            "Reconciler",
            name="integrity",
            description="Integrity reconciler: orders, seats, payments and provider ledgers compared; drift reported",
            layer=layer,
            target=target,
            memory_size=512,
            timeout=Duration.minutes(5),
            environment={
                **payments_environment,
                "INTEGRITY_GRACE_SECONDS": constants.INTEGRITY_GRACE_SECONDS_BY_TARGET[target],
            },
        )
        grant_payments(self.reconciler.role)
        self.schedule = events.Rule(
            self,
            "Schedule",
            description="Run the integrity reconciler",
            schedule=events.Schedule.rate(Duration.minutes(constants.INTEGRITY_SCHEDULE_MINUTES)),
            targets=[targets.LambdaFunction(self.reconciler.function, retry_attempts=0)],
        )
