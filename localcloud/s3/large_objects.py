"""S3 objects of any size on disk, never in memory; and bucket notifications to Lambda, asynchronously.

moto 5.2.5 keeps every object and part in a ``SpooledTemporaryFile`` (in memory up to ``MOTO_S3_DEFAULT_KEY_BUFFER_SIZE``,
5 MiB less 1 KiB by default, then on disk). Its storage is fine; three paths around it were not:

- ``CompleteMultipartUpload`` concatenated every part into one ``bytearray`` (``FakeMultipart.complete``), and its
  checksum builder kept a second copy: a 1 GB upload cost the server 2 GB of memory at completion.
  ``complete`` now returns a ``PartsValue``: the parts copied in 1 MiB blocks into one spooled file, which the new
  key adopts as its buffer. When the upload asked for a checksum (``x-amz-checksum-algorithm``), moto's own code runs as
  before (in memory): AWS's default full-object CRC64NVME of an unrequested checksum is not modelled.
- ``GetObject`` read the whole object (``key.value``) for every request, a Range GET included, and sliced it. The body
  is now a ``KeyBody``: it knows its length, slices without reading, and streams its bytes in 1 MiB blocks from the
  key's file (under the key's lock, so a concurrent overwrite is never half-read).
- Bucket notifications invoked the function synchronously inside ``CompleteMultipartUpload``/``PutObject`` (so the
  upload's response waited for the whole validation). AWS delivers them asynchronously: they become async invokes on
  the runner (``redirects.runner().invoke_async``), with its retries and destinations. The event's key keeps its
  slashes, as on AWS (moto encoded them as ``%2F``).

Also here, CloudFormation: moto's ``AWS::S3::Bucket`` ignored ``NotificationConfiguration``. Its
``LambdaConfigurations``, ``QueueConfigurations`` and ``TopicConfigurations`` are applied, as PutBucketNotification
would (``apply_cfn_notifications``); so are versioning, Object Lock and lifecycle (``bucket_settings``).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import json
import logging
import tempfile
import threading
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote_plus

from localcloud.s3.bucket_settings import apply_cfn_bucket_settings

log = logging.getLogger("localcloud.s3")
BLOCK = 1024 * 1024
M_MMAP_THRESHOLD = -3  # mallopt parameter (malloc.h)


class PartsValue:
    """A completed multipart upload's bytes: the parts copied in order, block by block, into one spooled file (on disk
    past moto's buffer size), which the new key adopts as its own. Each part's file is closed once copied."""

    def __init__(self, parts: list[Any]) -> None:
        from moto.settings import get_s3_default_key_buffer_size

        self.file = tempfile.SpooledTemporaryFile(get_s3_default_key_buffer_size())
        self.size = 0
        for part in parts:
            with part.lock:
                part._value_buffer.seek(0)
                while block := part._value_buffer.read(BLOCK):
                    self.file.write(block)
                    self.size += len(block)
            part.dispose()  # its temporary file: the object's copy is the only one kept (not twice on disk)


class KeyBody:
    """An object's bytes ``[start, stop)`` as a response body: sized, sliceable, streamed from the key's file."""

    def __init__(self, key: Any, start: int = 0, stop: int | None = None) -> None:
        self.key = key
        self.start = start
        self.stop = key.size if stop is None else min(stop, key.size)

    def __len__(self) -> int:
        return max(0, self.stop - self.start)

    def __bool__(self) -> bool:
        return len(self) > 0

    def __getitem__(self, window: slice) -> KeyBody:
        begin = self.start + (window.start or 0)
        end = self.stop if window.stop is None else self.start + window.stop
        return KeyBody(self.key, begin, min(end, self.stop))

    def __iter__(self) -> Iterator[bytes]:
        position = self.start
        while position < self.stop:
            with self.key.lock:
                self.key._value_buffer.seek(position)
                block = self.key._value_buffer.read(min(BLOCK, self.stop - position))
            if not block:
                return
            position += len(block)
            yield block


def install() -> None:
    from moto.s3 import models, notifications, responses

    _big_buffers_back_to_the_system()
    _complete_without_concatenating(models)
    _stream_values(models)
    _stream_get_object(responses)
    _async_lambda_notifications(notifications)
    _cfn_notifications(models)


def _big_buffers_back_to_the_system() -> None:
    """glibc serves an allocation above ``M_MMAP_THRESHOLD`` with its own mmap, unmapped when freed. But the threshold
    rises to the size of any such block freed (up to 32 MiB): after the first 16 MiB part, later parts' buffers came
    from the server threads' heap arenas, and memory freed there stays in the process. A fixed 1 MiB threshold
    (``mallopt`` also stops the rise) returns every part-sized buffer once it is freed; the server frees request
    bodies promptly (``LocalCloud._streamed``). Measured with bench/imports.py: four 100 MB uploads in a row left the
    cloud at 510 MB RSS with only the prompt freeing, 131 MB with both."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.mallopt(M_MMAP_THRESHOLD, BLOCK)
    except (OSError, AttributeError):  # not glibc (macOS, musl): that allocator's own policy applies
        log.debug("mallopt is not available; big buffers follow the allocator's policy")


