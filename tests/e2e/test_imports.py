"""Imports (challenge 15) on a deployed stack: presigned multipart upload, S3 ObjectCreated -> the validator, the
report, publishing through the catalog, idempotent re-runs, resumed uploads and bad files (nothing half-imported)."""

from __future__ import annotations

import gzip
import os
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from devkit.identity import ApiClient
from devkit.imports import upload, wait
from marquee.imports.jobs import object_key
from marquee.imports.schemas import SHOWTIMES, row_id
from marquee.imports.validation import ChunkValidator
from tests.e2e.booking_helpers import Show, create_showtime, token
from tests.e2e.import_helpers import stall

TENANT = f"imports-{uuid.uuid4().hex[:6]}"
HEADER = "movieId,auditoriumId,startsAt,priceAmount,currency\n"


@pytest.fixture(scope="module")
def staff(deployed: dict[str, Any]) -> str:
    return token(deployed, TENANT, "staff1", "staff")


@pytest.fixture(scope="module")
def client(deployed: dict[str, Any]) -> ApiClient:
    return ApiClient(deployed["endpoint"], deployed["outputs"])


@pytest.fixture(scope="module")
def show(api: str, deployed: dict[str, Any]) -> Show:
    return create_showtime(api, deployed, TENANT, rows=1, per_row=4)


def showtimes_csv(show: Show, count: int, *, day: int) -> str:
    base = datetime.now(UTC).replace(microsecond=0, second=0, minute=0) + timedelta(days=day)
    rows = [
        f"{show.movie_id},{show.auditorium_id},{(base + timedelta(hours=3 * i)).isoformat()},{900 + i},EUR\n"
        for i in range(count)
    ]
    return HEADER + "".join(rows)


def run(client: ApiClient, staff: str, path: Path, kind: str = "showtimes", **kwargs: Any) -> dict[str, Any]:
    import_id, _ = upload(client, staff, path, kind=kind, tenant=TENANT, **kwargs)
    view = wait(client, staff, import_id, timeout_s=120)
    assert view["status"] in ("FAILED", "VALIDATED", "SUCCEEDED"), view
    return view


def ids_of(text: str) -> list[str]:
    """The deterministic showtime ids the publisher gives these rows."""
    rows: list[Any] = []
    ChunkValidator(SHOWTIMES, "csv", on_rows=lambda _line, r: rows.extend(r)).chunk(text.split("\n", 1)[1].encode(), 2)
    return [row_id(SHOWTIMES, TENANT, r) for r in rows]


def test_a_valid_file_is_published_through_the_catalog_and_a_rerun_writes_nothing_twice(
    client: ApiClient, staff: str, show: Show, api: str, tmp_path: Path
) -> None:
    text = showtimes_csv(show, 6, day=30)
    path = tmp_path / "showtimes.csv.gz"
    path.write_bytes(gzip.compress(text.encode()))
    first = run(client, staff, path)
    assert (first["status"], first["rows"], first["publishedRows"], first["invalidRows"]) == ("SUCCEEDED", 6, 6, 0)
    for showtime_id in ids_of(text):
        got = requests.get(f"{api}/showtimes/{showtime_id}", headers={"Authorization": staff}, timeout=30)
        assert got.status_code == 200, got.text
        assert len(got.json()["seats"]) == 4
    again = tmp_path / "again.csv"
    again.write_text(text)
    second = run(client, staff, again)
    assert (second["status"], second["publishedRows"], second["alreadyPresentRows"]) == ("SUCCEEDED", 0, 6)


def test_a_file_with_bad_rows_fails_with_its_report_and_writes_nothing(
    client: ApiClient, staff: str, show: Show, api: str, tmp_path: Path
) -> None:
    good = showtimes_csv(show, 4, day=60)
    lines = good.splitlines(keepends=True)
    lines[2] = lines[2].replace(",EUR", ",EURO")  # line 3
    lines[4] = lines[4].replace(show.movie_id, "mov_" + "f" * 16)  # line 5: no such movie
    path = tmp_path / "bad.csv"
    path.write_text("".join(lines))
    view = run(client, staff, path)
    assert view["status"] == "FAILED" and view["publishedRows"] == 0
    assert [(e["line"], e["field"]) for e in view["errors"]] == [(3, "currency"), (5, "movieId")]
    report = requests.get(view["reportUrl"], timeout=30).json()
    assert report["errors"][0] == {"line": 3, "field": "currency", "reason": "an ISO 4217 currency code"}
    assert report["errors"][1] == {"line": 5, "field": "movieId", "reason": "no such movie in this tenant"}
    for showtime_id in ids_of(good):  # nothing of the file was written, not even its valid rows
        missing = requests.get(f"{api}/showtimes/{showtime_id}", headers={"Authorization": staff}, timeout=30)
        assert missing.status_code == 404


