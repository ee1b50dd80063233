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
from marquee.imports.schemas import SHOWTIMES, row_id
from marquee.imports.validation import ChunkValidator
from tests.e2e.booking_helpers import Show, create_showtime, token

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
