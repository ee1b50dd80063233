"""`marquee dlq list|show|redrive QUEUE`: dead-letter queues of the deployed stack, on the local cloud.

QUEUE is a source queue's name, or a notification channel (``email`` -> ``marquee-notify-email.fifo``). Its DLQ is
read from the queue's RedrivePolicy. ``redrive`` asks SQS for ``StartMessageMoveTask`` first; moto 5.2.5 does not
implement it (the local cloud answers 500), so it then moves the messages itself: receive from the DLQ, send to the
source queue (FIFO: same group id, a fresh deduplication id, since the original may still be inside SQS's 5-minute
deduplication window), delete from the DLQ only once the copy is accepted. It reports the counts.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from localcloud.aws import local_client

NOTIFICATION_CHANNELS = ("email", "sms", "push")


class DlqError(Exception):
    pass


@dataclass(frozen=True)
class QueuePair:
    name: str
    url: str
    dlq_url: str


class Dlqs:
    def __init__(self, endpoint_url: str, *, client: Any = None) -> None:
        self.sqs = client or local_client("sqs", endpoint_url)

    def _attributes(self, url: str) -> dict[str, str]:
        return dict(self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"])

    def pairs(self) -> list[QueuePair]:
        """Every queue with a redrive policy, and its DLQ."""
        pairs = []
        for url in self.sqs.list_queues().get("QueueUrls", []):
            policy = self._attributes(url).get("RedrivePolicy")
            if not policy:
                continue
            dlq_name = json.loads(policy)["deadLetterTargetArn"].rsplit(":", 1)[-1]
            pairs.append(QueuePair(url.rsplit("/", 1)[-1], url, self.sqs.get_queue_url(QueueName=dlq_name)["QueueUrl"]))
        return sorted(pairs, key=lambda p: p.name)

    def pair(self, queue: str) -> QueuePair:
        name = f"marquee-notify-{queue}.fifo" if queue in NOTIFICATION_CHANNELS else queue
        for pair in self.pairs():
            if pair.name == name:
                return pair
        raise DlqError(f"no queue {name!r} with a dead-letter queue; `marquee dlq list` shows them")

    def depth(self, url: str) -> dict[str, int]:
        attributes = self._attributes(url)
        return {
            "visible": int(attributes.get("ApproximateNumberOfMessages", 0)),
            "inFlight": int(attributes.get("ApproximateNumberOfMessagesNotVisible", 0)),
        }

    def summary(self) -> list[dict[str, Any]]:
        return [
            {"queue": p.name, "dlq": p.dlq_url.rsplit("/", 1)[-1], **{"dlqMessages": self.depth(p.dlq_url)["visible"]}}
            for p in self.pairs()
        ]

    def show(self, queue: str, limit: int = 10) -> list[dict[str, Any]]:
        """Peek at up to ``limit`` DLQ messages (they become visible again at once)."""
        pair = self.pair(queue)
        messages = self.sqs.receive_message(
            QueueUrl=pair.dlq_url,
            MaxNumberOfMessages=min(limit, 10),
            VisibilityTimeout=5,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        shown = []
        for message in messages:
            self.sqs.change_message_visibility(
                QueueUrl=pair.dlq_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
            )
            shown.append(
                {
                    "messageId": message["MessageId"],
                    "group": message.get("Attributes", {}).get("MessageGroupId"),
                    "receiveCount": int(message.get("Attributes", {}).get("ApproximateReceiveCount", 0)),
                    "error": {k: v.get("StringValue") for k, v in message.get("MessageAttributes", {}).items()},
                    "body": message["Body"][:500],
                }
            )
        return shown

    def redrive(self, queue: str) -> dict[str, Any]:
        pair = self.pair(queue)
        started = time.perf_counter()
        arn = self._attributes(pair.dlq_url)["QueueArn"]
        try:
            task = self.sqs.start_message_move_task(
                SourceArn=arn, DestinationArn=self._attributes(pair.url)["QueueArn"]
            )
            return {"queue": pair.name, "mode": "StartMessageMoveTask", "taskHandle": task.get("TaskHandle")}
        except ClientError:
            pass  # moto 5.2.5: "has not been implemented" (HTTP 500); move the messages ourselves
        moved = failed = 0
        while True:
            batch = self.sqs.receive_message(
                QueueUrl=pair.dlq_url,
                MaxNumberOfMessages=10,
                VisibilityTimeout=30,
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
            ).get("Messages", [])
            if not batch:
                break
            for message in batch:
                send: dict[str, Any] = {"QueueUrl": pair.url, "MessageBody": message["Body"]}
                group = message.get("Attributes", {}).get("MessageGroupId")
                if group:
                    send["MessageGroupId"] = group
                    send["MessageDeduplicationId"] = f"redrive-{message['MessageId']}-{time.time_ns()}"[:128]
                try:
                    self.sqs.send_message(**send)
                except ClientError:
                    failed += 1
                    continue
                self.sqs.delete_message(QueueUrl=pair.dlq_url, ReceiptHandle=message["ReceiptHandle"])
                moved += 1
        seconds = time.perf_counter() - started
        return {
            "queue": pair.name,
            "mode": "receive-send-delete",
            "moved": moved,
            "failed": failed,
            "seconds": round(seconds, 3),
            "perSecond": round(moved / seconds, 1) if seconds else None,
        }
