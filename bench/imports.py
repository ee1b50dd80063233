"""Large imports (challenge 15): upload, streamed validation and memory, on the local cloud's S3.

A fresh local cloud runs in its own process (as a client sees it). For each size (100 MB and 1 GB by default):

1. a showtimes CSV of that size is generated on disk (valid rows, a realistic spread of movies and auditoriums);
2. it is uploaded as a multipart upload through presigned UploadPart URLs, 16 MiB parts, 4 in parallel, as
   ``marquee import`` does; the cloud process's RSS is sampled every 50 ms during the upload (peak and end);
3. it is validated by the validator's own code (``marquee.imports.pipeline.read_range``: Powertools ``S3Object``
   Range GETs, framing, msgspec), each validator in its own process as a Lambda worker would be:
   - ``single``: one validator reads the whole object;
   - ``ranges``: the coordinator's plan (``plan_ranges``, 256 MiB ranges) run by N processes in parallel, each
     snapping its range to lines; the merged report must count every row once;
   each validator reports its peak RSS (``ru_maxrss``) and the wall time gives MB/s.
4. msgspec and pydantic validate the same rows side by side (rows/s): the figures the row schema was chosen by.

    python -m bench.imports                          # 100 MB and 1 GB
    python -m bench.imports --sizes-mb 100 1000 5000 # add the 5 GB run (make bench-imports-big)

Writes bench/imports.json; docs/benchmarks.md ("Imports") has the recorded run. Never asserted anywhere. Big files go
to a temporary folder and are deleted at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
for _path in (str(ROOT), str(ROOT / "layers" / "common" / "python")):
    if _path not in sys.path:
        sys.path.insert(0, _path)

RESULTS_FILE = ROOT / "bench" / "imports.json"
MB = 1_000_000
MIB = 1024 * 1024
PART = 16 * MIB
BUCKET = "bench-imports"
HEADER = b"movieId,auditoriumId,startsAt,priceAmount,currency\n"


def generate(path: Path, size: int) -> int:
    """A valid showtimes CSV of about ``size`` bytes: 200 movies x 50 auditoriums, a year of start times."""
    rng = random.Random(15)  # noqa: S311 - test data, not secrets
    movies = [f"mov_{rng.getrandbits(64):016x}" for _ in range(200)]
    auditoriums = [f"aud_{rng.getrandbits(64):016x}" for _ in range(50)]
    start = datetime(2027, 1, 1, tzinfo=UTC)
    lines = [
        f"{rng.choice(movies)},{rng.choice(auditoriums)},"
        f"{(start + timedelta(minutes=15 * rng.randrange(35_000))).isoformat().replace('+00:00', 'Z')},"
        f"{rng.randrange(500, 2500)},{rng.choice(('EUR', 'GBP', 'USD'))}\n"
        for _ in range(20_000)
    ]
    block = "".join(lines).encode()
    rows = 0
    with path.open("wb") as out:
        out.write(HEADER)
        written = len(HEADER)
        while written < size:
            piece = block[: size - written] if size - written < len(block) else block
            piece = piece[: piece.rfind(b"\n") + 1] or block
            out.write(piece)
            written += len(piece)
            rows += piece.count(b"\n")
    return rows


def _rss(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def upload(s3: Any, path: Path, key: str, cloud_pid: int) -> dict[str, Any]:
    """Presigned multipart upload, 4 parts at a time, sampling the cloud's RSS."""
    import requests

    size = path.stat().st_size
    upload_id = s3.create_multipart_upload(Bucket=BUCKET, Key=key)["UploadId"]
    count = -(-size // PART)
    urls = {
        n: s3.generate_presigned_url(
            "upload_part", Params={"Bucket": BUCKET, "Key": key, "UploadId": upload_id, "PartNumber": n}
        )
        for n in range(1, count + 1)
    }
    samples: list[int] = []
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            samples.append(_rss(cloud_pid))
            time.sleep(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    before = _rss(cloud_pid)
    sampler.start()
    session = requests.Session()

    def send(number: int) -> tuple[int, str]:
        with path.open("rb") as handle:
            handle.seek((number - 1) * PART)
            data = handle.read(PART)
        response = session.put(urls[number], data=data, timeout=600)
        response.raise_for_status()
        return number, response.headers["ETag"]

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=4) as pool:
        etags = sorted(pool.map(send, urls))
    uploaded = time.perf_counter() - started
    s3.complete_multipart_upload(
        Bucket=BUCKET,
        Key=key,
        UploadId=upload_id,
        MultipartUpload={"Parts": [{"PartNumber": n, "ETag": e} for n, e in etags]},
    )
    seconds = time.perf_counter() - started
    done.set()
    sampler.join()
    return {
        "parts": count,
        "upload_s": round(uploaded, 2),
        "upload_and_complete_s": round(seconds, 2),
        "upload_mb_s": round(size / MB / seconds, 1),
        "cloud_rss_before_mb": round(before / MB, 1),
        "cloud_rss_peak_mb": round(max(samples, default=before) / MB, 1),
        "cloud_rss_after_mb": round(_rss(cloud_pid) / MB, 1),
    }


WORKER = """
import json, sys, time
sys.path[:0] = {paths!r}
import boto3
from marquee.imports.pipeline import read_range
from marquee.imports.schemas import SHOWTIMES
s3 = boto3.client("s3", endpoint_url={endpoint!r}, region_name="us-east-1",
                  aws_access_key_id="test", aws_secret_access_key="test")
start, end = {start}, {end}
t = time.perf_counter()
result = read_range(s3, {bucket!r}, {key!r}, SHOWTIMES, "csv", start=start, end=end, gzip=False)
out = result.to_dict()
out["seconds"] = time.perf_counter() - t
out.pop("references")
print(json.dumps(out))
"""


def validate(endpoint: str, key: str, size: int, ranges: list[tuple[int, int | None]]) -> dict[str, Any]:
    """One process per range (as one Lambda worker each), all at once; wall time, rows and each one's peak RSS."""
    paths = [str(ROOT), str(ROOT / "layers" / "common" / "python")]
    started = time.perf_counter()
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                WORKER.format(paths=paths, endpoint=endpoint, start=s, end=e, bucket=BUCKET, key=key),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        for s, e in ranges
    ]
    outputs = [json.loads(p.communicate()[0]) for p in procs]
    seconds = time.perf_counter() - started
    from marquee.imports.pipeline import merge
    from marquee.imports.validation import RangeResult

    report = merge([RangeResult.from_dict({**o, "references": {}}) for o in outputs])
    return {
        "validators": len(ranges),
        "seconds": round(seconds, 2),
        "mb_s": round(size / MB / seconds, 1),
        "rows": report.rows,
        "invalid_rows": report.invalid_rows,
        "rejected": report.rejected,
        "validator_peak_rss_mb": [round(o["peakRssBytes"] / MB, 1) for o in outputs],
    }


