"""Streamed import validation (challenge 15): framing on line boundaries, the fast and slow paths, bad files."""

from __future__ import annotations

import gzip
import io

import pytest

from marquee.imports.pipeline import merge, plan_ranges
from marquee.imports.schemas import MOVIES, SHOWTIMES, row_id
from marquee.imports.validation import ChunkValidator, FileRejected, RangeResult, check_header, frames

HEADER = b"movieId,auditoriumId,startsAt,priceAmount,currency\n"
GOOD = b"mov_00000000000000a1,aud_00000000000000b2,2026-12-24T20:00:00Z,1250,EUR\n"


def validate(data: bytes, *, fmt: str = "csv", spec=SHOWTIMES, start: int = 0, end: int | None = None, block: int = 64):
    stream = io.BytesIO(data)
    if start:
        stream.seek(start - 1)
    validator = ChunkValidator(spec, fmt, references=("movieId",) if spec is SHOWTIMES else ())
    line = 1
    for chunk in frames(stream, start=start, end=end, block=block, max_line=4096):
        validator.chunk(chunk, line)
        line = validator.result.lines + 1
    return validator.result


def test_clean_csv_rows_pass_the_fast_path_and_their_references_are_collected() -> None:
    result = validate(GOOD * 50)
    assert (result.rows, result.invalid_rows, result.errors) == (50, 0, [])
    assert result.references == {"movieId": {"mov_00000000000000a1": 1}}


def test_each_bad_field_is_reported_with_its_line_and_a_reason_that_does_not_echo_the_input() -> None:
    bad = GOOD.replace(b"1250", b"10.00").replace(b"EUR", b"XXZ")
    result = validate(GOOD + bad + GOOD.replace(b"mov_00000000000000a1", b"mov_NOT-AN-ID-AT-ALL"))
    assert result.rows == 1 and result.invalid_rows == 2
    assert [(e.line, e.field) for e in result.errors] == [(2, "priceAmount"), (2, "currency"), (3, "movieId")]
    assert all("10.00" not in e.reason and "XXZ" not in e.reason and "NOT-AN" not in e.reason for e in result.errors)


def test_errors_are_capped_per_field_but_all_counted() -> None:
    validator = ChunkValidator(SHOWTIMES, "csv", max_errors_per_field=3)
    validator.chunk(GOOD.replace(b"EUR", b"EU") * 10, 1)
    assert validator.result.error_counts == {"currency": 10} and len(validator.result.errors) == 3


def test_ndjson_is_strict_about_numbers_and_unknown_fields() -> None:
    good = b'{"title":"Heat","runtimeMinutes":170,"director":"Mann","genres":"crime|drama"}\n'
    as_text = b'{"title":"Heat","runtimeMinutes":"170"}\n'
    extra = b'{"title":"Heat","runtimeMinutes":170,"secret":1}\n'
    result = validate(good + as_text + extra + b"[1,2]\n", fmt="ndjson", spec=MOVIES)
    assert result.rows == 1
    assert [(e.line, e.field) for e in result.errors] == [(2, "runtimeMinutes"), (3, "(row)"), (4, "(row)")]


def test_wrong_encoding_is_reported_per_line() -> None:
    result = validate(
        GOOD + "mov_00000000000000a1,aud_00000000000000b2,2026-12-24T20:00:00Z,1250,€UR\n".encode("cp1252")
    )
    assert [(e.line, e.field, e.reason) for e in result.errors] == [(2, "(row)", "not UTF-8 text")]


def test_a_header_that_does_not_match_the_kind_is_refused() -> None:
    check_header(SHOWTIMES, "csv", HEADER)
    with pytest.raises(FileRejected) as caught:
        check_header(SHOWTIMES, "csv", b"movie,auditorium,time,price\n")
    assert caught.value.code == "header"
    with pytest.raises(FileRejected) as binary:
        check_header(SHOWTIMES, "csv", b"\x89PNG\r\n\x1a\n\x00\x00")
    assert binary.value.code == "not-text"


def test_a_single_line_longer_than_the_limit_is_refused_without_reading_it_whole() -> None:
    class Endless(io.RawIOBase):
        reads = 0

        def read(self, size: int = -1) -> bytes:
            Endless.reads += 1
            return b"x" * size

    with pytest.raises(FileRejected) as caught:
        list(frames(Endless(), block=1024, max_line=8192))  # type: ignore[arg-type]
    assert caught.value.code == "line-too-long" and Endless.reads < 20


def test_truncated_gzip_is_refused() -> None:
    packed = gzip.compress(GOOD * 1000)
    with pytest.raises(FileRejected) as caught:
        list(frames(gzip.GzipFile(fileobj=io.BytesIO(packed[: len(packed) // 2])), block=1024))
    assert caught.value.code == "gzip"


@pytest.mark.parametrize("ranges", [2, 3, 7, 40])
def test_byte_ranges_snap_to_lines_so_every_line_is_validated_exactly_once(ranges: int) -> None:
    lines = [GOOD.replace(b"1250", str(1000 + i).encode()) for i in range(97)]
    data = b"".join(lines)
    results: list[RangeResult] = []
    for start, end in plan_ranges(len(data), range_bytes=-(-len(data) // ranges), gzip=False):
        results.append(validate(data, start=start, end=end, block=50))
    report = merge(results)
    assert (report.rows, report.lines, report.bytes) == (97, 97, len(data))


def test_ranges_report_file_line_numbers() -> None:
    data = GOOD * 30 + GOOD.replace(b"EUR", b"EU") + GOOD * 30
    results = [
        validate(data, start=s, end=e) for s, e in plan_ranges(len(data), range_bytes=len(data) // 3, gzip=False)
    ]
    assert [(e.line, e.field) for e in merge(results).errors] == [(31, "currency")]


def test_row_ids_are_deterministic_per_tenant_and_natural_key() -> None:
    row = ChunkValidator(SHOWTIMES, "csv")._fast(GOOD.rstrip())[0]  # type: ignore[index]
    assert row_id(SHOWTIMES, "acme", row) == row_id(SHOWTIMES, "acme", row) != row_id(SHOWTIMES, "other", row)
