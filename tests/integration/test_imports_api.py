"""The imports API in-process on moto (the sample events of events/imports): an upload S3 has aborted, and bad input
on every import route, each a 4xx problem (tests/e2e/test_imports.py runs the same on a deployed stack)."""

from __future__ import annotations

import copy
import json
from types import ModuleType

import boto3
import pytest

from .conftest import REGION, Invocation, Platform, invoke, load_event, load_function, use_tenant_role

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
    for name, value in {
        "POWERTOOLS_SERVICE_NAME": "imports",
        "IMPORTS_BUCKET": BUCKET,
        "PART_SIZE_BYTES": str(16 * 1024 * 1024),
        "URL_EXPIRY_SECONDS": "3600",
    }.items():
        monkeypatch.setenv(name, value)
    return load_function("imports")


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
    # the job is still UPLOADING: the answer does not depend on a status nothing set
    assert request(imports, "GET", f"/imports/{job}", None).body["status"] == "UPLOADING"


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
