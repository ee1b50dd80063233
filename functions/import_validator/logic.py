"""The import validator: coordinator (S3 ObjectCreated), range validators, the report, and publishing.

1. The coordinator claims the job (UPLOADED/UPLOADING -> VALIDATING, conditional: a duplicate notification stops
   here, a retried one resumes a job left PUBLISHING), checks the file's first line, and cuts a file bigger than
   ``range_bytes`` into byte ranges. It invokes one range validator per range (``max_parallel_ranges`` at a time)
   and waits; each streams its range with Range GETs and returns its ``RangeResult``. A smaller (or gzip) file is
   validated in the coordinator itself.
2. The results are merged into one report (file line numbers, at most ``max_errors_per_field`` errors per field),
   referenced movies and auditoriums are checked to exist, and the report is written to S3.
3. Nothing is written unless every row is valid: a bad file FAILS with its report. A dry run stops at VALIDATED.
4. Publishing streams the file again and writes each row through the catalog (deterministic ids: a row imported
   before is skipped), in batches of ``BATCH`` rows, moving the job's cursor (``publishedLines``) after each. Near the
   invocation's end it stops and fails the invocation on purpose: Lambda's async retry (S3 invokes asynchronously)
   resumes after the cursor.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from marquee.core import aws
from marquee.core.logs import Logger
from marquee.history.versions import Actor
from marquee.imports import jobs
from marquee.imports.pipeline import Publisher, Report, check_references, merge, plan_ranges, read_range, sniff
from marquee.imports.schemas import KINDS
from marquee.imports.validation import FileRejected, RangeResult
from marquee.tenancy.tenant import TenantContext

from .models import RangeTask, ValidatorEnv

logger = Logger()
BATCH = 25
STOP_BEFORE_END_MS = 60_000
SHOWN_ERRORS = 20


class PublishingContinues(Exception):  # noqa: N818 - not an error: the async retry resumes after the cursor
    """The invocation is nearly out of time: fail it on purpose so that Lambda's async retry resumes publishing."""


def _tenant(tenant_id: str, job: dict[str, Any] | None = None) -> TenantContext:
    """The job's creator, in its tenant: the writes are theirs (versions record who imported what)."""
    creator = (job or {}).get("createdBy") or "import-validator"
    return TenantContext(
        tenant_id=tenant_id,
        user_id=creator,
        username=(job or {}).get("createdByName") or None,
        groups=frozenset({"staff"}),
    )


def on_object_created(record: dict[str, Any], *, env: ValidatorEnv, context: LambdaContext) -> None:
    bucket = record["s3"]["bucket"]["name"]
    key = record["s3"]["object"]["key"]
    parsed = jobs.parse_key(key)
    if parsed is None:
        logger.warning("An object outside the imports layout: ignored", extra={"key_length": len(key)})
        return
    tenant_id, job_id = parsed
    tenant = _tenant(tenant_id)
    ddb = env.dynamodb_for(tenant)
    try:
        job = jobs.get(ddb, env.table_name, tenant, job_id)
    except jobs.ImportNotFound:
        logger.warning("An upload without its import job: ignored", extra={"import_id": job_id})
        return
    tenant = _tenant(tenant_id, job)
    if job["status"] == jobs.PUBLISHING:
        publish(job, bucket, key, tenant=tenant, env=env, context=context)  # a retried invocation: resume
        return
    if job["status"] == jobs.ABORTED:  # a /complete that lost the race with DELETE: the file is not the import's
        logger.info("An upload completed after its import was aborted: ignored", extra={"import_id": job_id})
        return
    if not jobs.update(
        ddb, env.table_name, tenant, job_id, expect=(jobs.UPLOADING, jobs.UPLOADED), status=jobs.VALIDATING
    ):
        logger.info("Import already validated or validating: duplicate notification", extra={"import_id": job_id})
        return
    size = int(record["s3"]["object"].get("size") or aws.s3().head_object(Bucket=bucket, Key=key)["ContentLength"])
    report = validate(job, bucket, key, size, tenant=tenant, env=env)
    finish_validation(job, report, tenant=tenant, env=env)
    if report.ok and not job["dryRun"]:
        publish({**job, "status": jobs.PUBLISHING}, bucket, key, tenant=tenant, env=env, context=context)


def validate(
    job: dict[str, Any], bucket: str, key: str, size: int, *, tenant: TenantContext, env: ValidatorEnv
) -> Report:
    spec = KINDS[job["kind"]]
    gzip = job["compression"] == "gzip"
    s3 = aws.s3()
    try:
        sniff(s3, bucket, key, spec, job["format"], gzip=gzip)
    except FileRejected as rejected:
        return Report(rejected=rejected.as_dict())
    ranges = plan_ranges(size, range_bytes=env.range_bytes, gzip=gzip)
    if len(ranges) == 1:
        results = [
            read_range(
                s3, bucket, key, spec, job["format"], start=0, end=None, gzip=gzip,
                on_progress=_progress(job["importId"], tenant, env),
                max_errors_per_field=env.max_errors_per_field,
            )
        ]  # fmt: skip
    else:
        tasks = [
            RangeTask(
                tenant_id=tenant.tenant_id, import_id=job["importId"], bucket=bucket, key=key,
                kind=job["kind"], format=job["format"], start=start, end=end,
            )
            for start, end in ranges
        ]  # fmt: skip
        with ThreadPoolExecutor(max_workers=min(len(tasks), env.max_parallel_ranges)) as pool:
            results = list(pool.map(lambda t: _invoke_range(t, env), tasks))
    report = merge(results, cap=env.max_errors_per_field)
    if report.rejected is None:  # the valid rows' movies and auditoriums must exist, whatever else is wrong
        check_references(env.dynamodb_for(tenant), env.table_name, tenant, report)
    return report


