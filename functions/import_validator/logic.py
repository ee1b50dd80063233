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
   before is skipped), in batches of ``BATCH`` rows, moving the job's cursor (``publishedLines``) after each. It takes
   as many invocations as it needs: each claims the job (``jobs.claim_publishing``: a lease to its deadline, so a
   duplicate notification finds the job held; its cursor writes hold only while no newer invocation has claimed it),
   and near its end (``STOP_BEFORE_END_MS``) hands the job on to a fresh
   invocation of this function (``{"task": "publish"}``, an asynchronous Invoke) and returns normally. A handoff that
   moved no cursor (the invocation spent its time reading up to the cursor) counts as idle; ``MAX_IDLE_HANDOFFS`` in
   a row fail the job (``publish-stalled``) instead of chaining forever. An invocation that crashes mid-batch is
   retried by Lambda (S3's notification and a handoff are both asynchronous) and resumes after the cursor.
"""

from __future__ import annotations

import json
import time
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
STOP_BEFORE_END_MS = 60_000  # the headroom a batch of showtimes (each several writes) needs, with room to spare
MAX_IDLE_HANDOFFS = 3  # handoffs in a row that moved no cursor before the job fails instead of chaining on
SHOWN_ERRORS = 20


class _OutOfTime(Exception):  # noqa: N818 - control flow: the invocation hands the job on
    """The invocation is nearly out of time: stop reading and hand the job on to a fresh invocation."""


class _Superseded(Exception):  # noqa: N818 - control flow: a newer invocation owns the job
    """A newer invocation has claimed the job (or it left PUBLISHING): this one stops without writing more."""


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


def continue_publishing(task: jobs.PublishTask, *, env: ValidatorEnv, context: LambdaContext) -> None:
    """A handoff from an invocation near its end, or an operator's resume: publish on from the job's cursor."""
    tenant = _tenant(task.tenant_id)
    try:
        job = jobs.get(env.dynamodb_for(tenant), env.table_name, tenant, task.import_id)
    except jobs.ImportNotFound:
        logger.warning("A publish task without its import job: ignored", extra={"import_id": task.import_id})
        return
    if job["status"] != jobs.PUBLISHING:  # finished (a duplicate task), or failed meanwhile
        logger.info("Import not publishing: nothing to continue", extra={"import_id": task.import_id})
        return
    key = jobs.object_key(task.tenant_id, task.import_id)
    publish(job, env.imports_bucket, key, tenant=_tenant(task.tenant_id, job), env=env, context=context)


def publish(
    job: dict[str, Any], bucket: str, key: str, *, tenant: TenantContext, env: ValidatorEnv, context: LambdaContext
) -> None:
    ddb = env.dynamodb_for(tenant)
    now_ms = int(time.time() * 1000)
    claimed = jobs.claim_publishing(
        ddb, env.table_name, tenant, job["importId"],
        lease_until_ms=now_ms + context.get_remaining_time_in_millis(), now_ms=now_ms,
    )  # fmt: skip
    if claimed is None:
        logger.info(
            "Import not publishing, or a live invocation publishes it: nothing to do",
            extra={"import_id": job["importId"]},
        )
        return
    job = claimed
    invocation = int(job["publishInvocations"])
    try:
        _publish(job, invocation, bucket, key, tenant=tenant, env=env, context=context)
    except BaseException:
        # A crash: release the lease (while it is still ours), so that Lambda's retry of this event claims at once.
        jobs.update(
            ddb, env.table_name, tenant, job["importId"], expect=(jobs.PUBLISHING,), invocation=invocation,
            leaseUntil=0,
        )  # fmt: skip
        raise


def _publish(
    job: dict[str, Any],
    invocation: int,
    bucket: str,
    key: str,
    *,
    tenant: TenantContext,
    env: ValidatorEnv,
    context: LambdaContext,
) -> None:
    ddb = env.dynamodb_for(tenant)
    started_at = int(job.get("publishedLines", 0))
    spec = KINDS[job["kind"]]
    actor = Actor(sub=tenant.user_id, username=tenant.username, request_id=f"import:{job['importId']}")
    publisher = Publisher(
        spec, tenant=tenant, actor=actor, table=env.table_name, ddb=ddb,
        cursor=started_at, hold_lease_seconds=env.default_hold_lease_seconds,
    )  # fmt: skip
    publisher.created = int(job.get("createdRows", 0))
    publisher.present = int(job.get("presentRows", 0))
    pending: list[tuple[int, Any]] = []

    def out_of_time() -> bool:
        return context.get_remaining_time_in_millis() < STOP_BEFORE_END_MS

    def flush(*, last: bool = False) -> None:
        for _line, row in pending:
            publisher.write(row)
        publisher.cursor = pending[-1][0]
        if not jobs.update(
            ddb, env.table_name, tenant, job["importId"], expect=(jobs.PUBLISHING,), invocation=invocation,
            publishedLines=publisher.cursor, createdRows=publisher.created, presentRows=publisher.present,
            lastProgressAt=int(time.time()),
        ):  # fmt: skip
            raise _Superseded
        pending.clear()
        if not last and out_of_time():
            raise _OutOfTime

    def on_rows(first_line: int, rows: list[Any]) -> None:
        if out_of_time():  # still reading up to the cursor, or a partial batch: write it, then hand on
            if pending:
                flush()
            raise _OutOfTime
        for line, row in publisher.rows(first_line, rows):
            pending.append((line, row))
            if len(pending) >= BATCH:
                flush()

    try:
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
        if pending:
            flush(last=True)  # the file's last rows: the job succeeds in this invocation, whatever time is left
    except _OutOfTime:
        hand_on(job, invocation, started_at=started_at, cursor=publisher.cursor, tenant=tenant, env=env)
        return
    except _Superseded:
        logger.info("A newer invocation publishes this import: stopping", extra={"import_id": job["importId"]})
        return
    if result.rejected is not None or result.invalid_rows:
        # The object is immutable and validated: this is a bug or a replaced object. Stop where we are.
        jobs.update(ddb, env.table_name, tenant, job["importId"], expect=(jobs.PUBLISHING,), invocation=invocation,
                    status=jobs.FAILED,
                    rejected={"code": "changed", "detail": "The file no longer validates.", "line": None})  # fmt: skip
        return
    jobs.update(
        ddb, env.table_name, tenant, job["importId"], expect=(jobs.PUBLISHING,), invocation=invocation,
        status=jobs.SUCCEEDED,
    )  # fmt: skip
    logger.info(
        "Import published",
        extra={
            "import_id": job["importId"], "created_rows": publisher.created, "present_rows": publisher.present,
            "invocations": invocation,
        },
    )  # fmt: skip


def hand_on(
    job: dict[str, Any], invocation: int, *, started_at: int, cursor: int, tenant: TenantContext, env: ValidatorEnv
) -> None:
    """Near the invocation's end: record the handoff and invoke a fresh invocation that publishes on from the cursor
    (the cursor and the rows' deterministic ids make a repeat harmless). A handoff that moved no cursor is idle; the
    ``MAX_IDLE_HANDOFFS``-th idle one in a row fails the job instead."""
    ddb = env.dynamodb_for(tenant)
    idle = 0 if cursor > started_at else int(job.get("idleHandoffs", 0)) + 1
    if idle >= MAX_IDLE_HANDOFFS:
        jobs.update(
            ddb, env.table_name, tenant, job["importId"], expect=(jobs.PUBLISHING,), invocation=invocation,
            status=jobs.FAILED, idleHandoffs=idle,
            rejected={
                "code": "publish-stalled",
                "detail": f"Publishing made no progress in {idle} invocations in a row (the cursor stayed at line "
                f"{cursor}). The rows before it are published; importing the same file again skips them.",
                "line": cursor or None,
            },
        )  # fmt: skip
        logger.error("Import publishing stalled: failed", extra={"import_id": job["importId"], "cursor": cursor})
        return
    if not jobs.update(
        ddb, env.table_name, tenant, job["importId"], expect=(jobs.PUBLISHING,), invocation=invocation,
        idleHandoffs=idle, handedOnAt=int(time.time()), leaseUntil=0,
    ):  # fmt: skip
        logger.info("A newer invocation publishes this import: no handoff", extra={"import_id": job["importId"]})
        return
    jobs.start_publishing(
        env.range_function_name,
        jobs.PublishTask(tenant_id=tenant.tenant_id, import_id=job["importId"], reason="handoff"),
    )
    logger.info(
        "Import handed on to a fresh invocation",
        extra={"import_id": job["importId"], "cursor": cursor, "invocation": invocation, "idle": idle},
    )
