"""S3 multipart calls on an upload that no longer exists answer ``NoSuchUpload``, as on AWS.

moto checks the upload id in ``ListParts`` and ``AbortMultipartUpload`` but not in ``CompleteMultipartUpload``,
``UploadPart`` or ``UploadPartCopy``: there, an aborted (or completed, or invented) upload id raised ``KeyError``
inside moto, and the client got a 500 ``InternalError`` where AWS answers 404 ``NoSuchUpload``. An app that handles
``NoSuchUpload`` (an upload aborted by a lifecycle rule, then completed or resumed) could not be tested. ``install()``
checks the id first in those three calls and raises moto's own ``NoSuchUpload``; every other answer is moto's.
"""

from __future__ import annotations

from functools import wraps
from typing import Any

_installed = {"done": False}


def install() -> None:
    if _installed["done"]:
        return
    _installed["done"] = True
    from moto.s3.models import S3Backend

    for name, method in checked_methods().items():
        setattr(S3Backend, name, method)


def checked_methods() -> dict[str, Any]:
    """The three ``S3Backend`` methods with the upload id checked first (also for in-process tests on moto)."""
    from moto.s3.models import S3Backend

    return {
        "complete_multipart_upload": _checked(S3Backend.complete_multipart_upload, "bucket_name"),
        "upload_part": _checked(S3Backend.upload_part, "bucket_name"),
        "upload_part_copy": _checked(S3Backend.upload_part_copy, "dest_bucket_name"),
    }


def _checked(method: Any, bucket_parameter: str) -> Any:
    import inspect

    if getattr(method, "localcloud_checked", False):
        return method
    signature = inspect.signature(method)

    @wraps(method)
    def call(self: Any, *args: Any, **kwargs: Any) -> Any:
        from moto.s3.exceptions import NoSuchUpload

        bound = signature.bind(self, *args, **kwargs)
        bucket = self.get_bucket(bound.arguments[bucket_parameter])
        upload_id = bound.arguments["multipart_id"]
        if upload_id not in bucket.multiparts:
            raise NoSuchUpload(upload_id=upload_id)
        return method(self, *args, **kwargs)

    call.localcloud_checked = True  # type: ignore[attr-defined]
    return call
