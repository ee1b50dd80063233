"""What a reconciler run reports: drift items (each with the ids a person needs to act) and the repairs it made."""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from marquee.core.models import CamelModel


class DriftKind(StrEnum):
    """Each kind is one invariant of the booking core that the stores must agree on."""

    # provider ledger <-> payments
    CHARGE_WITHOUT_PAYMENT = "CHARGE_WITHOUT_PAYMENT"  # the provider charged; no payment, no attempt names the key
    PAYMENT_WITHOUT_CHARGE = "PAYMENT_WITHOUT_CHARGE"  # a captured payment whose charge its provider does not know
    AMOUNT_MISMATCH = "AMOUNT_MISMATCH"  # the ledger's amount or currency differs from the payment's
    REFUND_MISMATCH = "REFUND_MISMATCH"  # refunded on one side only
    OUTCOME_UNKNOWN = "OUTCOME_UNKNOWN"  # a charge whose provider still cannot say what it did
    # payments <-> orders
    PAYMENT_WITHOUT_ORDER = "PAYMENT_WITHOUT_ORDER"  # a payment for an order that does not exist
    CAPTURED_FOR_FAILED_ORDER = "CAPTURED_FOR_FAILED_ORDER"  # money kept for an order that failed
    CONFIRMED_ORDER_WITHOUT_PAYMENT = "CONFIRMED_ORDER_WITHOUT_PAYMENT"  # confirmed, but no captured payment
    # orders <-> seats
    CONFIRMED_ORDER_SEAT_NOT_SOLD = "CONFIRMED_ORDER_SEAT_NOT_SOLD"  # confirmed, but a seat is not sold to it
    SEAT_SOLD_WITHOUT_PAYMENT = "SEAT_SOLD_WITHOUT_PAYMENT"  # sold to an order that is missing, failed or unpaid
    ORDER_STUCK_PENDING = "ORDER_STUCK_PENDING"  # PENDING long after any saga would have settled it
    # any store
    MALFORMED_ITEM = "MALFORMED_ITEM"  # an order, payment or attempt item that lacks what its writer always writes


class Drift(CamelModel):
    kind: DriftKind
    tenant_id: str | None = None  # None: the provider's ledger names no tenant (a charge nothing of ours knows)
    order_id: str | None = None
    payment_id: str | None = None
    charge_id: str | None = None
    provider: str | None = None
    showtime_id: str | None = None
    seat_id: str | None = None
    detail: str

    def ids(self) -> dict[str, str]:
        return {k: v for k, v in self.model_dump(by_alias=True, exclude={"kind", "detail"}).items() if v}


class Repair(CamelModel):
    """Something the run settled on its own (only an unknown charge outcome, and the refund that follows from it)."""

    action: str  # "settled-captured", "settled-declined", "settled-not-charged", "refunded"
    tenant_id: str
    payment_id: str
    order_id: str | None = None
    detail: str


class IntegrityReport(CamelModel):
    run_id: str
    started_at: str
    duration_ms: int
    scanned: dict[str, int]  # orders, payments, attempts, soldSeats, charges
    unreadable_providers: list[str] = Field(default_factory=list)  # their ledger checks were skipped this run
    drift: list[Drift] = Field(default_factory=list)
    repairs: list[Repair] = Field(default_factory=list)

    @property
    def drift_count(self) -> int:
        return len(self.drift)

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for item in self.drift:
            counts[item.kind.value] = counts.get(item.kind.value, 0) + 1
        return counts
