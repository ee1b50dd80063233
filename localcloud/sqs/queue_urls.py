"""Queue URLs that point at the local cloud, as LocalStack's do."""

from __future__ import annotations

_queue_url_base = "http://localhost:4566"


def set_endpoint(endpoint_url: str) -> None:
    global _queue_url_base
    _queue_url_base = endpoint_url.rstrip("/")


def install() -> None:
    """CloudFormation's ``Ref`` of an ``AWS::SQS::Queue`` (its queue URL) points at this cloud, as LocalStack's does.

    moto answers ``https://sqs.<region>.amazonaws.com/<account>/<name>``, so the stack's outputs and the functions'
    queue variables named AWS. ``http://localhost:<port>/<account>/<name>`` is what boto3 and the AWS CLI accept
    against the cloud (moto's own CreateQueue and GetQueueUrl answer the same: the request's host and port). Deleting
    a queue, queue policies and pollers read the name from the URL's last segment, which is unchanged.
    """
    from moto.sqs.models import Queue

    if "_localcloud_queue_url" not in Queue.__dict__:
        Queue._localcloud_queue_url = True  # type: ignore[attr-defined]
        Queue.physical_resource_id = property(  # type: ignore[assignment,method-assign]
            lambda q: f"{_queue_url_base}/{q.account_id}/{q.name}"
        )
