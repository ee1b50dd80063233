"""S3 parity for large uploads (challenge 15): multipart objects kept on disk and streamed, Range GETs, and bucket
notifications delivered to Lambda asynchronously (localcloud/s3/large_objects.py)."""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Callable
from typing import Any

from tests.localcloud.conftest import log_messages

MIB = 1024 * 1024
RECORDER = """
import json, time
def handler(event, context):
    time.sleep(1.5)
    print("S3EVENT " + json.dumps(event))
"""


def _bucket(aws: Callable[[str], Any]) -> str:
    name = f"large-{uuid.uuid4().hex[:10]}"
    aws("s3").create_bucket(Bucket=name)
    return name


def test_a_multipart_object_is_the_parts_in_order_with_a_multipart_etag_and_serves_range_gets(
    aws: Callable[[str], Any],
) -> None:
    s3, bucket = aws("s3"), _bucket(aws)
    parts = [os.urandom(5 * MIB), os.urandom(5 * MIB), b"tail" * 1000]
    upload = s3.create_multipart_upload(Bucket=bucket, Key="big")["UploadId"]
    etags = [
        s3.upload_part(Bucket=bucket, Key="big", UploadId=upload, PartNumber=i + 1, Body=p)["ETag"]
        for i, p in enumerate(parts)
    ]
    listed = s3.list_parts(Bucket=bucket, Key="big", UploadId=upload)["Parts"]
    assert [p["PartNumber"] for p in listed] == [1, 2, 3]
    done = s3.complete_multipart_upload(
        Bucket=bucket,
        Key="big",
        UploadId=upload,
        MultipartUpload={"Parts": [{"PartNumber": i + 1, "ETag": e} for i, e in enumerate(etags)]},
    )
    assert done["ETag"].strip('"').endswith("-3")
    whole = b"".join(parts)
    assert s3.head_object(Bucket=bucket, Key="big")["ContentLength"] == len(whole)
    assert s3.get_object(Bucket=bucket, Key="big")["Body"].read() == whole
    ranged = s3.get_object(Bucket=bucket, Key="big", Range=f"bytes={5 * MIB - 10}-{5 * MIB + 9}")
    assert ranged["ContentRange"] == f"bytes {5 * MIB - 10}-{5 * MIB + 9}/{len(whole)}"
    assert ranged["Body"].read() == whole[5 * MIB - 10 : 5 * MIB + 10]
    assert s3.get_object(Bucket=bucket, Key="big", Range="bytes=-7")["Body"].read() == whole[-7:]
    assert s3.get_object(Bucket=bucket, Key="big", Range=f"bytes={len(whole) - 3}-")["Body"].read() == whole[-3:]


def test_a_wrong_part_etag_fails_the_completion(aws: Callable[[str], Any]) -> None:
    s3, bucket = aws("s3"), _bucket(aws)
    upload = s3.create_multipart_upload(Bucket=bucket, Key="k")["UploadId"]
    s3.upload_part(Bucket=bucket, Key="k", UploadId=upload, PartNumber=1, Body=b"x")
    try:
        s3.complete_multipart_upload(
            Bucket=bucket, Key="k", UploadId=upload, MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": '"0"'}]}
        )
    except s3.exceptions.ClientError as exc:
        assert exc.response["Error"]["Code"] == "InvalidPart"
    else:
        raise AssertionError("CompleteMultipartUpload accepted a wrong ETag")


