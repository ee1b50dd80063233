"""Imports API logic: a job and its presigned multipart upload; resuming it; completing it; its status; resuming a
stalled publish."""

from __future__ import annotations

import time
from typing import Any

from botocore.exceptions import ClientError

from marquee.core import aws
from marquee.imports import jobs
from marquee.tenancy.tenant import TenantContext

from .models import (
    FIRST_URLS,
    MAX_PARTS,
    CompleteRequest,
    ImportCreated,
    ImportRequest,
    ImportsEnv,
    ImportView,
    PartsRequest,
    PartsResponse,
    PartUrl,
    Rejection,
    RowError,
    UploadedPart,
)

STAFF = "staff"
SHOWN_ERRORS = 20


def part_size(env: ImportsEnv, size: int) -> int:
    """The configured part size, or larger when the file would need more than 10,000 parts (rounded to 1 MiB)."""
    needed = -(-size // MAX_PARTS)
    return max(env.part_size_bytes, -(-needed // (1024 * 1024)) * 1024 * 1024)


def _urls(env: ImportsEnv, key: str, upload_id: str, numbers: list[int]) -> list[PartUrl]:
    s3 = aws.s3()
    return [
        PartUrl(
            part_number=n,
            url=s3.generate_presigned_url(
                "upload_part",
                Params={"Bucket": env.imports_bucket, "Key": key, "UploadId": upload_id, "PartNumber": n},
                ExpiresIn=env.url_expiry_seconds,
            ),
        )
        for n in numbers
    ]


def create(request: ImportRequest, *, tenant: TenantContext, env: ImportsEnv) -> ImportCreated:
    tenant.require_group(STAFF)
    job_id = jobs.new_job_id()
    key = jobs.object_key(tenant.tenant_id, job_id)
    size = part_size(env, request.size_bytes)
    upload_id = aws.s3().create_multipart_upload(Bucket=env.imports_bucket, Key=key)["UploadId"]
    now = int(time.time())
    jobs.create(
        env.dynamodb_for(tenant),
        env.table_name,
        tenant,
        {
            "importId": job_id,
            "kind": request.kind,
            "format": request.format,
            "compression": request.compression,
            "sizeBytes": request.size_bytes,
            "dryRun": request.dry_run,
            "partSizeBytes": size,
            "uploadId": upload_id,
            "status": jobs.UPLOADING,
            "createdBy": tenant.user_id,
            "createdByName": tenant.username or "",
            "createdAt": now,
            "updatedAt": now,
        },
    )
    count = max(1, -(-request.size_bytes // size))
    return ImportCreated(
        import_id=job_id,
        status=jobs.UPLOADING,
        part_size_bytes=size,
        part_count=count,
        parts=_urls(env, key, upload_id, list(range(1, min(count, FIRST_URLS) + 1))),
        expires_in_seconds=env.url_expiry_seconds,
    )


def _aborted(job_id: str, job: dict[str, Any]) -> jobs.ImportUploadGone:
    return jobs.ImportUploadGone(
        f"Import {job_id} was aborted ({job.get('abortReason', jobs.ABORT_UPLOAD_GONE)}): S3 no longer holds its "
        "upload. Start again with POST /imports and upload the whole file (`marquee import` does this by itself)."
    )


def _uploading(job_id: str, tenant: TenantContext, env: ImportsEnv) -> dict[str, Any]:
    tenant.require_group(STAFF)
    job = jobs.get(env.dynamodb_for(tenant), env.table_name, tenant, job_id)
    if job["status"] == jobs.ABORTED:
        raise _aborted(job_id, job)
    if job["status"] != jobs.UPLOADING:
        raise jobs.ImportStateConflict(f"Import {job_id} is {job['status']}: its upload is complete.")
    return job


def _no_such_upload(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") == "NoSuchUpload"


def _object_exists(env: ImportsEnv, key: str) -> bool:
    """After NoSuchUpload: S3 holds the object if the upload was completed (by a concurrent /complete that has not
    recorded it yet), not if it was aborted. (A listing, not HeadObject: without s3:ListBucket a missing object is a
    403 to HeadObject.)"""
    listed = aws.s3().list_objects_v2(Bucket=env.imports_bucket, Prefix=key, MaxKeys=1)
    return any(found["Key"] == key for found in listed.get("Contents", []))


def _record_gone(job_id: str, tenant: TenantContext, env: ImportsEnv, *, reason: str) -> dict[str, Any]:
    """S3 has no such upload: if it was aborted (no object), move the job UPLOADING -> ABORTED (conditionally: a
    concurrent DELETE or /complete may have moved it first). The job as it is afterwards."""
    ddb = env.dynamodb_for(tenant)
    if not _object_exists(env, jobs.object_key(tenant.tenant_id, job_id)):
        jobs.abort(ddb, env.table_name, tenant, job_id, reason=reason)
    return jobs.get(ddb, env.table_name, tenant, job_id)


def _gone(job_id: str, tenant: TenantContext, env: ImportsEnv) -> Exception:
    """S3 has no such upload: aborted (the job becomes ABORTED; 410: the parts are gone, the file must be sent again),
    or completed meanwhile by another call (409, the job says so once that call records it)."""
    job = _record_gone(job_id, tenant, env, reason=jobs.ABORT_UPLOAD_GONE)
    if job["status"] == jobs.ABORTED:
        return _aborted(job_id, job)
    if job["status"] == jobs.UPLOADING:
        return jobs.ImportStateConflict(f"Import {job_id} is being completed by another request.")
    return jobs.ImportStateConflict(f"Import {job_id} is {job['status']}: its upload is complete.")


def listed_parts(env: ImportsEnv, key: str, upload_id: str) -> list[UploadedPart]:
    s3, parts, marker = aws.s3(), [], 0
    while True:
        page = s3.list_parts(Bucket=env.imports_bucket, Key=key, UploadId=upload_id, PartNumberMarker=marker)
        parts += [
            UploadedPart(part_number=p["PartNumber"], etag=p["ETag"], size_bytes=p["Size"])
            for p in page.get("Parts", [])
        ]
        if not page.get("IsTruncated"):
            return parts
        marker = page["NextPartNumberMarker"]


def parts(job_id: str, request: PartsRequest, *, tenant: TenantContext, env: ImportsEnv) -> PartsResponse:
    job = _uploading(job_id, tenant, env)
    key = jobs.object_key(tenant.tenant_id, job_id)
    try:
        uploaded = listed_parts(env, key, job["uploadId"])
    except ClientError as exc:
        if _no_such_upload(exc):
            raise _gone(job_id, tenant, env) from exc
        raise
    return PartsResponse(uploaded=uploaded, parts=_urls(env, key, job["uploadId"], sorted(set(request.part_numbers))))


def complete(job_id: str, request: CompleteRequest, *, tenant: TenantContext, env: ImportsEnv) -> ImportView:
    """CompleteMultipartUpload with the client's ETags (S3 checks each against its part); the object's creation
    starts the validation (the bucket notifies the validator)."""
    job = _uploading(job_id, tenant, env)
    s3 = aws.s3()
    ordered = sorted(request.parts, key=lambda p: p.part_number)
    try:
        s3.complete_multipart_upload(
            Bucket=env.imports_bucket,
            Key=jobs.object_key(tenant.tenant_id, job_id),
            UploadId=job["uploadId"],
            MultipartUpload={
                "Parts": [{"PartNumber": p.part_number, "ETag": f'"{p.etag.strip(chr(34))}"'} for p in ordered]
            },
        )
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code == "NoSuchUpload":
            raise _gone(job_id, tenant, env) from exc
        if code in ("InvalidPart", "InvalidPartOrder", "EntityTooSmall"):
            raise jobs.ImportStateConflict(
                f"S3 refused the parts ({code}): upload the missing parts, then retry."
            ) from exc
        raise
    ddb = env.dynamodb_for(tenant)
    if not jobs.update(ddb, env.table_name, tenant, job_id, expect=(jobs.UPLOADING,), status=jobs.UPLOADED):
        # Left UPLOADING meanwhile: the validator took it (VALIDATING...), or a DELETE aborted it first. Then the
        # object S3 just made is ignored by the validator (it needs UPLOADING or UPLOADED) and the answer is 410.
        now = jobs.get(ddb, env.table_name, tenant, job_id)
        if now["status"] == jobs.ABORTED:
            raise _aborted(job_id, now)
    return get(job_id, tenant=tenant, env=env)


def abort(job_id: str, *, tenant: TenantContext, env: ImportsEnv) -> None:
    """DELETE /imports/{id}: the job UPLOADING -> ABORTED (conditionally: a racing /complete that recorded UPLOADED
    first wins, and this is a 409), then AbortMultipartUpload (NoSuchUpload is fine: aborted already, or expired).
    Idempotent: an ABORTED job answers the same, and its upload is aborted again (in case an earlier call stopped
    between the two steps). A job past UPLOADING is a 409: its file is in, the validation owns it."""
    tenant.require_group(STAFF)
    ddb = env.dynamodb_for(tenant)
    job = jobs.get(ddb, env.table_name, tenant, job_id)
    if job["status"] == jobs.UPLOADING and not jobs.abort(
        ddb, env.table_name, tenant, job_id, reason=jobs.ABORT_DELETED
    ):
        job = jobs.get(ddb, env.table_name, tenant, job_id)
    if job["status"] not in (jobs.UPLOADING, jobs.ABORTED):
        raise jobs.ImportStateConflict(
            f"Import {job_id} is {job['status']}: its upload is complete, so it can no longer be aborted."
        )
    try:
        aws.s3().abort_multipart_upload(
            Bucket=env.imports_bucket, Key=jobs.object_key(tenant.tenant_id, job_id), UploadId=job["uploadId"]
        )
    except ClientError as exc:
        if not _no_such_upload(exc):
            raise


def _expired(job_id: str, job: dict[str, Any], tenant: TenantContext, env: ImportsEnv) -> dict[str, Any]:
    """An UPLOADING job older than the bucket's AbortIncompleteMultipartUpload horizon: ask S3 (ListParts) whether
    the lifecycle rule has aborted its upload; if so the job becomes ABORTED (``expired``). Younger jobs cost nothing.
    """
    horizon_s = env.abort_incomplete_upload_days * 24 * 3600
    if job["status"] != jobs.UPLOADING or time.time() - int(job["createdAt"]) < horizon_s:
        return job
    try:
        aws.s3().list_parts(
            Bucket=env.imports_bucket,
            Key=jobs.object_key(tenant.tenant_id, job_id),
            UploadId=job["uploadId"],
            MaxParts=1,
        )
    except ClientError as exc:
        if not _no_such_upload(exc):
            raise
        return _record_gone(job_id, tenant, env, reason=jobs.ABORT_EXPIRED)
    return job


def get(job_id: str, *, tenant: TenantContext, env: ImportsEnv) -> ImportView:
    tenant.require_group(STAFF)
    job = _expired(job_id, jobs.get(env.dynamodb_for(tenant), env.table_name, tenant, job_id), tenant, env)
    size = int(job["sizeBytes"])
    validated = int(job.get("validatedBytes", 0))
    report_url = None
    if job.get("reportKey"):
        report_url = aws.s3().generate_presigned_url(
            "get_object", Params={"Bucket": env.imports_bucket, "Key": job["reportKey"]}, ExpiresIn=900
        )
    rejected = job.get("rejected")
    return ImportView(
        import_id=job_id,
        kind=job["kind"],
        format=job["format"],
        compression=job["compression"],
        dry_run=bool(job["dryRun"]),
        status=job["status"],
        size_bytes=size,
        validated_bytes=validated,
        progress=min(1.0, validated / size) if size else 1.0,
        lines=int(job.get("lines", 0)),
        rows=int(job.get("rows", 0)),
        invalid_rows=int(job.get("invalidRows", 0)),
        published_rows=int(job.get("createdRows", 0)),
        already_present_rows=int(job.get("presentRows", 0)),
        rejected=Rejection(code=rejected["code"], detail=rejected["detail"], line=rejected.get("line"))
        if rejected
        else None,
        error_counts={k: int(v) for k, v in (job.get("errorCounts") or {}).items()},
        errors=[RowError(line=int(e[0]), field=e[1], reason=e[2]) for e in (job.get("errors") or [])[:SHOWN_ERRORS]],
        report_url=report_url,
        aborted_reason=job.get("abortReason"),
        aborted_at=int(job["abortedAt"]) if "abortedAt" in job else None,
        publish_invocations=int(job.get("publishInvocations", 0)),
        last_progress_at=int(job["lastProgressAt"]) if "lastProgressAt" in job else None,
        created_at=int(job["createdAt"]),
        updated_at=int(job["updatedAt"]),
    )


def resume(job_id: str, *, tenant: TenantContext, env: ImportsEnv) -> ImportView:
    """POST /imports/{id}/resume: hand a publish that stalled (PUBLISHING, no invocation running it any more) to a fresh
    invocation of the validator, which publishes on from the job's cursor. A VALIDATED job that is not a dry run is
    moved to PUBLISHING first. Safe on a job that is only slow: the fresh invocation finds the running one's lease
    and does nothing. Any other status is a 409."""
    tenant.require_group(STAFF)
    ddb = env.dynamodb_for(tenant)
    job = jobs.get(ddb, env.table_name, tenant, job_id)
    if job["status"] == jobs.VALIDATED and not job["dryRun"]:
        jobs.update(
            ddb, env.table_name, tenant, job_id, expect=(jobs.VALIDATED,), status=jobs.PUBLISHING,
            publishedLines=int(job.get("publishedLines", 1 if job["format"] == "csv" else 0)),
            createdRows=int(job.get("createdRows", 0)), presentRows=int(job.get("presentRows", 0)),
        )  # fmt: skip
    # A fresh run of MAX_IDLE_HANDOFFS for the validator; only while PUBLISHING (a concurrent finish wins).
    if not jobs.update(
        ddb, env.table_name, tenant, job_id, expect=(jobs.PUBLISHING,), idleHandoffs=0, resumedAt=int(time.time()),
        resumedBy=tenant.user_id,
    ):  # fmt: skip
        now = jobs.get(ddb, env.table_name, tenant, job_id)
        dry = " (a dry run: it never publishes)" if now["status"] == jobs.VALIDATED else ""
        raise jobs.ImportStateConflict(
            f"Import {job_id} is {now['status']}{dry}: only a PUBLISHING import, or a VALIDATED one that is not a dry "
            "run, can be resumed."
        )
    jobs.start_publishing(
        env.validator_function_name, jobs.PublishTask(tenant_id=tenant.tenant_id, import_id=job_id, reason="resume")
    )
    return get(job_id, tenant=tenant, env=env)
