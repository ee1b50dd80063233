"""The imports API in-process on moto (the sample events of events/imports): an upload S3 has aborted, and bad input
on every import route, each a 4xx problem (tests/e2e/test_imports.py runs the same on a deployed stack)."""

from __future__ import annotations

import copy
import json
import threading
import time
from types import ModuleType
from typing import Any

import boto3
import pytest

from .conftest import REGION, Invocation, Platform, imports_function, invoke, load_event, use_tenant_role

BUCKET = "imports-test"


@pytest.fixture
def imports(platform: Platform, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    use_tenant_role(platform.table_name, monkeypatch)
    # moto with the local cloud's NoSuchUpload check (localcloud/s3/multipart.py), as the deployed stack runs it
    from moto.s3.models import S3Backend

    from localcloud.s3 import multipart

    for name, method in multipart.checked_methods().items():
        monkeypatch.setattr(S3Backend, name, method)
    boto3.client("s3", region_name=REGION).create_bucket(Bucket=BUCKET)
    return imports_function(monkeypatch, bucket=BUCKET, validator="marquee-import-validator")


def request(
    module: ModuleType, method: str, path: str, body: bytes | str | None, content_type: str = "application/json"
) -> Invocation:
    event = copy.deepcopy(load_event("imports/create_import.json"))
    event["httpMethod"], event["path"] = method, path
    parts = path.strip("/").split("/")
    event["resource"] = (
        "/imports" + ("/{importId}" if len(parts) > 1 else "") + (f"/{parts[2]}" if len(parts) > 2 else "")
    )
    event["pathParameters"] = {"importId": parts[1]} if len(parts) > 1 else None
    event["body"] = body.decode() if isinstance(body, bytes) else body
    for headers in (event["headers"], event["multiValueHeaders"]):
        for key in [k for k in headers if k.lower() == "content-type"]:
            del headers[key]
    if body is not None:
        event["headers"]["Content-Type"] = content_type
        event["multiValueHeaders"]["Content-Type"] = [content_type]
    return invoke(module, event)


def create(module: ModuleType) -> str:
    created = request(module, "POST", "/imports", json.dumps({"kind": "cinemas", "format": "csv", "sizeBytes": 30}))
    assert created.status == 201, created.body
    return str(created.body["importId"])


def test_an_upload_s3_aborted_is_a_410_problem_on_parts_and_complete(imports: ModuleType) -> None:
    job = create(imports)
    s3 = boto3.client("s3", region_name=REGION)
    pending = s3.list_multipart_uploads(Bucket=BUCKET)["Uploads"]
    assert len(pending) == 1 and job in pending[0]["Key"]
    s3.abort_multipart_upload(Bucket=BUCKET, Key=pending[0]["Key"], UploadId=pending[0]["UploadId"])
    for route, body in (
        ("parts", {"partNumbers": [1]}),
        ("complete", {"parts": [{"partNumber": 1, "etag": "0" * 32}]}),
    ):
        answer = request(imports, "POST", f"/imports/{job}/{route}", json.dumps(body))
        assert answer.status == 410 and answer.content_type == "application/problem+json", (route, answer.body)
        assert answer.body["type"].endswith(":import-upload-gone") and "POST /imports" in answer.body["detail"]
    # the first 410 ended the job: ABORTED, with why and when (it no longer waits in UPLOADING forever)
    view = request(imports, "GET", f"/imports/{job}", None).body
    assert (view["status"], view["abortedReason"]) == ("ABORTED", "upload-gone") and view["abortedAt"] > 0


def test_a_completed_upload_asked_for_parts_again_is_a_409_not_a_410(imports: ModuleType) -> None:
    job = create(imports)
    s3 = boto3.client("s3", region_name=REGION)
    pending = s3.list_multipart_uploads(Bucket=BUCKET)["Uploads"][0]
    etag = s3.upload_part(
        Bucket=BUCKET, Key=pending["Key"], UploadId=pending["UploadId"], PartNumber=1, Body=b"name,city\nA,B\n"
    )["ETag"]
    done = request(
        imports, "POST", f"/imports/{job}/complete", json.dumps({"parts": [{"partNumber": 1, "etag": etag.strip('"')}]})
    )
    assert done.status == 202, done.body
    again = request(imports, "POST", f"/imports/{job}/parts", json.dumps({"partNumbers": [1]}))
    assert again.status == 409 and again.body["type"].endswith(":import-state-conflict")


def test_a_completion_listing_a_part_twice_is_a_422_before_s3(imports: ModuleType) -> None:
    job = create(imports)
    part = {"partNumber": 1, "etag": "0" * 32}
    answer = request(imports, "POST", f"/imports/{job}/complete", json.dumps({"parts": [part, part]}))
    assert answer.status == 422 and answer.content_type == "application/problem+json"
    assert [error["loc"][-1] for error in answer.body["errors"]] == ["parts"]


BAD: list[tuple[str, str, bytes | None, str]] = [
    ("POST", "/imports", b"name,city\n", "text/csv"),
    ("POST", "/imports", b'{"kind": "cinemas", "format": ', "application/json"),
    ("POST", "/imports", b'[{"kind": "cinemas"}]', "application/json"),
    ("POST", "/imports", b'{"kind": "cinemas", "format": "csv", "sizeBytes": -1}', "application/json"),
    ("POST", "/imports", b'{"kind": "cinemas", "format": "csv", "sizeBytes": 1e30}', "application/json"),
    (
        "POST",
        "/imports",
        b'{"kind": "cinemas", "format": "csv", "sizeBytes": 99999999999999999999}',
        "application/json",
    ),
    ("POST", "/imports", b'{"kind": "' + b"x" * 300_000 + b'"}', "application/json"),
    ("POST", "/imports", b'{"kind": {"a": [1, 2]}, "format": null, "sizeBytes": "9"}', "application/json"),
    ("POST", "/imports", b'{"kind": "cinemas", "format": "csv", "sizeBytes": 9, "dryRun": "yes"}', "application/json"),
    ("POST", "/imports/{id}/parts", b'{"partNumbers": []}', "application/json"),
    ("POST", "/imports/{id}/parts", b'{"partNumbers": [0, 10001, 1.5]}', "application/json"),
    ("POST", "/imports/{id}/parts", b'{"partNumbers": "1"}', "application/json"),
    ("POST", "/imports/{id}/parts", b'{"partNumbers": [' + b"1," * 1500 + b"1]}", "application/json"),
    ("POST", "/imports/{id}/parts", b"<partNumbers>1</partNumbers>", "application/xml"),
    ("POST", "/imports/{id}/parts", None, "application/json"),
    ("POST", "/imports/{id}/complete", b'{"parts": [{"partNumber": 1}]}', "application/json"),
    ("POST", "/imports/{id}/complete", b'{"parts": [{"partNumber": 1, "etag": "zz"}]}', "application/json"),
    (
        "POST",
        "/imports/{id}/complete",
        b'{"parts": [{"partNumber": 2, "etag": "' + b"a" * 32 + b'"}]}',
        "application/json",
    ),
    ("POST", "/imports/{id}/complete", b"{", "application/json"),
    (
        "POST",
        "/imports/{id}/complete",
        b'{"parts": [{"partNumber": 1, "etag": "' + b"a" * 32 + b'", "x": 1}]}',
        "application/json",
    ),
    ("POST", "/imports/imp_none/parts", b'{"partNumbers": [1]}', "application/json"),
    ("GET", "/imports/imp_none", None, "application/json"),
]


@pytest.mark.parametrize(
    ("method", "path", "body", "content_type"), BAD, ids=[f"{i}-{b[1]}" for i, b in enumerate(BAD)]
)
def test_bad_input_on_an_import_route_is_a_4xx_problem_never_a_5xx(
    imports: ModuleType, method: str, path: str, body: bytes | None, content_type: str
) -> None:
    job = create(imports)
    answer = request(imports, method, path.replace("{id}", job), body, content_type)
    assert 400 <= answer.status < 500 and answer.content_type == "application/problem+json", (
        answer.status,
        answer.body,
    )


# ---- ending an upload: DELETE /imports/{id}, and uploads S3 no longer holds -----------------------------------------
def _pending(job: str) -> list[dict[str, Any]]:
    uploads = boto3.client("s3", region_name=REGION).list_multipart_uploads(Bucket=BUCKET).get("Uploads", [])
    return [u for u in uploads if job in u["Key"]]


def _upload_one_part(job: str) -> list[dict[str, Any]]:
    s3 = boto3.client("s3", region_name=REGION)
    (pending,) = _pending(job)
    etag = s3.upload_part(
        Bucket=BUCKET, Key=pending["Key"], UploadId=pending["UploadId"], PartNumber=1, Body=b"name,city\nA,B\n"
    )["ETag"]
    return [{"partNumber": 1, "etag": etag.strip('"')}]


def _object_exists(job: str) -> bool:
    listed = boto3.client("s3", region_name=REGION).list_objects_v2(Bucket=BUCKET, Prefix=f"imports/acme-cinemas/{job}")
    return bool(listed.get("Contents"))


def test_delete_aborts_the_upload_and_ends_the_job_and_a_repeat_is_the_same_204(imports: ModuleType) -> None:
    job = create(imports)
    assert len(_pending(job)) == 1
    deleted = request(imports, "DELETE", f"/imports/{job}", None)
    assert deleted.status == 204 and deleted.body == {}
    assert _pending(job) == []  # S3 dropped the parts
    view = request(imports, "GET", f"/imports/{job}", None).body
    assert (view["status"], view["abortedReason"]) == ("ABORTED", "deleted")
    first_at = view["abortedAt"]
    again = request(imports, "DELETE", f"/imports/{job}", None)
    assert again.status == 204
    view = request(imports, "GET", f"/imports/{job}", None).body
    assert (view["status"], view["abortedReason"], view["abortedAt"]) == ("ABORTED", "deleted", first_at)
    for route, body in (
        ("parts", {"partNumbers": [1]}),
        ("complete", {"parts": [{"partNumber": 1, "etag": "0" * 32}]}),
    ):
        answer = request(imports, "POST", f"/imports/{job}/{route}", json.dumps(body))
        assert answer.status == 410 and answer.body["type"].endswith(":import-upload-gone"), (route, answer.body)
        assert "(deleted)" in answer.body["detail"]


def test_delete_of_an_unknown_import_is_a_404_problem(imports: ModuleType) -> None:
    answer = request(imports, "DELETE", "/imports/imp_none", None)
    assert answer.status == 404 and answer.content_type == "application/problem+json"
    assert answer.body["type"].endswith(":import-not-found")


def test_delete_after_the_upload_completed_is_a_409_and_changes_nothing(imports: ModuleType) -> None:
    job = create(imports)
    done = request(imports, "POST", f"/imports/{job}/complete", json.dumps({"parts": _upload_one_part(job)}))
    assert done.status == 202, done.body
    answer = request(imports, "DELETE", f"/imports/{job}", None)
    assert answer.status == 409 and answer.content_type == "application/problem+json"
    assert answer.body["type"].endswith(":import-state-conflict") and "UPLOADED" in answer.body["detail"]
    view = request(imports, "GET", f"/imports/{job}", None).body
    assert (view["status"], view["abortedReason"], view["abortedAt"]) == ("UPLOADED", None, None)
    assert _object_exists(job)


def test_delete_needs_the_tenants_staff(imports: ModuleType) -> None:
    job = create(imports)
    event_path = f"/imports/{job}"
    customer = copy.deepcopy(load_event("imports/create_import.json"))
    customer.update(httpMethod="DELETE", path=event_path, resource="/imports/{importId}", body=None)
    customer["pathParameters"] = {"importId": job}
    customer["requestContext"]["authorizer"]["claims"]["cognito:groups"] = "customer"
    assert invoke(imports, customer).status == 403
    other = copy.deepcopy(customer)
    other["requestContext"]["authorizer"]["claims"].update({"cognito:groups": "staff", "custom:tenant_id": "rival"})
    assert invoke(imports, other).status == 404  # another tenant's staff: no such import in its tenant
    assert len(_pending(job)) == 1 and request(imports, "GET", event_path, None).body["status"] == "UPLOADING"


def _age(job: str, days: float) -> None:
    """Backdate the job, as if it were created ``days`` ago."""
    ddb = boto3.client("dynamodb", region_name=REGION)
    (item,) = [
        i
        for i in ddb.scan(TableName=ddb.list_tables()["TableNames"][0])["Items"]
        if i["pk"]["S"].endswith(f"IMPORT#{job}")
    ]
    created = int(time.time() - days * 24 * 3600)
    ddb.update_item(
        TableName=ddb.list_tables()["TableNames"][0],
        Key={"pk": item["pk"], "sk": item["sk"]},
        UpdateExpression="SET createdAt = :c",
        ExpressionAttributeValues={":c": {"N": str(created)}},
    )


def _lifecycle_abort(job: str) -> None:
    (pending,) = _pending(job)
    boto3.client("s3", region_name=REGION).abort_multipart_upload(
        Bucket=BUCKET, Key=pending["Key"], UploadId=pending["UploadId"]
    )


def test_a_status_read_past_the_lifecycle_horizon_finds_the_expired_upload_and_ends_the_job(
    imports: ModuleType,
) -> None:
    job = create(imports)
    _age(job, 7.5)
    assert request(imports, "GET", f"/imports/{job}", None).body["status"] == "UPLOADING"  # S3 still has it
    _lifecycle_abort(job)  # what the bucket's AbortIncompleteMultipartUpload rule does after 7 days
    view = request(imports, "GET", f"/imports/{job}", None).body
    assert (view["status"], view["abortedReason"]) == ("ABORTED", "expired") and view["abortedAt"] > 0


def test_a_status_read_within_the_horizon_does_not_ask_s3(imports: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    job = create(imports)
    _age(job, 6.5)
    _lifecycle_abort(job)
    from marquee.core import aws

    s3 = aws.s3()
    monkeypatch.setattr(s3, "list_parts", lambda **_: pytest.fail("ListParts on a job younger than the horizon"))
    assert request(imports, "GET", f"/imports/{job}", None).body["status"] == "UPLOADING"


def test_no_such_upload_for_an_upload_another_request_completed_is_a_409_not_an_abort(imports: ModuleType) -> None:
    """/complete finished in S3 but has not recorded UPLOADED yet: S3 answers NoSuchUpload to /parts, the object is
    there, so the job is not aborted."""
    job = create(imports)
    s3 = boto3.client("s3", region_name=REGION)
    (pending,) = _pending(job)
    parts = [{"PartNumber": p["partNumber"], "ETag": f'"{p["etag"]}"'} for p in _upload_one_part(job)]
    s3.complete_multipart_upload(
        Bucket=BUCKET, Key=pending["Key"], UploadId=pending["UploadId"], MultipartUpload={"Parts": parts}
    )
    answer = request(imports, "POST", f"/imports/{job}/parts", json.dumps({"partNumbers": [1]}))
    assert answer.status == 409 and answer.body["type"].endswith(":import-state-conflict")
    assert request(imports, "GET", f"/imports/{job}", None).body["status"] == "UPLOADING"


# ---- DELETE racing /complete: exactly one of them wins, never both ------------------------------------------------
def _staff() -> Any:
    from marquee.tenancy.tenant import TenantContext

    return TenantContext.from_claims(load_event("imports/create_import.json")["requestContext"]["authorizer"]["claims"])


def _outcome(call: Any) -> str:
    from marquee.imports import jobs

    try:
        call()
    except jobs.ImportUploadGone:
        return "410"
    except jobs.ImportStateConflict:
        return "409"
    return "ok"


def test_a_delete_landing_between_s3_completing_and_the_job_recording_it_wins_and_complete_is_a_410(
    imports: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    from functions.imports import logic
    from functions.imports.models import CompleteRequest

    job, tenant = create(imports), _staff()
    parts = CompleteRequest.model_validate({"parts": _upload_one_part(job)})
    s3 = logic.aws.s3()
    real_complete = s3.complete_multipart_upload
    deleted: list[str] = []

    def complete_then_delete(**kwargs: Any) -> Any:
        answer = real_complete(**kwargs)
        deleted.append(_outcome(lambda: logic.abort(job, tenant=tenant, env=imports.env)))
        return answer

    monkeypatch.setattr(s3, "complete_multipart_upload", complete_then_delete)
    completed = _outcome(lambda: logic.complete(job, parts, tenant=tenant, env=imports.env))
    assert (deleted, completed) == (["ok"], "410")
    view = logic.get(job, tenant=tenant, env=imports.env)
    assert (view.status, view.aborted_reason) == ("ABORTED", "deleted")


def test_a_complete_landing_before_the_deletes_conditional_write_wins_and_delete_is_a_409(
    imports: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    from functions.imports import logic
    from functions.imports.models import CompleteRequest

    job, tenant = create(imports), _staff()
    parts = CompleteRequest.model_validate({"parts": _upload_one_part(job)})
    real_abort = logic.jobs.abort
    completed: list[str] = []

    def complete_first(*args: Any, **kwargs: Any) -> bool:
        completed.append(_outcome(lambda: logic.complete(job, parts, tenant=tenant, env=imports.env)))
        return real_abort(*args, **kwargs)

    monkeypatch.setattr(logic.jobs, "abort", complete_first)
    deleted = _outcome(lambda: logic.abort(job, tenant=tenant, env=imports.env))
    assert (completed, deleted) == (["ok"], "409")
    assert logic.get(job, tenant=tenant, env=imports.env).status == "UPLOADED"
    assert _object_exists(job)  # the upload was not aborted under the completed import


def test_delete_and_complete_racing_in_threads_end_in_exactly_one_terminal_outcome(imports: ModuleType) -> None:
    from functions.imports import logic
    from functions.imports.models import CompleteRequest
    from localcloud.dynamodb import atomicity

    atomicity.install()  # each DynamoDB call atomic across threads, as on AWS (moto alone assumes one caller)
    tenant = _staff()
    for _ in range(12):
        job = create(imports)
        parts = CompleteRequest.model_validate({"parts": _upload_one_part(job)})
        start = threading.Barrier(2)
        outcomes: dict[str, str] = {}

        def run(name: str, call: Any, job: str = job, start: threading.Barrier = start, out: dict = outcomes) -> None:
            start.wait()
            out[name] = _outcome(call)

        threads = [
            threading.Thread(target=run, args=("delete", lambda j=job: logic.abort(j, tenant=tenant, env=imports.env))),
            threading.Thread(
                target=run,
                args=("complete", lambda j=job, p=parts: logic.complete(j, p, tenant=tenant, env=imports.env)),
            ),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        status = logic.get(job, tenant=tenant, env=imports.env).status
        winners = [name for name, outcome in outcomes.items() if outcome == "ok"]
        assert len(winners) == 1, outcomes  # never both, never neither
        if winners == ["delete"]:
            assert status == "ABORTED" and outcomes["complete"] in ("409", "410"), outcomes
        else:
            assert status == "UPLOADED" and outcomes["delete"] == "409", outcomes
