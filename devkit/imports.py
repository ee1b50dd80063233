"""`marquee import FILE --kind showtimes`: a file straight to S3 through presigned multipart URLs, parts in parallel,
resumable; then the job's status until its validation (and publishing) ends.

- ``POST /imports`` creates the job and returns one presigned UploadPart URL per part;
- each part is read from the file at its offset and PUT to its URL by one of ``workers`` threads (memory: one part per
  worker), and its ETag is recorded in a state file next to the local cloud's (``.localcloud/imports/``);
- an interrupted run, started again on the same file, finds its state, asks ``POST /imports/{id}/parts`` for fresh
  URLs and for what S3 already holds (ListParts), and uploads only the missing parts;
- ``POST /imports/{id}/complete`` sends the ETags: S3 completes the object, and its ObjectCreated notification starts
  the validator.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path
from typing import Any

import requests

from devkit import state
from devkit.identity import ApiClient

STATE_DIR = state.STATE_DIR / "imports"
FINAL = {"FAILED", "VALIDATED", "SUCCEEDED", "ABORTED"}


class ImportError_(Exception):  # noqa: N801, N818 - `ImportError` is a builtin
    """The API refused the import, or a part could not be uploaded."""


def detect(path: Path) -> tuple[str, str]:
    """(format, compression) from the file name: .csv, .ndjson or .jsonl, optionally .gz."""
    suffixes = [s.lower() for s in path.suffixes]
    compression = "gzip" if suffixes and suffixes[-1] == ".gz" else "none"
    base = suffixes[-2] if compression == "gzip" and len(suffixes) > 1 else (suffixes[-1] if suffixes else "")
    fmt = {".csv": "csv", ".ndjson": "ndjson", ".jsonl": "ndjson"}.get(base)
    if fmt is None:
        raise ImportError_(f"{path.name}: name it .csv, .ndjson or .jsonl (optionally .gz)")
    return fmt, compression


@dataclass
class Upload:
    import_id: str
    part_size: int
    etags: dict[int, str]


def _state_file(path: Path, kind: str, tenant: str) -> Path:
    stat = path.stat()
    digest = hashlib.sha256(f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}|{kind}|{tenant}".encode()).hexdigest()
    return STATE_DIR / f"{digest[:24]}.json"


def _save(state_file: Path, upload: Upload, lock: threading.Lock) -> None:
    with lock:
        state_file.parent.mkdir(parents=True, exist_ok=True)
        data = {"importId": upload.import_id, "partSize": upload.part_size, "etags": upload.etags}
        tmp = state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(data))
        tmp.replace(state_file)


def _check(response: requests.Response, expected: int) -> dict[str, Any]:
    if response.status_code != expected:
        raise ImportError_(
            f"{response.request.method} {response.url.split('?')[0]}: {response.status_code} {response.text[:300]}"
        )
    body: dict[str, Any] = response.json()
    return body


def upload(
    api: ApiClient,
    token: str,
    path: Path,
    *,
    kind: str,
    tenant: str,
    dry_run: bool = False,
    workers: int = 4,
    on_bytes: Callable[[int], None] | None = None,
    stop_after_parts: int | None = None,
) -> tuple[str, bool]:
    """Upload ``path`` as an import of ``kind``; returns (import id, resumed). ``stop_after_parts`` interrupts the
    upload on purpose after that many parts (the tour and tests show a resume with it)."""
    fmt, compression = detect(path)
    size = path.stat().st_size
    state_file = _state_file(path, kind, tenant)
    lock = threading.Lock()
    resumed = False
    urls: dict[int, str]
    if state_file.exists():
        saved = json.loads(state_file.read_text())
        current = Upload(saved["importId"], saved["partSize"], {int(k): v for k, v in saved["etags"].items()})
        count = max(1, -(-size // current.part_size))
        job = api.call("GET", f"/imports/{current.import_id}", token=token)
        if job.status_code == 200 and job.json()["status"] == "UPLOADING":
            urls = {}
            for first in range(1, count + 1, 1000):
                answer = api.call(
                    "POST", f"/imports/{current.import_id}/parts", token=token,
                    json={"partNumbers": list(range(first, min(first + 1000, count + 1)))},
                )  # fmt: skip
                if answer.status_code == HTTPStatus.GONE:
                    break  # S3 aborted the upload (import-upload-gone): start a new import below
                body = _check(answer, 200)
                urls.update({p["partNumber"]: p["url"] for p in body["parts"]})
            else:
                # What S3 holds (ListParts), not what the state file thinks: a part it lacks is sent again.
                current.etags = {p["partNumber"]: p["etag"] for p in body["uploaded"]}
                resumed = True
        if not resumed:
            state_file.unlink()
    if not resumed:
        body = _check(
            api.call(
                "POST", "/imports", token=token,
                json={"kind": kind, "format": fmt, "compression": compression, "sizeBytes": size, "dryRun": dry_run},
            ),
            201,
        )  # fmt: skip
        current = Upload(body["importId"], body["partSizeBytes"], {})
        urls = {p["partNumber"]: p["url"] for p in body["parts"]}
        _save(state_file, current, lock)
        for first in range(len(urls) + 1, body["partCount"] + 1, 1000):  # the rest of the URLs, 1,000 a call
            more = _check(
                api.call(
                    "POST", f"/imports/{current.import_id}/parts", token=token,
                    json={"partNumbers": list(range(first, min(first + 1000, body["partCount"] + 1)))},
                ),
                200,
            )  # fmt: skip
            urls.update({p["partNumber"]: p["url"] for p in more["parts"]})
    if on_bytes is not None:
        on_bytes(sum(min(current.part_size, size - (n - 1) * current.part_size) for n in current.etags))
    missing = sorted(n for n in urls if n not in current.etags)
    if stop_after_parts is not None:
        missing = missing[:stop_after_parts]
    session = requests.Session()

    def send(number: int) -> None:
        offset = (number - 1) * current.part_size
        with path.open("rb") as handle:
            handle.seek(offset)
            data = handle.read(current.part_size)
        response = session.put(urls[number], data=data, timeout=300)
        if response.status_code != 200:
            raise ImportError_(f"part {number}: S3 answered {response.status_code}")
        with lock:
            current.etags[number] = response.headers["ETag"]
        _save(state_file, current, lock)
        if on_bytes is not None:
            on_bytes(len(data))

    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(send, missing))
    if stop_after_parts is not None:
        return current.import_id, resumed
    parts = [{"partNumber": n, "etag": e.strip('"')} for n, e in sorted(current.etags.items())]
    _check(api.call("POST", f"/imports/{current.import_id}/complete", token=token, json={"parts": parts}), 202)
    state_file.unlink(missing_ok=True)
    return current.import_id, resumed


def wait(
    api: ApiClient,
    token: str,
    import_id: str,
    *,
    timeout_s: float = 600,
    on_status: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Poll ``GET /imports/{id}`` (twice a second) until the job is FAILED, VALIDATED or SUCCEEDED."""
    deadline = time.monotonic() + timeout_s
    while True:
        view = _check(api.call("GET", f"/imports/{import_id}", token=token), 200)
        if on_status is not None:
            on_status(view)
        if view["status"] in FINAL or time.monotonic() > deadline:
            return view
        time.sleep(0.5)


def showtimes_csv(path: Path, *, movie_id: str, auditorium_id: str, size_bytes: int, first_day: int = 400) -> int:
    """A valid showtimes CSV of about ``size_bytes`` referencing one movie and auditorium; returns its row count.
    (Start times are 5 minutes apart: a dry run validates them; publishing that many would be a lot of showtimes.)"""
    start = time.time() + first_day * 86400
    header = b"movieId,auditoriumId,startsAt,priceAmount,currency\n"
    rows = 0
    with path.open("wb") as out:
        out.write(header)
        written = len(header)
        while written < size_bytes:
            block = "".join(
                f"{movie_id},{auditorium_id},"
                f"{time.strftime('%Y-%m-%dT%H:%M:00Z', time.gmtime(start + 300 * (rows + i)))},{900 + (rows + i) % 700},EUR\n"
                for i in range(10_000)
            ).encode()
            out.write(block)
            written += len(block)
            rows += 10_000
    return rows
