"""Outbox lag: from the commit of a state change (the envelope's occurredAt, stamped just before the transaction) to the
event's delivery by EventBridge to a target (the SQS SentTimestamp of the copy a bench rule delivers), p50 and p99.

The path measured is the real one: TransactWriteItems (entity + OUTBOX item) -> DynamoDB stream -> filtered event
source mapping -> the relay function -> PutEvents -> the rule -> the target.
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import datetime
from typing import Any

import requests

from devkit.seed import BookingApi
from localcloud.aws import local_client


def _percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))] if ordered else float("nan")


def outbox_lag(endpoint: str, outputs: dict[str, Any], *, holds: int = 40, timeout_s: float = 120) -> dict[str, Any]:
    sqs, events = local_client("sqs", endpoint), local_client("events", endpoint)
    run = uuid.uuid4().hex[:6]
    queue_url = sqs.create_queue(QueueName=f"bench-outbox-{run}")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    rule = f"bench-outbox-{run}"
    events.put_rule(
        Name=rule, EventBusName=outputs["EventBusName"], EventPattern=json.dumps({"detail-type": ["HoldCreated"]})
    )
    events.put_targets(Rule=rule, EventBusName=outputs["EventBusName"], Targets=[{"Id": "q", "Arn": queue_arn}])
    try:
        api = BookingApi(endpoint, outputs)
        tenant = f"bench-{run}"
        showtime = api.showtime(tenant, rows=5, per_row=10)
        token = api.token(tenant, "lag")
        url = f"{api.base}/showtimes/{showtime['showtimeId']}/holds"
        seats = [f"{row}{n}" for row in "ABCDE" for n in range(1, 11)][:holds]
        for seat in seats:
            response = requests.post(url, json={"seats": [seat]}, headers={"Authorization": token}, timeout=60)
            response.raise_for_status()
        lags: list[float] = []
        deadline = time.monotonic() + timeout_s
        while len(lags) < holds and time.monotonic() < deadline:
            batch = sqs.receive_message(
                QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1, AttributeNames=["SentTimestamp"]
            ).get("Messages", [])
            for message in batch:
                detail = json.loads(message["Body"])["detail"]
                envelope = json.loads(detail) if isinstance(detail, str) else detail
                committed = datetime.fromisoformat(envelope["occurredAt"].replace("Z", "+00:00")).timestamp() * 1000
                lags.append(int(message["Attributes"]["SentTimestamp"]) - committed)
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
        return {
            "events": holds,
            "delivered": len(lags),
            "p50_ms": round(_percentile(lags, 50), 1),
            "p99_ms": round(_percentile(lags, 99), 1),
        }
    finally:
        events.remove_targets(Rule=rule, EventBusName=outputs["EventBusName"], Ids=["q"])
        events.delete_rule(Name=rule, EventBusName=outputs["EventBusName"])
        sqs.delete_queue(QueueUrl=queue_url)
