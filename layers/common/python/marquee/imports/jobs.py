"""Import jobs: one item per job in the main table, tenant-scoped (``TENANT#t#IMPORT#id``, ``META``).

A job's status moves one way, each step under a condition on the status it leaves, so a duplicate S3 notification or a
re-invoked publisher can never run a step twice:

    UPLOADING -> UPLOADED -> VALIDATING -> (FAILED | VALIDATED | PUBLISHING -> SUCCEEDED)
    UPLOADING -> ABORTED

FAILED is final. A file that fails validation wrote nothing (every row is validated before the first is published); a
publish that fails (``rejected.code`` ``publish-stalled`` or ``changed``) leaves the prefix it published. PUBLISHING
keeps a cursor (``publishedLines``): publishing resumes after it.

Publishing runs as a chain of invocations of the validator. Each one first claims the job (``claim_publishing``: ADD 1
to ``publishInvocations`` and a lease, ``leaseUntil``, to its deadline; only while PUBLISHING and no live lease), so a
duplicate notification or a resume of a job that is only slow finds it held and does nothing. An invocation releases
its lease when it hands on or fails (a crash is then retried by Lambda at once; a timeout's lease has ended), and
writes its cursor only while the counter is still its own number: one publisher at a time. Near its end an invocation
hands the job on to a fresh one (``start_publishing``, an asynchronous Invoke of ``PublishTask``); ``idleHandoffs``
counts the handoffs in a row that moved no cursor, and ``lastProgressAt`` is when the cursor last moved.

ABORTED is final too: the multipart upload is gone, so the file must be sent again under a new import. It records why
(``abortReason``: ``deleted`` by DELETE /imports/{id}, ``upload-gone`` when S3 answered NoSuchUpload to /parts or
/complete, ``expired`` when a status read past the bucket's AbortIncompleteMultipartUpload horizon found it gone) and
when (``abortedAt``). Only an UPLOADING job can be aborted, and completing needs UPLOADING too: whichever conditional
write lands first decides, so a job is never both aborted and uploaded.
"""

from __future__ import annotations

import re
import time
import uuid
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, Literal

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError
from pydantic import Field

from marquee.booking.errors import ConflictError, NotFound
from marquee.core import aws
from marquee.core.errors import MarqueeError
from marquee.core.models import CamelRequest
from marquee.tenancy.tenant import TenantContext

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
else:
    DynamoDBClient = Any

UPLOADING, UPLOADED, VALIDATING = "UPLOADING", "UPLOADED", "VALIDATING"
FAILED, VALIDATED, PUBLISHING, SUCCEEDED = "FAILED", "VALIDATED", "PUBLISHING", "SUCCEEDED"
ABORTED = "ABORTED"
ABORT_DELETED, ABORT_UPLOAD_GONE, ABORT_EXPIRED = "deleted", "upload-gone", "expired"
KEY_PREFIX = "imports"
KEY = re.compile(r"^imports/(?P<tenant>[A-Za-z0-9_-]{1,64})/(?P<job>imp_[0-9a-f]{32})/data$")
_ser, _de = TypeSerializer(), TypeDeserializer()


class ImportNotFound(NotFound):
    slug = "import-not-found"
    title = "Import not found"


class ImportStateConflict(ConflictError):
    slug = "import-state-conflict"
    title = "The import is not in a state that allows this"


class ImportUploadGone(MarqueeError):
    """S3 no longer holds the job's multipart upload (aborted, or expired by the bucket's lifecycle rule): its parts
    are gone, so the file must be sent again under a new import."""

    status = HTTPStatus.GONE
    slug = "import-upload-gone"
    title = "The import's upload is gone"


def new_job_id() -> str:
    return f"imp_{uuid.uuid4().hex}"


def object_key(tenant_id: str, job_id: str) -> str:
    """The upload's key: the tenant and the job are in it, so the validator knows whose file it is."""
    return f"{KEY_PREFIX}/{tenant_id}/{job_id}/data"


def report_key(tenant_id: str, job_id: str) -> str:
    return f"reports/{tenant_id}/{job_id}.json"


def parse_key(key: str) -> tuple[str, str] | None:
    match = KEY.match(key)
    return (match["tenant"], match["job"]) if match else None


def _key(tenant: TenantContext, job_id: str) -> dict[str, Any]:
    return {"pk": {"S": tenant.key("IMPORT", job_id)}, "sk": {"S": "META"}}


def create(ddb: DynamoDBClient, table: str, tenant: TenantContext, job: dict[str, Any]) -> None:
    item = {**_key(tenant, job["importId"]), "entity": {"S": "IMPORT"}}
    item.update({k: _ser.serialize(v) for k, v in job.items()})
    ddb.put_item(TableName=table, Item=item, ConditionExpression="attribute_not_exists(pk)")


