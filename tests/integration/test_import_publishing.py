"""Publishing an import as a chain of invocations, in-process on moto: the validator hands a publish that outlasts an
invocation on to a fresh one (an asynchronous Invoke, recorded here and run by the test as Lambda would), the
no-progress guard fails a publish that never moves, a crash mid-batch resumes from the cursor on Lambda's retry, an
older invocation stops once a newer one claims the job, and POST /imports/{id}/resume answers per state."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import boto3
import pytest

from marquee.core import aws
from marquee.imports import jobs
from marquee.tenancy.tenant import TenantContext

from .conftest import REGION, Platform, imports_function, invoke, load_event, load_function, use_tenant_role

BUCKET = "imports-test"
VALIDATOR = "marquee-import-validator"
TENANT = TenantContext(tenant_id="pub-tenant", user_id="staff-1", groups=frozenset({"staff"}))
BATCH = 5  # the validator writes 25 rows a batch; 5 here keeps moto quick
ROWS = 26  # 5 batches of 5 and one of 1


@dataclass
class Context:
    """A Lambda context whose remaining time is ``first_ms`` for the first two asks (the claim's lease, the first read)
    and ``then_ms`` after: with 30 s after them, an invocation writes one batch and hands on (``STOP_BEFORE_END_MS`` is
    60 s)."""

    first_ms: int = 900_000
    then_ms: int = 30_000
    asked: int = 0
    function_name: str = VALIDATOR
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = f"arn:aws:lambda:{REGION}:123456789012:function:{VALIDATOR}"
    aws_request_id: str = "00000000-0000-4000-8000-000000000001"

    def get_remaining_time_in_millis(self) -> int:
        self.asked += 1
        return self.first_ms if self.asked <= 2 else self.then_ms


@dataclass
class AsyncLambda:
    """Stands in for Lambda's Invoke: ``Event`` invocations are queued (``run_all`` runs them as Lambda would)."""

    queued: list[dict[str, Any]] = field(default_factory=list)
    calls: list[dict[str, Any]] = field(default_factory=list)

    def invoke(self, *, FunctionName: str, Payload: bytes, InvocationType: str = "RequestResponse") -> dict[str, Any]:  # noqa: N803
        assert (FunctionName, InvocationType) == (VALIDATOR, "Event"), (FunctionName, InvocationType)
        payload = json.loads(Payload)
        self.calls.append(payload)
        self.queued.append(payload)
        return {"StatusCode": 202}

    def run_all(self, validator: ModuleType, context: Callable[[], Any], *, limit: int = 50) -> int:
        ran = 0
        while self.queued:
            assert ran < limit, "the chain did not end"
            validator.handler(self.queued.pop(0), context())
            ran += 1
        return ran


@pytest.fixture
def lambda_(monkeypatch: pytest.MonkeyPatch) -> AsyncLambda:
    fake = AsyncLambda()
    monkeypatch.setattr(aws, "lambda_", lambda: fake)
    return fake


@pytest.fixture
def validator(platform: Platform, monkeypatch: pytest.MonkeyPatch, lambda_: AsyncLambda) -> ModuleType:
    use_tenant_role(platform.table_name, monkeypatch)
    boto3.client("s3", region_name=REGION).create_bucket(Bucket=BUCKET)
    for name, value in {
        "POWERTOOLS_SERVICE_NAME": "import-validator",
        "IMPORTS_BUCKET": BUCKET,
        "RANGE_BYTES": str(256 * 1024 * 1024),
        "MAX_PARALLEL_RANGES": "8",
        "RANGE_FUNCTION_NAME": VALIDATOR,
        "DEFAULT_HOLD_LEASE_SECONDS": "300",
        "MAX_ERRORS_PER_FIELD": "100",
    }.items():
        monkeypatch.setenv(name, value)
    module = load_function("import_validator")
    monkeypatch.setattr(module.logic, "BATCH", BATCH)
    return module


def _ddb() -> Any:
    return boto3.client("dynamodb", region_name=REGION)


def uploaded(platform: Platform, rows: int = ROWS, *, status: str = jobs.UPLOADED) -> str:
    """A cinemas CSV of ``rows`` rows in S3 and its job, as POST /imports and /complete leave them."""
    job_id = jobs.new_job_id()
    body = "name,city\n" + "".join(f"Hall {i},Porto\n" for i in range(rows))
    boto3.client("s3", region_name=REGION).put_object(
        Bucket=BUCKET, Key=jobs.object_key(TENANT.tenant_id, job_id), Body=body.encode()
    )
    jobs.create(
        _ddb(),
        platform.table_name,
        TENANT,
        {
            "importId": job_id,
            "kind": "cinemas",
            "format": "csv",
            "compression": "none",
            "sizeBytes": len(body),
            "dryRun": False,
            "status": status,
            "createdBy": TENANT.user_id,
            "createdByName": "",
            "createdAt": 0,
            "updatedAt": 0,
        },
    )
    return job_id


def object_created(job_id: str) -> dict[str, Any]:
    event = copy.deepcopy(load_event("import_validator/object_created.json"))
    record = event["Records"][0]["s3"]
    record["bucket"]["name"] = BUCKET
    key = jobs.object_key(TENANT.tenant_id, job_id)
    record["object"]["key"] = key
    record["object"]["size"] = boto3.client("s3", region_name=REGION).head_object(Bucket=BUCKET, Key=key)[
        "ContentLength"
    ]
    return event


def job_of(platform: Platform, job_id: str) -> dict[str, Any]:
    return jobs.get(_ddb(), platform.table_name, TENANT, job_id)


def cinemas_written(platform: Platform) -> list[str]:
    items = _ddb().scan(TableName=platform.table_name)["Items"]
    return [i["pk"]["S"] for i in items if "#CINEMA#" in i["pk"]["S"] and i["sk"]["S"] == "META"]


def test_a_publish_longer_than_an_invocation_hands_itself_on_until_every_row_is_written_once(
    platform: Platform, validator: ModuleType, lambda_: AsyncLambda
) -> None:
    job_id = uploaded(platform)
    validator.handler(object_created(job_id), Context())  # validates, publishes one batch, hands on
    first = job_of(platform, job_id)
    assert (first["status"], first["publishedLines"], first["publishInvocations"]) == (jobs.PUBLISHING, BATCH + 1, 1)
    assert lambda_.calls == [{"task": "publish", "tenantId": TENANT.tenant_id, "importId": job_id, "reason": "handoff"}]

    ran = lambda_.run_all(validator, Context)

    job = job_of(platform, job_id)
    assert job["status"] == jobs.SUCCEEDED and job["publishedLines"] == ROWS + 1
    assert (job["createdRows"], job["presentRows"]) == (ROWS, 0)  # none written twice, none skipped
    assert job["publishInvocations"] == 6 and ran == 5  # one batch each: 5 x 5, then the last row
    assert job["idleHandoffs"] == 0 and job["lastProgressAt"] > 0
    written = cinemas_written(platform)
    assert len(written) == len(set(written)) == ROWS


def test_a_publish_that_never_moves_its_cursor_fails_after_the_idle_handoffs_instead_of_chaining_forever(
    platform: Platform, validator: ModuleType, lambda_: AsyncLambda
) -> None:
    """Fault injection: every invocation starts too close to its end to write a batch (as one that spends its time
    reading a huge file up to the cursor would)."""
    job_id = uploaded(platform)
    starved = lambda: Context(first_ms=10_000, then_ms=10_000)  # noqa: E731
    validator.handler(object_created(job_id), starved())
    ran = lambda_.run_all(validator, starved)

    job = job_of(platform, job_id)
    assert job["status"] == jobs.FAILED and job["rejected"]["code"] == "publish-stalled"
    assert "no progress in 3 invocations" in job["rejected"]["detail"]
    assert job["publishInvocations"] == validator.logic.MAX_IDLE_HANDOFFS == 3 and ran == 2
    assert job["createdRows"] == 0 and not cinemas_written(platform) and not lambda_.queued


def test_an_invocation_that_made_progress_resets_the_idle_count(
    platform: Platform, validator: ModuleType, lambda_: AsyncLambda
) -> None:
    job_id = uploaded(platform)
    jobs.update(_ddb(), platform.table_name, TENANT, job_id, status=jobs.VALIDATING)
    validator.handler(object_created(job_id), Context())  # a duplicate notification: ignored, nothing queued
    assert not lambda_.queued
    jobs.update(
        _ddb(), platform.table_name, TENANT, job_id, status=jobs.PUBLISHING, publishedLines=1, createdRows=0,
        presentRows=0, idleHandoffs=2,
    )  # fmt: skip
    validator.handler(object_created(job_id), Context())  # the retried notification: one batch, then hands on
    assert job_of(platform, job_id)["idleHandoffs"] == 0
    lambda_.run_all(validator, Context)
    assert job_of(platform, job_id)["status"] == jobs.SUCCEEDED


def before_row(monkeypatch: pytest.MonkeyPatch, n: int, action: Callable[[], None]) -> None:
    """Run ``action`` just before the publisher writes its ``n``th row (then write it, unless ``action`` raised)."""
    from marquee.imports.pipeline import Publisher

    write = Publisher.write
    calls = {"n": 0}

    def patched(self: Publisher, row: Any) -> None:
        calls["n"] += 1
        if calls["n"] == n:
            action()
        write(self, row)

    monkeypatch.setattr(Publisher, "write", patched)


def test_an_invocation_that_crashes_mid_batch_is_retried_and_resumes_after_the_cursor(
    platform: Platform, validator: ModuleType, lambda_: AsyncLambda, monkeypatch: pytest.MonkeyPatch
) -> None:
    job_id = uploaded(platform)

    def crash() -> None:
        raise ConnectionError("the worker died")

    before_row(monkeypatch, BATCH + 3, crash)  # the third row of the second batch
    always = lambda: Context(then_ms=900_000)  # noqa: E731 - time enough: one invocation would do it all
    with pytest.raises(ConnectionError):
        validator.handler(object_created(job_id), always())
    assert job_of(platform, job_id)["publishedLines"] == BATCH + 1  # the first batch; 2 rows of the second are written
    validator.handler(object_created(job_id), always())  # Lambda's async retry of the same event

    job = job_of(platform, job_id)
    assert job["status"] == jobs.SUCCEEDED and job["createdRows"] + job["presentRows"] == ROWS
    assert job["presentRows"] == 2  # the crashed batch's rows, found on the retry and not written again
    written = cinemas_written(platform)
    assert len(written) == len(set(written)) == ROWS and not lambda_.calls


def test_a_duplicate_notification_during_a_live_publish_finds_the_job_held_and_does_nothing(
    platform: Platform, validator: ModuleType, lambda_: AsyncLambda, monkeypatch: pytest.MonkeyPatch
) -> None:
    job_id = uploaded(platform)

    def duplicate() -> None:  # S3 delivers the notification again (at least once) while this invocation publishes
        validator.handler(object_created(job_id), Context(then_ms=900_000))
        validator.handler(
            {"task": "publish", "tenantId": TENANT.tenant_id, "importId": job_id, "reason": "resume"},
            Context(then_ms=900_000),
        )  # and an operator resumes it, though it is only slow

    before_row(monkeypatch, 3, duplicate)
    validator.handler(object_created(job_id), Context(then_ms=900_000))
    job = job_of(platform, job_id)
    assert (job["status"], job["publishInvocations"]) == (jobs.SUCCEEDED, 1)
    assert (job["createdRows"], job["presentRows"]) == (ROWS, 0) and not lambda_.calls


def test_an_older_invocation_stops_once_a_newer_one_claims_the_job(
    platform: Platform, validator: ModuleType, lambda_: AsyncLambda, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Defence in depth: an invocation still running past its lease (a clock that jumped) is fenced by the claim."""
    import time

    job_id = uploaded(platform)

    def late_claim() -> None:  # a fresh invocation claims the job as if this one's lease had ended
        later = int(time.time() * 1000) + 3_600_000
        claimed = jobs.claim_publishing(
            _ddb(), platform.table_name, TENANT, job_id, lease_until_ms=later + 900_000, now_ms=later
        )
        assert claimed is not None

    before_row(monkeypatch, 3, late_claim)
    validator.handler(object_created(job_id), Context(then_ms=900_000))
    job = job_of(platform, job_id)
    assert (job["status"], job["publishedLines"], job["publishInvocations"]) == (jobs.PUBLISHING, 1, 2)
    assert not lambda_.calls  # the older one neither moved the cursor nor handed on
    jobs.update(_ddb(), platform.table_name, TENANT, job_id, leaseUntil=0)  # that fresh invocation, then gone
    validator.handler(
        {"task": "publish", "tenantId": TENANT.tenant_id, "importId": job_id, "reason": "resume"},
        Context(then_ms=900_000),
    )
    job = job_of(platform, job_id)
    assert job["status"] == jobs.SUCCEEDED and job["createdRows"] + job["presentRows"] == ROWS


# -- POST /imports/{id}/resume -----------------------------------------------------------------------------------------


@pytest.fixture
def imports(platform: Platform, monkeypatch: pytest.MonkeyPatch, lambda_: AsyncLambda) -> ModuleType:
    use_tenant_role(platform.table_name, monkeypatch)
    boto3.client("s3", region_name=REGION).create_bucket(Bucket=BUCKET)
    return imports_function(monkeypatch, bucket=BUCKET, validator=VALIDATOR)


def resume(module: ModuleType, job_id: str, *, groups: str = "staff", tenant: str | None = None) -> Any:
    event = copy.deepcopy(load_event("imports/create_import.json"))
    event.update(httpMethod="POST", path=f"/imports/{job_id}/resume", resource="/imports/{importId}/resume", body=None)
    event["pathParameters"] = {"importId": job_id}
    for headers in (event["headers"], event["multiValueHeaders"]):
        for key in [k for k in headers if k.lower() == "content-type"]:
            del headers[key]
    claims = event["requestContext"]["authorizer"]["claims"]
    claims.update({"cognito:groups": groups, "custom:tenant_id": tenant or TENANT.tenant_id})
    return invoke(module, event)


def test_resume_hands_a_stalled_publish_to_a_fresh_invocation_which_finishes_it(
    platform: Platform, imports: ModuleType, lambda_: AsyncLambda, monkeypatch: pytest.MonkeyPatch
) -> None:
    job_id = uploaded(platform, status=jobs.PUBLISHING)
    jobs.update(
        _ddb(), platform.table_name, TENANT, job_id, publishedLines=1, createdRows=0, presentRows=0, idleHandoffs=2
    )
    answer = resume(imports, job_id)
    assert answer.status == 202, answer.body
    assert (answer.body["status"], answer.body["publishInvocations"]) == ("PUBLISHING", 0)
    assert lambda_.calls == [{"task": "publish", "tenantId": TENANT.tenant_id, "importId": job_id, "reason": "resume"}]
    assert job_of(platform, job_id)["idleHandoffs"] == 0  # the operator gives it a fresh run of idle handoffs

    for name, value in {
        "POWERTOOLS_SERVICE_NAME": "import-validator",
        "RANGE_BYTES": str(256 * 1024 * 1024),
        "MAX_PARALLEL_RANGES": "8",
        "RANGE_FUNCTION_NAME": VALIDATOR,
        "DEFAULT_HOLD_LEASE_SECONDS": "300",
        "MAX_ERRORS_PER_FIELD": "100",
    }.items():
        monkeypatch.setenv(name, value)
    validator = load_function("import_validator")
    monkeypatch.setattr(validator.logic, "BATCH", BATCH)
    lambda_.run_all(validator, Context)
    done = job_of(platform, job_id)
    assert (done["status"], done["createdRows"]) == (jobs.SUCCEEDED, ROWS) and done["publishInvocations"] > 3


def test_resume_of_a_validated_import_that_is_not_a_dry_run_starts_publishing(
    platform: Platform, imports: ModuleType, lambda_: AsyncLambda
) -> None:
    job_id = uploaded(platform, status=jobs.VALIDATED)
    answer = resume(imports, job_id)
    assert answer.status == 202 and answer.body["status"] == "PUBLISHING", answer.body
    job = job_of(platform, job_id)
    assert (job["publishedLines"], job["createdRows"]) == (1, 0)  # after the CSV header
    assert [c["reason"] for c in lambda_.calls] == ["resume"]


@pytest.mark.parametrize(
    ("status", "dry_run"),
    [
        (jobs.VALIDATED, True),
        (jobs.SUCCEEDED, False),
        (jobs.FAILED, False),
        (jobs.UPLOADING, False),
        (jobs.VALIDATING, False),
        (jobs.ABORTED, False),
    ],
)
def test_resume_in_any_other_state_is_a_409_problem_and_invokes_nothing(
    platform: Platform, imports: ModuleType, lambda_: AsyncLambda, status: str, dry_run: bool
) -> None:
    job_id = uploaded(platform, status=status)
    jobs.update(_ddb(), platform.table_name, TENANT, job_id, dryRun=dry_run)
    answer = resume(imports, job_id)
    assert answer.status == 409 and answer.content_type == "application/problem+json", answer.body
    assert answer.body["type"].endswith(":import-state-conflict") and status in answer.body["detail"]
    assert job_of(platform, job_id)["status"] == status and not lambda_.calls


def test_resume_of_an_unknown_or_another_tenants_import_is_a_404_and_needs_staff(
    platform: Platform, imports: ModuleType, lambda_: AsyncLambda
) -> None:
    job_id = uploaded(platform, status=jobs.PUBLISHING)
    unknown = resume(imports, jobs.new_job_id())
    assert unknown.status == 404 and unknown.body["type"].endswith(":import-not-found")
    assert resume(imports, job_id, tenant="rival").status == 404
    assert resume(imports, job_id, groups="customer").status == 403
    assert not lambda_.calls


def test_the_sample_events_replay_cleanly(
    platform: Platform, validator: ModuleType, imports: ModuleType, lambda_: AsyncLambda
) -> None:
    """events/import_validator/publish_task.json (an unknown job: ignored) and events/imports/resume_import.json (an
    unknown job: a 404 problem), as `marquee invoke` and tests/e2e/test_zy_sample_events.py replay them."""
    assert validator.handler(load_event("import_validator/publish_task.json"), Context()) is None
    answer = invoke(imports, load_event("imports/resume_import.json"))
    assert answer.status == 404 and answer.content_type == "application/problem+json"
    assert not lambda_.calls
