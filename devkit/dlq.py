"""`marquee dlq list|show|redrive QUEUE`: dead-letter queues of the deployed stack, on the local cloud.

QUEUE is a source queue's name, or a notification channel (``email`` -> ``marquee-notify-email.fifo``). Its DLQ is
read from the queue's RedrivePolicy. ``redrive`` is the layer's (``marquee.messaging.dlq``, which the notifications
staff API uses too): ``StartMessageMoveTask`` first; moto 5.2.5 does not implement it (the local cloud answers 500), so
it then moves the messages itself: receive from the DLQ, send to the source queue (FIFO: same group id, a fresh
deduplication id, since the original may still be inside SQS's 5-minute deduplication window), delete from the DLQ only
once the copy is accepted. It reports the counts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from devkit.layer import use_layer
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
        """The layer's redrive (``marquee.messaging.dlq``, the staff API's too), with the queue's name and a rate."""
        use_layer()
        from marquee.messaging.dlq import redrive

        pair = self.pair(queue)
        result = redrive(self.sqs, dlq_url=pair.dlq_url, source_url=pair.url)
        return {
            "queue": pair.name,
            **result.as_json(),
            "perSecond": round(result.moved / result.seconds, 1) if result.seconds else None,
        }
