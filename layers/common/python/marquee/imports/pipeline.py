"""Reading an import from S3 as a stream, split by byte ranges, and publishing it through the catalog's write path.

- ``read_range``: one validator's part of the file, through Powertools streaming (``S3Object``, Range GETs; gunzip as
  a transform), framed into lines (``validation.frames``) and validated chunk by chunk.
- ``plan_ranges``: a file bigger than ``range_bytes`` is cut into byte ranges; each validator snaps its range to line
  boundaries (a line belongs to the range it starts in). A gzip file cannot be cut (it is not seekable): one range.
- ``merge``: the ranges' results as one report, with file line numbers (each range counts its own lines).
- ``Publisher``: the valid rows of a validated file, in batches, with deterministic ids, each through
  ``marquee.booking.catalog`` (so the outbox, read models and search follow as for any API write).
"""

from __future__ import annotations

import resource
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.streaming import S3Object
from aws_lambda_powertools.utilities.streaming.transformations import GzipTransform

from marquee.booking import catalog
from marquee.booking.catalog import MovieDetails
from marquee.core.money import Money
from marquee.history.versions import Actor
from marquee.imports.schemas import KindSpec, row_id
from marquee.imports.validation import (
    BOM,
    MAX_ERRORS_PER_FIELD,
    MAX_LINE,
    ChunkValidator,
    FieldError,
    FileRejected,
    RangeResult,
    check_header,
    frames,
)
from marquee.tenancy.tenant import TenantContext

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
else:
    DynamoDBClient = Any

GZIP_MAGIC = b"\x1f\x8b"
REFERENCES = {"showtimes": ("movieId", "auditoriumId")}
PROGRESS_EVERY = 64 * 1024 * 1024


def open_stream(s3: Any, bucket: str, key: str, *, gzip: bool, start: int = 0) -> IO[bytes]:
    """The object as a byte stream from ``start`` (``start - 1`` when > 0: ``frames`` snaps to the next line)."""
    obj = S3Object(bucket=bucket, key=key, boto3_client=s3)
    if gzip:
        return obj.transform(GzipTransform())  # type: ignore[return-value]
    if start > 0:
        obj.seek(start - 1)
    return obj


def sniff(s3: Any, bucket: str, key: str, spec: KindSpec, fmt: str, *, gzip: bool) -> None:
    """Check the file's first line (header, text, encoding) before any validator starts: a wrong file fails at once."""
    if gzip:
        magic = s3.get_object(Bucket=bucket, Key=key, Range="bytes=0-1")["Body"].read()
        if magic != GZIP_MAGIC:
            raise FileRejected("gzip", "The import says gzip, but the file is not gzip.", 1)
    stream = open_stream(s3, bucket, key, gzip=gzip)
    first = stream.read(MAX_LINE + 1) if not gzip else _first_line_gz(stream)
    if b"\x00" in first:
        raise FileRejected("not-text", "The file is not text (it has NUL bytes); expected UTF-8 CSV or NDJSON.", 1)
    newline = first.find(b"\n")
    if newline < 0 and len(first) > MAX_LINE:
        raise FileRejected("line-too-long", f"The first line is longer than {MAX_LINE} bytes; rows are lines.", 1)
    check_header(spec, fmt, first[: newline + 1] if newline >= 0 else first)


def _first_line_gz(stream: IO[bytes]) -> bytes:
    from marquee.imports.validation import _read

    return _read(stream, MAX_LINE + 1)


