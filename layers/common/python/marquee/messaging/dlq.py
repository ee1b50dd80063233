"""Dead-letter queue operations: a queue's depth, and the redrive of its DLQ back to it. The notifications staff API
(functions/notifications) and the CLI (``marquee dlq redrive``, devkit/dlq.py) both use them.

Redrive uses SQS ``StartMessageMoveTask`` (AWS: FIFO DLQs included, asynchronous, the task reports its own counts).
Where that API does not exist (the local cloud: moto 5.2.5 does not implement it), it moves the messages itself:
receive from the DLQ, send to the source queue with the message's own group id and a fresh deduplication id (the
original id may still be inside SQS's 5-minute deduplication window, and the copy would be dropped), then delete from
the DLQ. A message is deleted only after its copy was accepted, so nothing is lost; a crash in between can duplicate
it, which the workers' delivery record absorbs.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

UNSUPPORTED_CODES = frozenset({"InvalidAction", "UnsupportedOperation", "NotImplemented", "InvalidParameterValue"})


@dataclass(frozen=True)
class RedriveResult:
    mode: str  # "StartMessageMoveTask" or "receive-send-delete"
    moved: int
    failed: int
    task_handle: str | None = None
    seconds: float = 0.0

    def as_json(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "moved": self.moved,
            "failed": self.failed,
            "taskHandle": self.task_handle,
            "seconds": round(self.seconds, 3),
        }


def unsupported(exc: ClientError) -> bool:
    """The endpoint does not implement the API, or failed on it. The local cloud answers moto's NotImplementedError as
    an HTTP 500; on AWS a 5xx is rare and transient. Moving the messages ourselves is correct in every case (slower)."""
    error = exc.response.get("Error", {})
    status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
    return (
        error.get("Code") in UNSUPPORTED_CODES
        or "implemented" in str(error.get("Message", "")).lower()
        or status >= 500
    )


def queue_arn(sqs: Any, url: str) -> str:
    return str(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"])


def depth(sqs: Any, url: str) -> dict[str, int]:
    attributes = sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return {
        "visible": int(attributes.get("ApproximateNumberOfMessages", 0)),
        "inFlight": int(attributes.get("ApproximateNumberOfMessagesNotVisible", 0)),
    }


def redrive(
    sqs: Any, *, dlq_url: str, source_url: str, limit: int = 10_000, prefer_move_task: bool = True
) -> RedriveResult:
    started = time.perf_counter()
    if prefer_move_task:
        try:
            task = sqs.start_message_move_task(
                SourceArn=queue_arn(sqs, dlq_url), DestinationArn=queue_arn(sqs, source_url)
            )
            count = depth(sqs, dlq_url)["visible"]
            return RedriveResult(
                "StartMessageMoveTask", count, 0, task.get("TaskHandle"), time.perf_counter() - started
            )
        except NotImplementedError:
            pass  # moto in-process
        except ClientError as exc:
            if not unsupported(exc):
                raise
    moved = failed = 0
    while moved + failed < limit:
        batch = sqs.receive_message(
            QueueUrl=dlq_url,
            MaxNumberOfMessages=10,
            VisibilityTimeout=30,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not batch:
            break
        for message in batch:
            attributes = message.get("Attributes", {})
            send: dict[str, Any] = {"QueueUrl": source_url, "MessageBody": message["Body"]}
            if "MessageGroupId" in attributes:
                send["MessageGroupId"] = attributes["MessageGroupId"]
                send["MessageDeduplicationId"] = f"redrive-{message['MessageId']}-{time.time_ns()}"[:128]
            if message.get("MessageAttributes"):
                send["MessageAttributes"] = message["MessageAttributes"]
            try:
                sqs.send_message(**send)
            except ClientError:
                failed += 1  # left in the DLQ: it reappears there after the visibility timeout
                continue
            sqs.delete_message(QueueUrl=dlq_url, ReceiptHandle=message["ReceiptHandle"])
            moved += 1
    return RedriveResult("receive-send-delete", moved, failed, None, time.perf_counter() - started)
