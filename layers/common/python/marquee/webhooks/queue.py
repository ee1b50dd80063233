"""The delivery queue (SQS only): enqueue deliveries, and push a failed one's next attempt into the future."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from marquee.core import aws
from marquee.webhooks.errors import DeliveryEnqueueFailed
from marquee.webhooks.models import DeliveryMessage


class DeliveryQueue:
    """The delivery queue (SQS only): enqueue deliveries, and push a failed one's next attempt into the future."""

    MAX_VISIBILITY_SECONDS: ClassVar[int] = 12 * 3600  # SQS's ceiling for ChangeMessageVisibility

    def __init__(self, queue_url: str, *, client: Any | None = None) -> None:
        self.queue_url = queue_url
        self._client = client

    @property
    def client(self) -> Any:
        return self._client or aws.sqs()

    def send(self, messages: Sequence[DeliveryMessage]) -> None:
        for start in range(0, len(messages), 10):
            chunk = messages[start : start + 10]
            entries = [{"Id": str(i), "MessageBody": m.model_dump_json(by_alias=True)} for i, m in enumerate(chunk)]
            result = self.client.send_message_batch(QueueUrl=self.queue_url, Entries=entries)
            if result.get("Failed"):
                codes = sorted({f.get("Code", "?") for f in result["Failed"]})
                raise DeliveryEnqueueFailed(f"{len(result['Failed'])} delivery message(s) were not enqueued: {codes}")

    def retry_in(self, receipt_handle: str, seconds: int) -> None:
        self.client.change_message_visibility(
            QueueUrl=self.queue_url,
            ReceiptHandle=receipt_handle,
            VisibilityTimeout=max(0, min(seconds, self.MAX_VISIBILITY_SECONDS)),
        )