def _complete_without_concatenating(models: Any) -> None:
    original = models.FakeMultipart.complete

    def complete(self: Any, body: Any) -> tuple[Any, str, Any]:
        if self.metadata.get("x-amz-checksum-algorithm"):
            return original(self, body)  # type: ignore[no-any-return]
        from moto.s3.exceptions import EntityTooSmall, InvalidPart, MalformedXML
        from moto.s3.models import S3_UPLOAD_PART_MIN_SIZE
        from moto.utilities.utils import md5_hash

        md5s = bytearray()
        parts: list[Any] = []
        last = None
        for number, etag in body:
            part = self.parts.get(number)
            if part is None or part.etag.replace('"', "") != etag.replace('"', ""):
                raise InvalidPart()
            if last is not None and last.contentsize < S3_UPLOAD_PART_MIN_SIZE:
                raise EntityTooSmall()
            md5s.extend(bytes.fromhex(part.etag.replace('"', "")))
            parts.append(part)
            last = part
        if not parts:
            raise MalformedXML
        full = md5_hash()
        full.update(bytes(md5s))
        return PartsValue(parts), f"{full.hexdigest()}-{len(parts)}", None

    models.FakeMultipart.complete = complete


class _KeyRef(bytes):
    """What ``key.value`` returns inside moto's ``get_object``, which only passes it on as the body: the key itself."""

    key: Any


_reading = threading.local()


def _stream_values(models: Any) -> None:
    getter = models.FakeKey.value.fget
    setter = models.FakeKey.value.fset

    def get_value(self: Any) -> Any:
        if getattr(_reading, "lazy", False):
            ref = _KeyRef()
            ref.key = self
            return ref
        return getter(self)

    def set_value(self: Any, new_value: Any) -> None:
        if not isinstance(new_value, PartsValue):
            setter(self, new_value)
            return
        self._value_buffer.close()
        self._value_buffer = new_value.file
        self.contentsize = new_value.size

    models.FakeKey.value = property(get_value, set_value)


def _stream_get_object(responses: Any) -> None:
    original = responses.S3Response.get_object

    def get_object(self: Any) -> Any:
        _reading.lazy = True
        try:
            status, headers, body = original(self)
        finally:
            _reading.lazy = False
        if isinstance(body, _KeyRef):
            body = KeyBody(body.key)
        return status, headers, body

    responses.S3Response.get_object = get_object


def _async_lambda_notifications(notifications: Any) -> None:
    def invoke(account_id: str, event_body: Any, fn_arn: str, region_name: str) -> None:
        from localcloud.patches import redirects

        try:
            redirects.runner().invoke_async(fn_arn, json.dumps(event_body).encode(), region=region_name)
        except Exception:  # noqa: BLE001 - as moto: a notification never fails the S3 call that caused it
            log.warning("S3 notification to %s was not delivered", fn_arn, exc_info=True)

    notifications._invoke_awslambda = invoke
    build = notifications._get_s3_event

    def s3_event(event_name: str, bucket: Any, key: Any, notification_id: str) -> dict[str, Any]:
        event: dict[str, Any] = build(event_name, bucket, key, notification_id)
        for record in event["Records"]:  # AWS form-encodes the key but keeps its slashes; moto wrote "/" as %2F
            record["s3"]["object"]["key"] = quote_plus(key.name, safe="/")
        return event

    notifications._get_s3_event = s3_event


def apply_cfn_notifications(bucket: Any, properties: dict[str, Any]) -> None:
    """``NotificationConfiguration`` of an ``AWS::S3::Bucket`` in PutBucketNotificationConfiguration's shape."""
    config = properties.get("NotificationConfiguration") or {}

    def entries(name: str, target: str, into: str) -> list[dict[str, Any]]:
        out = []
        for entry in config.get(name, []):
            item: dict[str, Any] = {into: entry[target], "Event": [entry["Event"]]}
            rules = ((entry.get("Filter") or {}).get("S3Key") or {}).get("Rules")
            if rules:
                item["Filter"] = {"S3Key": {"FilterRule": rules}}
            out.append(item)
        return out

    bucket.set_notification_configuration(
        {
            "CloudFunctionConfiguration": entries("LambdaConfigurations", "Function", "CloudFunction"),
            "QueueConfiguration": entries("QueueConfigurations", "Queue", "Queue"),
            "TopicConfiguration": entries("TopicConfigurations", "Topic", "Topic"),
        }
        if config
        else None
    )


def _cfn_notifications(models: Any) -> None:
    create = models.FakeBucket.create_from_cloudformation_json.__func__
    update = models.FakeBucket.update_from_cloudformation_json.__func__

    def create_from_cfn(cls: Any, resource_name: str, cloudformation_json: Any, *args: Any, **kwargs: Any) -> Any:
        bucket = create(cls, resource_name, cloudformation_json, *args, **kwargs)
        apply_cfn_bucket_settings(bucket, cloudformation_json.get("Properties", {}))
        apply_cfn_notifications(bucket, cloudformation_json.get("Properties", {}))
        return bucket

    def update_from_cfn(cls: Any, original: Any, new_name: str, cloudformation_json: Any, *args: Any) -> Any:
        bucket = update(cls, original, new_name, cloudformation_json, *args)
        apply_cfn_bucket_settings(bucket, cloudformation_json.get("Properties", {}))
        apply_cfn_notifications(bucket, cloudformation_json.get("Properties", {}))
        return bucket

    models.FakeBucket.create_from_cloudformation_json = classmethod(create_from_cfn)
    models.FakeBucket.update_from_cloudformation_json = classmethod(update_from_cfn)
