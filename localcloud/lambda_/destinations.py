"""Where the record of an async invocation goes: the on-success/on-failure destination, or the function's DLQ.

AWS behaviour mirrored (Lambda developer guide, "Capturing records of asynchronous invocations"):
- the destinations are those of the qualifier that was invoked ($LATEST, a version or an alias), and the
  dead-letter queue that of the version that ran;
- a destination receives the invocation record (version, requestContext with condition and approximateInvokeCount,
  requestPayload, responseContext, responsePayload), to SQS, SNS, Lambda or EventBridge;
- without an on-failure destination, a dead-letter queue (SQS or SNS) receives the original event, with the
  RequestID, ErrorCode and ErrorMessage message attributes.
"""

from __future__ import annotations

import json
import logging
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from localcloud.lambda_.runner import FunctionConfig

log = logging.getLogger("localcloud.destinations")


class Destinations:
    def __init__(self, endpoint_url: str) -> None:
        self.endpoint_url = endpoint_url

    @cache  # noqa: B019 - one client per service and region for the life of the local cloud
    def _client(self, service: str, region: str) -> Any:
        import boto3  # imported by the first client: the cloud starts without it

        return boto3.client(service, region_name=region, endpoint_url=self.endpoint_url)

    def deliver(self, config: FunctionConfig, kind: str, record: dict[str, Any]) -> None:
        # The destinations of the qualifier that was invoked; the dead-letter queue of the version that ran.
        invoke_config = _runner().event_invoke_config(config)
        target = invoke_config.get("DestinationConfig", {}).get(kind, {}).get("Destination")
        if target:
            self.send_record(target, record, kind)
            return
        if kind == "OnFailure":
            dlq = _runner().dead_letter_target(config)
            if dlq:
                self._to_dead_letter(dlq, record)

    def send_record(self, target_arn: str, record: dict[str, Any], kind: str = "OnFailure") -> None:
        service, region = target_arn.split(":")[2], target_arn.split(":")[3]
        body = json.dumps(record)
        if service == "sqs":
            self._client("sqs", region).send_message(QueueUrl=self._queue_url(target_arn), MessageBody=body)
        elif service == "sns":
            self._client("sns", region).publish(TopicArn=target_arn, Message=body)
        elif service == "lambda":
            runner_ = _runner()
            runner_.invoke_async(target_arn, body.encode(), region=region)
        elif service == "events":
            detail_type = f"Lambda Function Invocation Result - {'Success' if kind == 'OnSuccess' else 'Failure'}"
            self._client("events", region).put_events(
                Entries=[{"Source": "lambda", "DetailType": detail_type, "Detail": body, "EventBusName": target_arn}]
            )
        else:
            log.error("unsupported destination %s", target_arn)

    def _to_dead_letter(self, target_arn: str, record: dict[str, Any]) -> None:
        service, region = target_arn.split(":")[2], target_arn.split(":")[3]
        payload = record["requestPayload"]
        body = payload if isinstance(payload, str) else json.dumps(payload)
        error = record.get("responsePayload") or {}
        attributes = {
            "RequestID": {"DataType": "String", "StringValue": record["requestContext"]["requestId"]},
            "ErrorCode": {"DataType": "Number", "StringValue": "200"},
            "ErrorMessage": {
                "DataType": "String",
                "StringValue": str(error.get("errorMessage", "")) if isinstance(error, dict) else str(error),
            },
        }
        if service == "sqs":
            self._client("sqs", region).send_message(
                QueueUrl=self._queue_url(target_arn), MessageBody=body, MessageAttributes=attributes
            )
        elif service == "sns":
            self._client("sns", region).publish(TopicArn=target_arn, Message=body, MessageAttributes=attributes)

    def _queue_url(self, queue_arn: str) -> str:
        _, _, _, region, account, name = queue_arn.split(":")
        url: str = self._client("sqs", region).get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"]
        return url


def _runner() -> Any:
    from localcloud.patches.redirects import runner

    return runner()