@pytest.mark.parametrize(
    ("name", "content", "code"),
    [
        ("header.csv", b"movie,auditorium,when,price\nx,y,z,1\n", "header"),
        ("binary.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + os.urandom(64), "not-text"),
        ("truncated.csv.gz", gzip.compress(HEADER.encode() + os.urandom(300_000).hex().encode())[:-600], "gzip"),
        ("long.csv", HEADER.encode() + b"x" * (1024 * 1024 + 10), "line-too-long"),
    ],
)
def test_a_bad_file_fails_with_a_clear_reason(
    client: ApiClient, staff: str, tmp_path: Path, name: str, content: bytes, code: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    view = run(client, staff, path)
    assert view["status"] == "FAILED" and view["rejected"]["code"] == code, view["rejected"]


def test_an_interrupted_upload_resumes_with_the_parts_s3_already_has(
    client: ApiClient, staff: str, tmp_path: Path
) -> None:
    row = b"Resume Hall,Porto\n"
    path = tmp_path / "cinemas.csv"
    path.write_bytes(b"name,city\n" + row * ((17 * 1024 * 1024) // len(row)))  # two parts of 16 MiB
    first_id, resumed = upload(client, staff, path, kind="cinemas", tenant=TENANT, dry_run=True, stop_after_parts=1)
    assert not resumed
    second_id, resumed = upload(client, staff, path, kind="cinemas", tenant=TENANT, dry_run=True)
    assert (second_id, resumed) == (first_id, True)
    view = wait(client, staff, second_id, timeout_s=120)
    assert (view["status"], view["invalidRows"], view["publishedRows"]) == ("VALIDATED", 0, 0)
    assert view["rows"] == (17 * 1024 * 1024) // len(row) and view["progress"] == 1.0


def test_another_tenants_staff_cannot_see_an_import(
    client: ApiClient, staff: str, deployed: dict[str, Any], api: str, tmp_path: Path
) -> None:
    path = tmp_path / "c.csv"
    path.write_text("name,city\nMine,Porto\n")
    import_id, _ = upload(client, staff, path, kind="cinemas", tenant=TENANT, dry_run=True)
    other = token(deployed, f"{TENANT}-other", "staff1", "staff")
    response = requests.get(f"{api}/imports/{import_id}", headers={"Authorization": other}, timeout=30)
    assert response.status_code == 404


def _abort_upload(sdk: Any, import_id: str) -> None:
    """Abort the job's multipart upload in S3, as the bucket's lifecycle rule does to an unfinished one."""
    s3 = sdk("s3")
    key = object_key(TENANT, import_id)
    for bucket in s3.list_buckets()["Buckets"]:
        for pending in s3.list_multipart_uploads(Bucket=bucket["Name"], Prefix=key).get("Uploads", []):
            s3.abort_multipart_upload(Bucket=bucket["Name"], Key=key, UploadId=pending["UploadId"])
            return
    raise AssertionError(f"no multipart upload for {key}")


def test_an_upload_s3_aborted_is_a_410_problem_and_the_cli_starts_a_new_import(
    client: ApiClient, staff: str, sdk: Any, api: str, tmp_path: Path
) -> None:
    path = tmp_path / "aborted.csv"
    path.write_text("name,city\nGone Hall,Porto\n")
    first_id, _ = upload(client, staff, path, kind="cinemas", tenant=TENANT, dry_run=True, stop_after_parts=0)
    _abort_upload(sdk, first_id)
    bodies: tuple[tuple[str, dict[str, Any]], ...] = (
        ("parts", {"partNumbers": [1]}),
        ("complete", {"parts": [{"partNumber": 1, "etag": "0" * 32}]}),
    )
    for route, body in bodies:
        response = requests.post(
            f"{api}/imports/{first_id}/{route}", json=body, headers={"Authorization": staff}, timeout=30
        )
        assert response.status_code == 410, (route, response.status_code, response.text[:300])
        assert response.headers["Content-Type"].startswith("application/problem+json")
        problem = response.json()
        assert problem["type"].endswith("import-upload-gone") and "POST /imports" in problem["detail"], problem
    # the 410 ended the job: it no longer waits in UPLOADING forever
    first = requests.get(f"{api}/imports/{first_id}", headers={"Authorization": staff}, timeout=30).json()
    assert (first["status"], first["abortedReason"]) == ("ABORTED", "upload-gone"), first
    # the CLI's saved state still names the first import: it learns the upload is gone and starts a new one
    second_id, resumed = upload(client, staff, path, kind="cinemas", tenant=TENANT, dry_run=True)
    assert second_id != first_id and not resumed
    view = wait(client, staff, second_id, timeout_s=120)
    assert (view["status"], view["rows"]) == ("VALIDATED", 1)


def dry_run_import(api: str, headers: dict[str, str], *, size: int) -> dict[str, Any]:
    """A new dry-run CSV import of cinemas (``size`` bytes announced): the API's answer, its part URLs included."""
    created = requests.post(
        f"{api}/imports",
        json={"kind": "cinemas", "format": "csv", "sizeBytes": size, "dryRun": True},
        headers=headers,
        timeout=30,
    )
    assert created.status_code == 201, created.text[:300]
    return dict(created.json())


def test_a_completion_listing_a_part_twice_is_a_422_before_s3(client: ApiClient, staff: str, api: str) -> None:
    created = dry_run_import(api, {"Authorization": staff}, size=30)
    part: dict[str, Any] = {"partNumber": 1, "etag": "0" * 32}
    response = requests.post(
        f"{api}/imports/{created['importId']}/complete",
        json={"parts": [part, part]},
        headers={"Authorization": staff},
        timeout=30,
    )
    assert response.status_code == 422 and response.headers["Content-Type"].startswith("application/problem+json")
    assert [error["loc"][-1] for error in response.json()["errors"]] == ["parts"]


UNKNOWN_PART = b'{"parts": [{"partNumber": 2, "etag": "' + b"a" * 32 + b'"}]}'
BAD_IMPORT_REQUESTS: list[tuple[str, str, dict[str, str], bytes]] = [
    ("POST", "/imports", {"Content-Type": "text/csv"}, b"name,city\n"),
    ("POST", "/imports", {"Content-Type": "application/json"}, b'{"kind": "cinemas", "format": '),
    ("POST", "/imports", {"Content-Type": "application/json"}, b'[{"kind": "cinemas"}]'),
    (
        "POST",
        "/imports",
        {"Content-Type": "application/json"},
        b'{"kind": "cinemas", "format": "csv", "sizeBytes": -1}',
    ),
    (
        "POST",
        "/imports",
        {"Content-Type": "application/json"},
        b'{"kind": "cinemas", "format": "csv", "sizeBytes": 1e30}',
    ),
    ("POST", "/imports", {"Content-Type": "application/json"}, b'{"kind": "' + b"x" * 200_000 + b'"}'),
    (
        "POST",
        "/imports",
        {"Content-Type": "application/json"},
        b'{"kind": {"a": [1, 2]}, "format": null, "sizeBytes": "9"}',
    ),
    ("POST", "/imports/{id}/parts", {"Content-Type": "application/json"}, b'{"partNumbers": []}'),
    ("POST", "/imports/{id}/parts", {"Content-Type": "application/json"}, b'{"partNumbers": [0, 10001, 1.5]}'),
    ("POST", "/imports/{id}/parts", {"Content-Type": "application/json"}, b'{"partNumbers": "1"}'),
    ("POST", "/imports/{id}/parts", {"Content-Type": "application/json"}, b'{"partNumbers": [' + b"1," * 1500 + b"1]}"),
    ("POST", "/imports/{id}/parts", {"Content-Type": "application/xml"}, b"<partNumbers>1</partNumbers>"),
    ("POST", "/imports/{id}/complete", {"Content-Type": "application/json"}, b'{"parts": [{"partNumber": 1}]}'),
    (
        "POST",
        "/imports/{id}/complete",
        {"Content-Type": "application/json"},
        b'{"parts": [{"partNumber": 1, "etag": "zz"}]}',
    ),
    ("POST", "/imports/{id}/complete", {"Content-Type": "application/json"}, UNKNOWN_PART),
    ("POST", "/imports/{id}/complete", {"Content-Type": "application/json"}, b"{"),
    ("POST", "/imports/imp_none/parts", {"Content-Type": "application/json"}, b'{"partNumbers": [1]}'),
    ("POST", "/imports/" + "x" * 65 + "/complete", {"Content-Type": "application/json"}, b"{}"),
    ("GET", "/imports/imp_none", {}, b""),
    ("GET", "/imports/%00%ff", {}, b""),
]


def test_bad_input_on_the_import_routes_is_a_4xx_problem_never_a_5xx(client: ApiClient, staff: str, api: str) -> None:
    job = dry_run_import(api, {"Authorization": staff}, size=30)["importId"]
    answers = []
    for method, route, headers, body in BAD_IMPORT_REQUESTS:
        response = requests.request(
            method, f"{api}{route.replace('{id}', job)}", data=body or None,
            headers={"Authorization": staff, **headers}, timeout=30,
        )  # fmt: skip
        answers.append((method, route[:40], response.status_code, response.headers.get("Content-Type", "")))
    assert all(400 <= status < 500 and kind.startswith("application/problem+json") for *_, status, kind in answers), [
        a for a in answers if not (400 <= a[2] < 500 and a[3].startswith("application/problem+json"))
    ]


def _pending_uploads(sdk: Any, import_id: str) -> list[dict[str, Any]]:
    s3, key = sdk("s3"), object_key(TENANT, import_id)
    return [
        pending
        for bucket in s3.list_buckets()["Buckets"]
        if bucket["Name"].startswith("marquee-imports-")
        for pending in s3.list_multipart_uploads(Bucket=bucket["Name"], Prefix=key).get("Uploads", [])
    ]


def test_delete_aborts_an_unfinished_upload_through_the_api_and_a_finished_one_is_a_409(
    client: ApiClient, staff: str, sdk: Any, api: str, deployed: dict[str, Any], tmp_path: Path
) -> None:
    auth = {"Authorization": staff}
    created = dry_run_import(api, auth, size=40)
    import_id = created["importId"]
    put = requests.put(created["parts"][0]["url"], data=b"name,city\nHalf Hall,Porto\n", timeout=30)
    assert put.status_code == 200 and len(_pending_uploads(sdk, import_id)) == 1
    customer = {"Authorization": token(deployed, TENANT, "cust1")}
    assert requests.delete(f"{api}/imports/{import_id}", headers=customer, timeout=30).status_code == 403

    deleted = requests.delete(f"{api}/imports/{import_id}", headers=auth, timeout=30)
    assert deleted.status_code == 204 and not deleted.content, deleted.text[:300]
    assert _pending_uploads(sdk, import_id) == []  # S3 dropped the part
    view = requests.get(f"{api}/imports/{import_id}", headers=auth, timeout=30).json()
    assert (view["status"], view["abortedReason"]) == ("ABORTED", "deleted") and view["abortedAt"] > 0, view
    assert requests.delete(f"{api}/imports/{import_id}", headers=auth, timeout=30).status_code == 204  # idempotent
    parts = requests.post(f"{api}/imports/{import_id}/parts", json={"partNumbers": [1]}, headers=auth, timeout=30)
    assert parts.status_code == 410 and parts.json()["type"].endswith("import-upload-gone"), parts.text[:300]

    unknown = requests.delete(f"{api}/imports/imp_{'0' * 32}", headers=auth, timeout=30)
    assert unknown.status_code == 404 and unknown.headers["Content-Type"].startswith("application/problem+json")

    path = tmp_path / "done.csv"
    path.write_text("name,city\nWhole Hall,Porto\n")
    done_id, _ = upload(client, staff, path, kind="cinemas", tenant=TENANT, dry_run=True)
    late = requests.delete(f"{api}/imports/{done_id}", headers=auth, timeout=30)
    assert late.status_code == 409 and late.json()["type"].endswith("import-state-conflict"), late.text[:300]
    assert wait(client, staff, done_id, timeout_s=120)["status"] == "VALIDATED"


def test_resume_hands_a_stalled_publish_to_a_fresh_validator_invocation_that_completes_it(
    client: ApiClient, staff: str, show: Show, api: str, sdk: Any, deployed: dict[str, Any], tmp_path: Path
) -> None:
    text = showtimes_csv(show, 5, day=90)
    path = tmp_path / "stalled.csv"
    path.write_text(text)
    import_id, _ = upload(client, staff, path, kind="showtimes", tenant=TENANT, dry_run=True)
    assert wait(client, staff, import_id, timeout_s=120)["status"] == "VALIDATED"
    stall(sdk, deployed, TENANT, import_id)
    headers = {"Authorization": staff}
    stalled = requests.get(f"{api}/imports/{import_id}", headers=headers, timeout=30).json()
    assert (stalled["status"], stalled["publishedRows"], stalled["publishInvocations"]) == ("PUBLISHING", 0, 0)

    resumed = requests.post(f"{api}/imports/{import_id}/resume", headers=headers, timeout=30)
    assert resumed.status_code == 202, resumed.text
    view = wait(client, staff, import_id, timeout_s=120)
    assert (view["status"], view["publishedRows"], view["alreadyPresentRows"]) == ("SUCCEEDED", 5, 0), view
    assert view["publishInvocations"] == 1 and view["lastProgressAt"] is not None
    for showtime_id in ids_of(text):
        got = requests.get(f"{api}/showtimes/{showtime_id}", headers=headers, timeout=30)
        assert got.status_code == 200, got.text
    again = requests.post(f"{api}/imports/{import_id}/resume", headers=headers, timeout=30)
    assert again.status_code == 409 and again.headers["Content-Type"].startswith("application/problem+json")
    assert again.json()["type"].endswith("import-state-conflict") and "SUCCEEDED" in again.json()["detail"]
