"""Configuration, request and response models of the imports API (camelCase on the wire)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StrictBool, StrictInt, StringConstraints, field_validator

from marquee.core.models import CamelModel, CamelRequest
from marquee.tenancy.tenant_session import TenantDataEnv

MIB = 1024 * 1024
MAX_PARTS = 10_000  # S3's limit per multipart upload
FIRST_URLS = 100  # presigned in POST /imports; the rest on demand (POST /imports/{id}/parts), so responses stay small
MAX_URLS_PER_CALL = 1000
MAX_SIZE = 50 * 1024 * MIB  # 50 GiB: 10,000 parts of 5 MiB would be 48.8 GiB; the part size grows to fit
PartNumber = Annotated[StrictInt, Field(ge=1, le=MAX_PARTS)]
ETag = Annotated[str, StringConstraints(pattern=r'^"?[0-9a-f]{32}"?$')]


class ImportsEnv(TenantDataEnv):
    imports_bucket: str = Field(min_length=3)
    part_size_bytes: int = Field(ge=5 * MIB, le=5 * 1024 * MIB)
    url_expiry_seconds: int = Field(ge=60, le=7 * 24 * 3600)
    # The bucket's AbortIncompleteMultipartUpload rule (days): an UPLOADING job older than this may have lost its upload
    abort_incomplete_upload_days: int = Field(ge=1, le=365)
    # The import validator (a fixed name): POST /imports/{id}/resume hands a stalled publish to a fresh invocation
    validator_function_name: str = Field(min_length=1)


class ImportRequest(CamelRequest):
    kind: Literal["showtimes", "movies", "cinemas"]
    format: Literal["csv", "ndjson"]
    compression: Literal["none", "gzip"] = "none"
    size_bytes: StrictInt = Field(ge=1, le=MAX_SIZE, description="The file's size: it sets the number of parts")
    dry_run: StrictBool = Field(default=False, description="Validate only: the report, never a write")


class PartUrl(CamelModel):
    part_number: int
    url: str = Field(description="A presigned S3 UploadPart URL: PUT the part's bytes to it; keep the ETag header")


class ImportCreated(CamelModel):
    import_id: str
    status: str
    part_size_bytes: int
    part_count: int = Field(description="Parts of the file; URLs beyond the first 100 come from POST .../parts")
    parts: list[PartUrl] = Field(description="Presigned URLs of the first parts (at most 100)")
    expires_in_seconds: int


class PartsRequest(CamelRequest):
    part_numbers: list[PartNumber] = Field(min_length=1, max_length=MAX_URLS_PER_CALL)


class UploadedPart(CamelModel):
    part_number: int
    etag: str
    size_bytes: int


class PartsResponse(CamelModel):
    """Fresh URLs for the parts asked for, and what S3 already has (ListParts): how a client resumes an upload."""

    uploaded: list[UploadedPart]
    parts: list[PartUrl]


class CompletedPart(CamelRequest):
    part_number: PartNumber
    etag: ETag


class CompleteRequest(CamelRequest):
    parts: list[CompletedPart] = Field(min_length=1, max_length=MAX_PARTS, description="Each part once")

    @field_validator("parts")
    @classmethod
    def each_part_once(cls, parts: list[CompletedPart]) -> list[CompletedPart]:
        # S3 refuses a part listed twice (InvalidPartOrder); said here, before S3, with the rule's name
        if len({p.part_number for p in parts}) != len(parts):
            raise ValueError("each partNumber may appear only once")
        return parts


class RowError(CamelModel):
    line: int
    field: str
    reason: str


class Rejection(CamelModel):
    code: str
    detail: str
    line: int | None


class ImportView(CamelModel):
    import_id: str
    kind: str
    format: str
    compression: str
    dry_run: bool
    status: Literal["UPLOADING", "UPLOADED", "VALIDATING", "FAILED", "VALIDATED", "PUBLISHING", "SUCCEEDED", "ABORTED"]
    size_bytes: int
    validated_bytes: int
    progress: float = Field(ge=0, le=1, description="Validated bytes over the file's size")
    lines: int
    rows: int
    invalid_rows: int
    published_rows: int = Field(description="Rows written by this job")
    already_present_rows: int = Field(description="Rows whose entity existed already (a re-run, or resumed)")
    rejected: Rejection | None
    error_counts: dict[str, int]
    errors: list[RowError] = Field(description="The first errors; the full report is at reportUrl")
    report_url: str | None
    aborted_reason: Literal["deleted", "upload-gone", "expired"] | None = Field(
        description="Why an ABORTED import ended: DELETE /imports/{id}, S3 no longer had its upload on /parts or "
        "/complete, or the bucket's rule expired the unfinished upload"
    )
    aborted_at: int | None = Field(description="When it was aborted (epoch seconds)")
    publish_invocations: int = Field(
        description="Validator invocations that have published this import (each hands on to the next near its end)"
    )
    last_progress_at: int | None = Field(description="When publishing last moved its cursor (epoch seconds)")
    created_at: int
    updated_at: int
