"""A function as an EventBridge rule's target, invoked asynchronously, with one failures queue for both ends.

The pattern of the notifications router, the projections router and the cache invalidator: the rule's Lambda target
gets the queue as its dead-letter queue (the bus could not invoke), and the function's async invoke config sends an
event there after Lambda's two retries (the function failed), with the error's type and message in the record. One
queue, both failure paths, kept 14 days.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_lambda_destinations as destinations
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra import constants
from infra.constructs.function import PythonFunction
from infra.nag import Waiver, waive


def async_rule_target(
    scope: Construct,
    *,
    function: PythonFunction,
    event_bus: events.IEventBus,
    rule_id: str,
    failures_id: str,
    description: str,
    detail_types: Sequence[str],
) -> sqs.Queue:
    """Route ``detail_types`` from the outbox's source on ``event_bus`` to ``function``; returns the failures queue.
    The construct ids are the caller's, so that existing stacks keep their logical ids."""
    failures = sqs.Queue(
        scope,
        failures_id,
        retention_period=constants.DLQ_RETENTION,
        encryption=sqs.QueueEncryption.SQS_MANAGED,
        enforce_ssl=True,
        removal_policy=constants.REMOVAL_POLICY,
    )
    waive(
        failures,
        Waiver(
            "AwsSolutions-SQS3",
            f"This queue IS a dead-letter destination: {function.function.node.id}'s on-failure destination and the "
            "rule target's DLQ (SQS3 only recognises queues named in another queue's redrive policy).",
        ),
    )
    function.function.configure_async_invoke(on_failure=destinations.SqsDestination(failures), retry_attempts=2)
    events.Rule(
        scope,
        rule_id,
        event_bus=event_bus,
        description=description,
        event_pattern=events.EventPattern(source=[constants.OUTBOX_EVENT_SOURCE], detail_type=list(detail_types)),
        targets=[targets.LambdaFunction(function.function, dead_letter_queue=failures)],
    )
    return failures