def get(ddb: DynamoDBClient, table: str, tenant: TenantContext, job_id: str) -> dict[str, Any]:
    item = ddb.get_item(TableName=table, Key=_key(tenant, job_id), ConsistentRead=True).get("Item")
    if item is None:
        raise ImportNotFound(f"No import {job_id} in this tenant.")
    return {k: _de.deserialize(v) for k, v in item.items() if k not in ("pk", "sk", "entity")}


def update(
    ddb: DynamoDBClient,
    table: str,
    tenant: TenantContext,
    job_id: str,
    *,
    expect: tuple[str, ...] | None = None,
    invocation: int | None = None,
    add: dict[str, int] | None = None,
    **values: Any,
) -> bool:
    """Set ``values`` (and ADD ``add``) on the job; with ``expect``, only while its status is one of them, and with
    ``invocation``, only while ``publishInvocations`` is still that number (False if not)."""
    values["updatedAt"] = int(time.time())
    names = {f"#{k}": k for k in (*values, *(add or {}))}
    sets = ", ".join(f"#{k} = :{k}" for k in values)
    expression = f"SET {sets}" + (f" ADD {', '.join(f'#{k} :{k}' for k in add)}" if add else "")
    attribute_values = {f":{k}": _ser.serialize(v) for k, v in {**values, **(add or {})}.items()}
    condition = "attribute_exists(pk)"
    if expect:
        names["#status"] = "status"
        condition += " AND #status IN (" + ", ".join(f":expect{i}" for i in range(len(expect))) + ")"
        attribute_values.update({f":expect{i}": {"S": s} for i, s in enumerate(expect)})
    if invocation is not None:
        names["#publishInvocations"] = "publishInvocations"
        condition += " AND #publishInvocations = :invocation"
        attribute_values[":invocation"] = {"N": str(invocation)}
    try:
        ddb.update_item(
            TableName=table,
            Key=_key(tenant, job_id),
            UpdateExpression=expression,
            ConditionExpression=condition,
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=attribute_values,
        )
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
            return False
        raise
    return True


def abort(ddb: DynamoDBClient, table: str, tenant: TenantContext, job_id: str, *, reason: str) -> bool:
    """UPLOADING -> ABORTED with ``reason`` and the time; False if the job had left UPLOADING (aborted already, or
    its upload completed first)."""
    return update(
        ddb, table, tenant, job_id, expect=(UPLOADING,), status=ABORTED, abortReason=reason, abortedAt=int(time.time())
    )


class PublishTask(CamelRequest):
    """The validator's payload that says "continue publishing this job" (from a handoff or an operator's resume)."""

    task: Literal["publish"] = "publish"
    tenant_id: str = Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")
    import_id: str = Field(pattern=r"^imp_[0-9a-f]{32}$")
    reason: Literal["handoff", "resume"]


def claim_publishing(
    ddb: DynamoDBClient, table: str, tenant: TenantContext, job_id: str, *, lease_until_ms: int, now_ms: int
) -> dict[str, Any] | None:
    """Take the job for one publishing invocation until ``lease_until_ms`` (its deadline): ADD 1 to
    ``publishInvocations`` while it is PUBLISHING and no live invocation holds it (``leaseUntil`` past or released).
    The job as it is then (its counter is this invocation's number), or None: not PUBLISHING (finished, failed), or
    held by a live invocation (a duplicate notification, or a resume of a job that is only slow)."""
    try:
        item = ddb.update_item(
            TableName=table,
            Key=_key(tenant, job_id),
            UpdateExpression="ADD #invocations :one SET #leaseUntil = :lease, #updatedAt = :now",
            ConditionExpression="attribute_exists(pk) AND #status = :publishing "
            "AND (attribute_not_exists(#leaseUntil) OR #leaseUntil < :now_ms)",
            ExpressionAttributeNames={
                "#invocations": "publishInvocations",
                "#leaseUntil": "leaseUntil",
                "#updatedAt": "updatedAt",
                "#status": "status",
            },
            ExpressionAttributeValues={
                ":one": {"N": "1"},
                ":lease": {"N": str(lease_until_ms)},
                ":now": {"N": str(now_ms // 1000)},
                ":now_ms": {"N": str(now_ms)},
                ":publishing": {"S": PUBLISHING},
            },
            ReturnValues="ALL_NEW",
        )["Attributes"]
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
            return None
        raise
    return {k: _de.deserialize(v) for k, v in item.items() if k not in ("pk", "sk", "entity")}


def start_publishing(function_name: str, task: PublishTask) -> None:
    """Hand the job to a fresh invocation of the validator (asynchronous: Lambda queues it, and retries it twice if it
    fails, like S3's own notification)."""
    aws.lambda_().invoke(
        FunctionName=function_name, InvocationType="Event", Payload=task.model_dump_json(by_alias=True).encode()
    )