def _invoke_range(task: RangeTask, env: ValidatorEnv) -> RangeResult:
    response = aws.lambda_().invoke(
        FunctionName=env.range_function_name, Payload=task.model_dump_json(by_alias=True).encode()
    )
    payload = json.loads(response["Payload"].read() or b"null")
    if response.get("FunctionError") or not isinstance(payload, dict):
        return RangeResult(
            rejected={
                "code": "validator-failed",
                "detail": "A range validator failed; the import can be retried.",
                "line": None,
            }
        )
    return RangeResult.from_dict(payload)


def _progress(job_id: str, tenant: TenantContext, env: ValidatorEnv) -> Any:
    ddb = env.dynamodb_for(tenant)

    def report(validated: int) -> None:
        jobs.update(ddb, env.table_name, tenant, job_id, add={"validatedBytes": validated})

    return report


def validate_range(task: RangeTask, *, env: ValidatorEnv) -> dict[str, Any]:
    tenant = _tenant(task.tenant_id)
    result = read_range(
        aws.s3(), task.bucket, task.key, KINDS[task.kind], task.format, start=task.start, end=task.end, gzip=False,
        on_progress=_progress(task.import_id, tenant, env), max_errors_per_field=env.max_errors_per_field,
    )  # fmt: skip
    return result.to_dict()


def finish_validation(job: dict[str, Any], report: Report, *, tenant: TenantContext, env: ValidatorEnv) -> None:
    report_key = jobs.report_key(tenant.tenant_id, job["importId"])
    aws.s3().put_object(
        Bucket=env.imports_bucket,
        Key=report_key,
        Body=json.dumps({"importId": job["importId"], "kind": job["kind"], **report.to_dict()}).encode(),
        ContentType="application/json",
    )
    status = jobs.FAILED if not report.ok else (jobs.VALIDATED if job["dryRun"] else jobs.PUBLISHING)
    jobs.update(
        env.dynamodb_for(tenant), env.table_name, tenant, job["importId"], expect=(jobs.VALIDATING,),
        status=status, lines=report.lines, rows=report.rows, invalidRows=report.invalid_rows,
        validatedBytes=report.bytes, rejected=report.rejected, errorCounts=report.error_counts,
        errors=[[e.line, e.field, e.reason] for e in report.errors[:SHOWN_ERRORS]], reportKey=report_key,
        publishedLines=1 if job["format"] == "csv" else 0, createdRows=0, presentRows=0,
    )  # fmt: skip
    logger.info(
        "Import validated",
        extra={"import_id": job["importId"], "status": status, "rows": report.rows, "invalid": report.invalid_rows},
    )


def publish(
    job: dict[str, Any], bucket: str, key: str, *, tenant: TenantContext, env: ValidatorEnv, context: LambdaContext
) -> None:
    ddb = env.dynamodb_for(tenant)
    job = jobs.get(ddb, env.table_name, tenant, job["importId"])
    spec = KINDS[job["kind"]]
    actor = Actor(sub=tenant.user_id, username=tenant.username, request_id=f"import:{job['importId']}")
    publisher = Publisher(
        spec, tenant=tenant, actor=actor, table=env.table_name, ddb=ddb,
        cursor=int(job.get("publishedLines", 0)), hold_lease_seconds=env.default_hold_lease_seconds,
    )  # fmt: skip
    publisher.created = int(job.get("createdRows", 0))
    publisher.present = int(job.get("presentRows", 0))
    pending: list[tuple[int, Any]] = []

    def flush() -> None:
        for _line, row in pending:
            publisher.write(row)
        publisher.cursor = pending[-1][0]
        jobs.update(
            ddb, env.table_name, tenant, job["importId"], expect=(jobs.PUBLISHING,),
            publishedLines=publisher.cursor, createdRows=publisher.created, presentRows=publisher.present,
        )  # fmt: skip
        pending.clear()
        if context.get_remaining_time_in_millis() < STOP_BEFORE_END_MS:
            raise PublishingContinues(f"Published up to line {publisher.cursor}; the retry resumes there.")

    def on_rows(first_line: int, rows: list[Any]) -> None:
        for line, row in publisher.rows(first_line, rows):
            pending.append((line, row))
            if len(pending) >= BATCH:
                flush()

    result = read_range(
        aws.s3(),
        bucket,
        key,
        spec,
        job["format"],
        start=0,
        end=None,
        gzip=job["compression"] == "gzip",
        on_rows=on_rows,
    )
    if result.rejected is not None or result.invalid_rows:
        # The object is immutable and validated: this is a bug or a replaced object. Stop where we are.
        jobs.update(ddb, env.table_name, tenant, job["importId"], expect=(jobs.PUBLISHING,), status=jobs.FAILED,
                    rejected={"code": "changed", "detail": "The file no longer validates.", "line": None})  # fmt: skip
        return
    if pending:
        flush()
    jobs.update(ddb, env.table_name, tenant, job["importId"], expect=(jobs.PUBLISHING,), status=jobs.SUCCEEDED)
    logger.info(
        "Import published",
        extra={"import_id": job["importId"], "created": publisher.created, "present": publisher.present},
    )