def plan_ranges(size: int, *, range_bytes: int, gzip: bool) -> list[tuple[int, int]]:
    if gzip or size <= range_bytes:
        return [(0, size)]
    count = -(-size // range_bytes)
    step = -(-size // count)
    return [(start, min(start + step, size)) for start in range(0, size, step)]


def read_range(
    s3: Any,
    bucket: str,
    key: str,
    spec: KindSpec,
    fmt: str,
    *,
    start: int,
    end: int | None,
    gzip: bool,
    on_rows: Callable[[int, list[Any]], None] | None = None,
    on_progress: Callable[[int], None] | None = None,
    max_errors_per_field: int = MAX_ERRORS_PER_FIELD,
) -> RangeResult:
    """Validate the lines starting in ``[start, end)`` (the whole file for gzip). Lines are counted from 1 in the
    range; range 0's line 1 is the CSV header. A file-level problem is returned in ``rejected``, never raised."""
    validator = ChunkValidator(
        spec, fmt, max_errors_per_field=max_errors_per_field, references=REFERENCES.get(spec.kind, ()), on_rows=on_rows
    )
    line = 1
    reported = 0
    try:
        stream = open_stream(s3, bucket, key, gzip=gzip, start=start)
        for data in frames(stream, start=0 if gzip else start, end=None if gzip else end):
            if line == 1 and start == 0:
                data = data.removeprefix(BOM)
                if fmt == "csv":
                    newline = data.find(b"\n")
                    header = data[: newline + 1] if newline >= 0 else data
                    check_header(spec, fmt, header)
                    data = data[len(header) :]
                    validator.result.lines += 1
                    validator.result.bytes += len(header)
                    line = 2
            validator.chunk(data, line)
            line = validator.result.lines + 1
            if on_progress is not None and validator.result.bytes - reported >= PROGRESS_EVERY:
                on_progress(validator.result.bytes - reported)
                reported = validator.result.bytes
    except FileRejected as rejected:
        if rejected.line is None:
            rejected.line = line
        validator.result.rejected = rejected.as_dict()
    if on_progress is not None and validator.result.bytes > reported:
        on_progress(validator.result.bytes - reported)
    validator.result.peak_rss_bytes = peak_rss_bytes()
    return validator.result


def peak_rss_bytes() -> int:
    """This process's peak resident set size: ``VmHWM`` of its own memory. Not ``ru_maxrss``: Linux carries that over
    ``execve`` from the memory the process was forked from, so a worker spawned by a big process (the local cloud,
    a benchmark) reported its parent's size."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # not Linux: its own accounting


@dataclass
class Report:
    lines: int = 0
    rows: int = 0
    invalid_rows: int = 0
    bytes: int = 0
    errors: list[FieldError] = field(default_factory=list)
    error_counts: dict[str, int] = field(default_factory=dict)
    references: dict[str, dict[str, int]] = field(default_factory=dict)
    rejected: dict[str, Any] | None = None
    validators: int = 0
    peak_rss_bytes: int = 0  # the largest of the validators' peak RSS

    @property
    def ok(self) -> bool:
        return self.rejected is None and self.invalid_rows == 0 and not self.errors

    def add_error(self, error: FieldError, cap: int = MAX_ERRORS_PER_FIELD) -> None:
        count = self.error_counts.get(error.field, 0) + 1
        self.error_counts[error.field] = count
        if count <= cap:
            self.errors.append(error)

    def to_dict(self) -> dict[str, Any]:
        return {
            "lines": self.lines,
            "rows": self.rows,
            "invalidRows": self.invalid_rows,
            "bytes": self.bytes,
            "rejected": self.rejected,
            "validators": self.validators,
            "validatorPeakRssBytes": self.peak_rss_bytes,
            "errorCounts": self.error_counts,
            "errors": [{"line": e.line, "field": e.field, "reason": e.reason} for e in self.errors],
        }


def merge(results: list[RangeResult], cap: int = MAX_ERRORS_PER_FIELD) -> Report:
    """One report from the ranges' results, in file order, with file line numbers and at most ``cap`` per field."""
    report = Report()
    for result in results:
        offset = report.lines
        report.lines += result.lines
        report.rows += result.rows
        report.invalid_rows += result.invalid_rows
        report.bytes += result.bytes
        report.validators += 1
        report.peak_rss_bytes = max(report.peak_rss_bytes, result.peak_rss_bytes)
        for error in result.errors:
            report.errors.append(FieldError(error.line + offset, error.field, error.reason))
        for name, count in result.error_counts.items():
            report.error_counts[name] = report.error_counts.get(name, 0) + count
        for name, seen in result.references.items():
            merged = report.references.setdefault(name, {})
            for value, line in seen.items():
                merged.setdefault(value, line + offset)
        if result.rejected is not None and report.rejected is None:
            rejected = dict(result.rejected)
            if rejected.get("line") is not None:
                rejected["line"] += offset
            report.rejected = rejected
    per_field: dict[str, int] = {}
    kept = []
    for error in sorted(report.errors, key=lambda e: e.line):
        per_field[error.field] = per_field.get(error.field, 0) + 1
        if per_field[error.field] <= cap:
            kept.append(error)
    report.errors = kept
    return report


REFERENCE_KINDS = {"movieId": "MOVIE", "auditoriumId": "AUDITORIUM"}


def check_references(ddb: DynamoDBClient, table: str, tenant: TenantContext, report: Report) -> None:
    """Every referenced movie and auditorium exists in this tenant (and is not deleted): an error per missing id, at
    the first line that names it. BatchGetItem, 100 keys a call."""
    for name, seen in report.references.items():
        kind = REFERENCE_KINDS[name]
        ids = list(seen)
        for start in range(0, len(ids), 100):
            batch = ids[start : start + 100]
            keys = [{"pk": {"S": tenant.key(kind, i)}, "sk": {"S": "META"}} for i in batch]
            found: set[str] = set()
            request: dict[str, Any] = {table: {"Keys": keys, "ProjectionExpression": "pk, deletedAt"}}
            while request:
                response = ddb.batch_get_item(RequestItems=request)
                for item in response.get("Responses", {}).get(table, []):
                    if "deletedAt" not in item:
                        found.add(item["pk"]["S"].rsplit("#", 1)[-1])
                request = response.get("UnprocessedKeys") or {}  # type: ignore[assignment]
            for missing in sorted(set(batch) - found, key=lambda i: seen[i]):
                report.add_error(FieldError(seen[missing], name, f"no such {kind.lower()} in this tenant"))
    report.errors.sort(key=lambda e: e.line)


class Publisher:
    """Writes valid rows through the catalog, skipping lines up to ``cursor`` and entities that already exist."""

    def __init__(
        self,
        spec: KindSpec,
        *,
        tenant: TenantContext,
        actor: Actor,
        table: str,
        ddb: DynamoDBClient,
        cursor: int,
        hold_lease_seconds: int,
    ) -> None:
        self.spec, self.tenant, self.actor, self.table, self.ddb = spec, tenant, actor, table, ddb
        self.cursor = cursor
        self.hold_lease_seconds = hold_lease_seconds
        self.created = 0
        self.present = 0

    def rows(self, first_line: int, rows: list[Any]) -> Iterator[tuple[int, Any]]:
        for offset, row in enumerate(rows):
            if first_line + offset > self.cursor:
                yield first_line + offset, row

    def write(self, row: Any) -> None:
        entity_id = row_id(self.spec, self.tenant.tenant_id, row)
        kind = {"showtimes": "SHOWTIME", "movies": "MOVIE", "cinemas": "CINEMA"}[self.spec.kind]
        key = {"pk": {"S": self.tenant.key(kind, entity_id)}, "sk": {"S": "META"}}
        if self.ddb.get_item(TableName=self.table, Key=key, ProjectionExpression="pk").get("Item"):
            self.present += 1  # imported before (this job resumed, or the same row in another job)
            return
        if self.spec.kind == "showtimes":
            catalog.create_showtime(
                self.tenant,
                movie_id=row.movieId,
                auditorium_id=row.auditoriumId,
                starts_at=row.startsAt,
                price=Money(amount=int(row.priceAmount), currency=row.currency),
                hold_lease_seconds=self.hold_lease_seconds,
                showtime_id=entity_id,
                actor=self.actor,
                table_name=self.table,
                client=self.ddb,
            )
        elif self.spec.kind == "movies":
            details = MovieDetails(director=row.director, genres=[g for g in row.genres.split("|") if g])
            catalog.create_movie(
                self.tenant,
                title=row.title,
                runtime_minutes=int(row.runtimeMinutes),
                details=details,
                movie_id=entity_id,
                actor=self.actor,
                table_name=self.table,
                client=self.ddb,
            )
        else:
            catalog.create_cinema(
                self.tenant,
                name=row.name,
                city=row.city,
                cinema_id=entity_id,
                actor=self.actor,
                table_name=self.table,
                client=self.ddb,
            )
        self.created += 1
