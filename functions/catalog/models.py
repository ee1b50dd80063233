"""Configuration, request and response models of the catalog function (camelCase on the wire)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import AwareDatetime, Field, StrictBool, StrictInt, StringConstraints

from marquee.audit.access import AccessTrailEnv
from marquee.cache.env import CacheEnv
from marquee.core.models import CamelRequest
from marquee.core.money import Money
from marquee.core.personal import PersonalKind, personal
from marquee.tenancy.tenant_session import TenantDataEnv

# No control characters in catalog text: it is searched (PostgreSQL refuses NUL) and shown to customers.
NO_CONTROLS = r"^[^\x00-\x1f\x7f]*$"
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120, pattern=NO_CONTROLS)]
OptionalName = Annotated[str, StringConstraints(strip_whitespace=True, max_length=120, pattern=NO_CONTROLS)]
Person = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80, pattern=r"^[^\x00-\x1f\x7f,|]+$")
]
Synopsis = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000, pattern=NO_CONTROLS)]
Genre = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z-]{0,31}$")]
EntityId = Annotated[str, StringConstraints(pattern=r"^[a-z]{3}_[0-9a-f]{16}$")]
SeatId = Annotated[str, StringConstraints(pattern=r"^[A-Z][1-9][0-9]{0,2}$")]


class CatalogEnv(TenantDataEnv, CacheEnv, AccessTrailEnv):
    default_hold_lease_seconds: int = Field(ge=30, le=3600)


class CinemaRequest(CamelRequest):
    name: Name
    city: Name


class CinemaResponse(CamelRequest):
    cinema_id: str
    name: str
    city: str


class AuditoriumRequest(CamelRequest):
    cinema_id: EntityId
    name: Name
    rows: StrictInt = Field(ge=1, le=26)
    seats_per_row: StrictInt = Field(ge=1, le=50)
    unavailable: list[SeatId] = Field(default_factory=list, max_length=1300)


class AuditoriumResponse(CamelRequest):
    auditorium_id: str
    cinema_id: str
    name: str
    rows: int
    seats_per_row: int
    unavailable: list[str]
    capacity: int


class MovieRequest(CamelRequest):
    title: Name
    runtime_minutes: StrictInt = Field(ge=1, le=600)
    original_title: OptionalName = ""
    cast: list[Person] = Field(default_factory=list, max_length=30)
    director: OptionalName = ""
    synopsis: Synopsis = ""
    genres: list[Genre] = Field(default_factory=list, max_length=8)


class MovieResponse(CamelRequest):
    movie_id: str
    title: str
    runtime_minutes: int
    original_title: str = ""
    cast: list[str] = Field(default_factory=list)
    director: str = ""
    synopsis: str = ""
    genres: list[str] = Field(default_factory=list)


class ShowtimeRequest(CamelRequest):
    movie_id: EntityId
    auditorium_id: EntityId
    starts_at: AwareDatetime
    price: Money
    hold_lease_seconds: StrictInt | None = Field(default=None, ge=1, le=3600)  # 1 s: demos and expiry tests


class ShowtimeSummary(CamelRequest):
    showtime_id: str
    movie_id: str
    title: str | None
    auditorium_id: str
    starts_at: datetime
    price: Money
    hold_lease_seconds: int


class SeatOut(CamelRequest):
    seat_id: str
    state: str


class SeatCounts(CamelRequest):
    free: int
    held: int
    sold: int
    unavailable: int


class ShowtimeDetail(ShowtimeSummary):
    seats: list[SeatOut]
    counts: SeatCounts


class SuggestionResponse(CamelRequest):
    """Where a party of ``party`` could sit together; ``algorithm`` says which one the caller's flag gave (v1 or v2)."""

    algorithm: str
    party: int
    seats: list[str]


# ---- soft delete and temporal audit (challenge 8) ---------------------------------------------------------------------
Email = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=254, pattern=r"^[^@\s\x00-\x1f]+@[^@\s\x00-\x1f]+$"),
    personal(PersonalKind.EMAIL),
]
Phone = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=20, pattern=r"^(\+?[0-9 ]{6,19})?$"),
    personal(PersonalKind.PHONE),
]
DisplayName = Annotated[Name, personal(PersonalKind.NAME)]


class MovieRead(MovieResponse):
    """A movie as staff and customers read it: now, or (``asOf``, staff) as it was at a past time."""

    revision: int
    deleted: bool = False
    changed_at: datetime | None = Field(default=None, description="When this revision was written")
    as_of: datetime | None = Field(default=None, description="The time asked for, when the read is an as-of read")


class CinemaRead(CinemaResponse):
    """A cinema now, or (``asOf``, staff) as it was at a past time."""

    revision: int
    deleted: bool = False
    changed_at: datetime | None = Field(default=None, description="When this revision was written")
    as_of: datetime | None = Field(default=None, description="The time asked for, when the read is an as-of read")


class ShowtimeAsOf(ShowtimeSummary):
    """A showtime as it was at a past time (``asOf``, staff): its fields from its versions; seats are live state and
    have no history, so an as-of read has none."""

    revision: int
    deleted: bool
    changed_at: datetime = Field(description="When this revision was written")
    as_of: datetime = Field(description="The time asked for")


class LifecycleResponse(CamelRequest):
    """The entity after a DELETE (soft) or a restore; ``changed`` is false when it was in that state already."""

    entity_id: str
    deleted: bool
    revision: int | None
    changed: bool


class VersionOut(CamelRequest):
    revision: int
    at: datetime
    change: str = Field(description="created, updated, deleted or restored")
    sub: str | None
    username: str | None
    request_id: str
    fields: list[str] = Field(description="The fields whose value differs between before and after")
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    expires_at: int | None = Field(description="When the version expires (epoch s, TTL); null under legal hold")
    erased: bool


class HistoryPage(CamelRequest):
    items: list[VersionOut]
    next_cursor: str | None = None


class AuditSettingsRequest(CamelRequest):
    retention_days: StrictInt = Field(ge=1, le=3650)
    legal_hold: StrictBool


class AuditSettingsResponse(CamelRequest):
    retention_days: int
    legal_hold: bool
    revision: int
    swept_revision: int
    updated_at: str | None = None
    updated_by: str | None = None
    versions_swept: int | None = Field(default=None, description="Versions whose TTL this change moved")


class ProfileRequest(CamelRequest):
    display_name: DisplayName
    email: Email
    phone: Phone = ""


class ProfileResponse(CamelRequest):
    customer_id: str
    display_name: Annotated[str, personal(PersonalKind.NAME)]
    email: Annotated[str, personal(PersonalKind.EMAIL)]
    phone: Annotated[str, personal(PersonalKind.PHONE)]
    revision: int


class ErasureResponse(CamelRequest):
    customer_id: str
    erased_at: datetime
    versions_erased: int
    authored_versions_scrubbed: int
    profile_deleted: bool