def test_an_aborted_upload_is_no_such_upload_to_complete_upload_part_and_upload_part_copy(
    aws: Callable[[str], Any],
) -> None:
    """AWS answers 404 NoSuchUpload to each multipart call on an upload that is gone (moto raised KeyError: a 500)."""
    s3, bucket = aws("s3"), _bucket(aws)
    s3.put_object(Bucket=bucket, Key="source", Body=b"y" * 10)
    upload = s3.create_multipart_upload(Bucket=bucket, Key="k")["UploadId"]
    etag = s3.upload_part(Bucket=bucket, Key="k", UploadId=upload, PartNumber=1, Body=b"x")["ETag"]
    s3.abort_multipart_upload(Bucket=bucket, Key="k", UploadId=upload)
    calls: dict[str, Callable[[], Any]] = {
        "complete": lambda: s3.complete_multipart_upload(
            Bucket=bucket, Key="k", UploadId=upload, MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]}
        ),
        "upload_part": lambda: s3.upload_part(Bucket=bucket, Key="k", UploadId=upload, PartNumber=2, Body=b"x"),
        "upload_part_copy": lambda: s3.upload_part_copy(
            Bucket=bucket, Key="k", UploadId=upload, PartNumber=2, CopySource={"Bucket": bucket, "Key": "source"}
        ),
        "list_parts": lambda: s3.list_parts(Bucket=bucket, Key="k", UploadId=upload),  # moto's own check, unchanged
    }
    for name, call in calls.items():
        try:
            call()
        except s3.exceptions.ClientError as exc:
            assert exc.response["Error"]["Code"] == "NoSuchUpload", name
            assert exc.response["ResponseMetadata"]["HTTPStatusCode"] == 404, name
        else:
            raise AssertionError(f"{name} on an aborted upload succeeded")


def test_object_created_reaches_the_function_asynchronously_with_the_s3_event_shape(
    aws: Callable[[str], Any], make_function: Callable[..., str]
) -> None:
    s3, bucket = aws("s3"), _bucket(aws)
    name = make_function(RECORDER, Timeout=10)
    arn = aws("lambda").get_function(FunctionName=name)["Configuration"]["FunctionArn"]
    s3.put_bucket_notification_configuration(
        Bucket=bucket,
        NotificationConfiguration={
            "LambdaFunctionConfigurations": [
                {
                    "LambdaFunctionArn": arn,
                    "Events": ["s3:ObjectCreated:*"],
                    "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "in/"}]}},
                }
            ]
        },
    )
    started = time.monotonic()
    s3.put_object(Bucket=bucket, Key="in/file.csv", Body=b"a,b\n")
    s3.put_object(Bucket=bucket, Key="elsewhere/file.csv", Body=b"a,b\n")
    assert time.monotonic() - started < 1.0  # the 1.5 s function did not run inside PutObject
    deadline = time.monotonic() + 15
    events: list[dict[str, Any]] = []
    while time.monotonic() < deadline and not events:
        time.sleep(0.3)
        try:
            messages = log_messages(aws, name)
        except aws("logs").exceptions.ResourceNotFoundException:
            continue  # no invocation has logged yet
        events = [json.loads(m.split("S3EVENT ", 1)[1]) for m in messages if "S3EVENT " in m]
    assert len(events) == 1
    record = events[0]["Records"][0]
    assert (record["eventSource"], record["eventName"]) == ("aws:s3", "ObjectCreated:Put")
    assert record["s3"]["bucket"]["name"] == bucket and record["s3"]["object"]["key"] == "in/file.csv"
    assert record["s3"]["object"]["size"] == 4


def test_cloudformation_bucket_notification_configuration_is_applied(aws: Callable[[str], Any]) -> None:
    from moto.s3.models import FakeBucket

    from localcloud.s3.large_objects import apply_cfn_notifications

    bucket = FakeBucket("b", account_id="123456789012", region_name="us-east-1")
    arn = "arn:aws:lambda:us-east-1:123456789012:function:v"
    apply_cfn_notifications(
        bucket,
        {
            "NotificationConfiguration": {
                "LambdaConfigurations": [
                    {
                        "Event": "s3:ObjectCreated:*",
                        "Function": arn,
                        "Filter": {"S3Key": {"Rules": [{"Name": "prefix", "Value": "imports/"}]}},
                    }
                ]
            }
        },
    )
    (target,) = bucket.notification_configuration.cloud_function
    assert target.arn == arn and target.matches("s3:ObjectCreated:CompleteMultipartUpload", "imports/t/x/data")
    assert not target.matches("s3:ObjectCreated:Put", "reports/x.json")