def schema_race(path: Path, rows_wanted: int = 200_000) -> dict[str, Any]:
    """msgspec (the fast path: one C decode per chunk) vs pydantic (a TypeAdapter over the same rows)."""
    from typing import Annotated

    from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, TypeAdapter

    from marquee.core.money import ISO_4217
    from marquee.imports.schemas import SHOWTIMES
    from marquee.imports.validation import ChunkValidator

    with path.open("rb") as handle:
        handle.readline()
        data = b"".join(handle.readline() for _ in range(rows_wanted))
    lines = data.decode().splitlines()

    id_pattern = r"^[a-z]{3}_[0-9a-f]{16}$"

    class Row(BaseModel):
        model_config = ConfigDict(extra="forbid", frozen=True)
        movieId: Annotated[str, StringConstraints(pattern=id_pattern)]  # noqa: N815
        auditoriumId: Annotated[str, StringConstraints(pattern=id_pattern)]  # noqa: N815
        startsAt: AwareDatetime  # noqa: N815
        priceAmount: Annotated[int, Field(gt=0, le=100_000_000_00)]  # noqa: N815
        currency: Annotated[str, StringConstraints(min_length=3, max_length=3)]

    adapter = TypeAdapter(list[Row])
    names = SHOWTIMES.header

    def pydantic_run() -> int:
        rows = adapter.validate_python([dict(zip(names, line.split(","), strict=True)) for line in lines])
        assert all(r.currency in ISO_4217 for r in rows)
        return len(rows)

    def msgspec_run() -> int:
        validator = ChunkValidator(SHOWTIMES, "csv")
        start = 0
        while start < len(data):  # 2 MiB chunks of whole lines, as the framing cuts them
            end = data.find(b"\n", min(start + 2 * MIB, len(data)) - 1)
            end = len(data) - 1 if end < 0 else end
            validator.chunk(data[start : end + 1], 1)
            start = end + 1
        assert validator.result.invalid_rows == 0
        return validator.result.rows

    figures: dict[str, float] = {}
    for name, run in (("msgspec", msgspec_run), ("pydantic", pydantic_run)):
        best = float("inf")
        for _ in range(3):
            started = time.perf_counter()
            count = run()
            best = min(best, time.perf_counter() - started)
        figures[f"{name}_rows_s"] = round(count / best)
        figures[f"{name}_mb_s"] = round(len(data) / MB / best, 1)
    figures["rows"] = len(lines)
    figures["ratio"] = round(figures["msgspec_rows_s"] / figures["pydantic_rows_s"], 1)
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes-mb", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--keep", action="store_true", help="keep the generated files")
    args = parser.parse_args(argv)

    import boto3

    from marquee.imports.pipeline import plan_ranges
    from tests.cloud_process import CloudProcess

    results: dict[str, Any] = {"machine": {"cpus": os.cpu_count()}, "runs": []}
    with tempfile.TemporaryDirectory(prefix="bench-imports-") as folder:
        cloud = CloudProcess(Path(folder) / "cloud", extensions=())
        try:
            s3 = boto3.client(
                "s3", endpoint_url=cloud.endpoint_url, region_name="us-east-1",
                aws_access_key_id="test", aws_secret_access_key="test",  # noqa: S106 - the local cloud's
            )  # fmt: skip
            s3.create_bucket(Bucket=BUCKET)
            for size_mb in args.sizes_mb:
                path = Path(folder) / f"showtimes-{size_mb}mb.csv"
                rows = generate(path, size_mb * MB)
                size = path.stat().st_size
                key = f"imports/bench/{size_mb}"
                print(f"{size_mb} MB: {rows:,} rows generated", flush=True)
                run: dict[str, Any] = {"size_mb": size_mb, "bytes": size, "rows": rows}
                run["upload"] = upload(s3, path, key, cloud.proc.pid)
                print(f"  upload {run['upload']}", flush=True)
                run["single"] = validate(cloud.endpoint_url, key, size, [(0, None)])
                print(f"  single {run['single']}", flush=True)
                ranges: list[tuple[int, int | None]] = list(plan_ranges(size, range_bytes=256 * MIB, gzip=False))
                if len(ranges) > 1:
                    run["ranges"] = validate(cloud.endpoint_url, key, size, ranges)
                    print(f"  ranges {run['ranges']}", flush=True)
                run["cloud_rss_after_validation_mb"] = round(_rss(cloud.proc.pid) / MB, 1)
                if size_mb == min(args.sizes_mb):
                    results["schema"] = schema_race(path)
                    print(f"  schema {results['schema']}", flush=True)
                s3.delete_object(Bucket=BUCKET, Key=key)
                if not args.keep:
                    path.unlink()
                results["runs"].append(run)
        finally:
            cloud.stop()
    singles = {r["size_mb"]: r["single"]["validator_peak_rss_mb"][0] for r in results["runs"]}
    if 100 in singles and 1000 in singles:
        results["rss_ratio_1gb_over_100mb"] = round(singles[1000] / singles[100], 2)
    RESULTS_FILE.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
