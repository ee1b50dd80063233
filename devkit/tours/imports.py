"""Tour scenarios of large imports (challenge 15): a generated file validated as a stream (throughput, the validator's
RSS), a small file published through the catalog and re-run (nothing twice), and a bad file's report."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import requests

from devkit.imports import showtimes_csv, upload, wait
from devkit.seed import BookingApi
from devkit.tour import Tour, expect, scenario

TENANT = "tour-imports"
DRY_RUN_BYTES = 40 * 1000 * 1000


def _setup(api: BookingApi) -> tuple[str, str, str]:
    cinema = api.post(TENANT, "/cinemas", {"name": "Import Palace", "city": "Lisbon"})["cinemaId"]
    auditorium = api.post(
        TENANT, "/auditoriums", {"cinemaId": cinema, "name": "Hall 1", "rows": 2, "seatsPerRow": 5, "unavailable": []}
    )["auditoriumId"]
    movie = api.post(TENANT, "/movies", {"title": "The Long Upload", "runtimeMinutes": 95})["movieId"]
    return movie, auditorium, api.token(TENANT, "seeder", "staff")


@scenario("imports: a generated 40 MB showtimes file validated as a stream; 12 rows published, re-run, a bad file")
def _imports(tour: Tour) -> list[str]:
    api = BookingApi(tour.endpoint_url, tour.outputs, session=tour.session)
    movie, auditorium, staff = _setup(api)
    lines = []
    with tempfile.TemporaryDirectory(prefix="tour-imports-") as folder:
        big = Path(folder) / "showtimes.csv"
        rows = showtimes_csv(big, movie_id=movie, auditorium_id=auditorium, size_bytes=DRY_RUN_BYTES)
        started = time.perf_counter()
        import_id, _ = upload(api, staff, big, kind="showtimes", tenant=TENANT, dry_run=True)
        uploaded = time.perf_counter() - started
        view = wait(api, staff, import_id, timeout_s=300)
        validated = time.perf_counter() - started - uploaded
        expect(view["status"] == "VALIDATED" and view["rows"] == rows, f"dry run: {view}")
        report = requests.get(view["reportUrl"], timeout=30).json()
        size_mb = big.stat().st_size / 1e6
        lines += [
            f"{big.name}: {size_mb:.0f} MB, {rows:,} rows; uploaded in {uploaded:.1f} s (presigned parts of 16 MiB)",
            f"  dry run -> {view['status']}: validated in {validated:.1f} s ({size_mb / validated:.0f} MB/s end to end, "
            f"notification and polling included) by {report['validators']} validator(s), peak RSS "
            f"{report['validatorPeakRssBytes'] / 1e6:.0f} MB",
        ]

        small = Path(folder) / "twelve.csv"
        showtimes_csv(small, movie_id=movie, auditorium_id=auditorium, size_bytes=100, first_day=30)  # one block
        text = small.read_text().splitlines(keepends=True)
        small.write_text("".join(text[:13]))  # the header and 12 rows
        first = wait(api, staff, upload(api, staff, small, kind="showtimes", tenant=TENANT)[0], timeout_s=120)
        again = wait(api, staff, upload(api, staff, small, kind="showtimes", tenant=TENANT)[0], timeout_s=120)
        expect(first["status"] == "SUCCEEDED" and first["publishedRows"] == 12, f"publish: {first}")
        expect(again["publishedRows"] == 0 and again["alreadyPresentRows"] == 12, f"re-run: {again}")
        lines.append(
            f"twelve.csv -> {first['status']}: {first['publishedRows']} showtimes written through the catalog; "
            f"the same file again -> {again['publishedRows']} written, {again['alreadyPresentRows']} already there"
        )

        bad = Path(folder) / "bad.csv"
        broken = list(text[13:23])
        broken[2] = broken[2].replace(",EUR", ",EURO")
        broken[5] = broken[5].replace("T", " at ", 1)
        broken[7] = broken[7].replace(movie, "mov_0000000000000000")
        bad.write_text(text[0] + "".join(broken))
        failed = wait(api, staff, upload(api, staff, bad, kind="showtimes", tenant=TENANT)[0], timeout_s=120)
        expect(failed["status"] == "FAILED" and failed["publishedRows"] == 0, f"bad file: {failed}")
        lines.append(f"bad.csv -> {failed['status']}, nothing written; its report:")
        lines += [f"  line {e['line']}: {e['field']}: {e['reason']}" for e in failed["errors"]]
        header = Path(folder) / "header.csv"
        header.write_text("movie,auditorium,when,price\n")
        refused = wait(api, staff, upload(api, staff, header, kind="showtimes", tenant=TENANT)[0], timeout_s=120)
        expect(refused["rejected"] and refused["rejected"]["code"] == "header", f"header: {refused}")
        lines.append(f"header.csv -> {refused['status']}: {refused['rejected']['detail']}")
    return lines
