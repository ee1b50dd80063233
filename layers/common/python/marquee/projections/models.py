"""The read models: what each one stores, which events build it, and how one event is applied.

Every apply is ONE statement and **commutative and idempotent**: applying a model's events in any order, any number of
times, gives the same rows. That is what lets the projector take events out of order across aggregates, lets a
replay and the live stream write the same new generation at once, and makes "rebuilt = live" a fair test:
- **availability**: a seat's version is ``(fence, stage)``. The fence is the seat's fencing token, one more for each
  hold (challenge 3); the stage orders what can happen within one hold: held (1), then released or sold (2), then
  given back by a compensation (3). A seat row changes only to a higher version. Held seats carry their lease, so
  a hold that simply expires (no event) stops counting as held when its lease ends;
- **orders**: an order's rank (placed 1, confirmed or failed 2) decides its status; every other column is filled by
  whichever event carries it (``COALESCE``), so a late ``OrderPlaced`` still adds what only it knows;
- **sales**: one fact row per confirmed order (insert once) and a small showtime dimension (movie, cinema), joined at
  query time;
- **search documents** (challenge 14) keep their own table (``search_documents``), outside the generations: see
  ``marquee.search.documents``.

Table names come only from here (``Names``), never from input: the SQL is formatted with identifiers this module
owns, and every value is a parameter. A parameter that may be null is CAST: PostgreSQL cannot type a bare null.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime

from marquee.booking import catalog, events, orders
from marquee.messaging.events import Envelope
from marquee.relational.client import Param, Transaction

# seat stages: the order of what can happen to a seat within one hold
HELD, RELEASED_HOLD, SOLD, RELEASED_SALE = 1, 2, 2, 3
ORDER_RANKS = {"OrderPlaced": 1, "OrderConfirmed": 2, "OrderFailed": 2}
ORDER_STATUS = {"OrderPlaced": "PENDING", "OrderConfirmed": "CONFIRMED", "OrderFailed": "FAILED"}


@dataclass(frozen=True)
class Names:
    """The physical table of each logical table of one generation in one shard's schema (challenge 9):
    ``{schema}.rm_{projection}_{table}_g{generation}``. The schema is ``public`` for shard s0 and ``shard_sN`` for the
    others (``marquee.projections.shards``)."""

    projection: str
    generation: int
    tables: tuple[str, ...]
    schema: str = "public"

    def __getitem__(self, table: str) -> str:
        return f"{self.schema}.{self.bare(table)}"

    def bare(self, table: str) -> str:
        """The table's name without its schema (what an index name is built from)."""
        if table not in self.tables:
            raise KeyError(table)
        return f"rm_{self.projection}_{table}_g{self.generation}"

    def view(self, table: str) -> str:
        """What readers query: a view over the live generation's table, in the same schema."""
        if table not in self.tables:
            raise KeyError(table)
        return f"{self.schema}.rm_{self.projection}_{table}"


Apply = Callable[[Transaction, Names, Envelope], None]


@dataclass(frozen=True)
class Projection:
    name: str
    tables: tuple[str, ...]
    ddl: Callable[[Names], list[str]]
    handlers: Mapping[str, Apply]
    columns: Mapping[str, str]  # per table: the columns compared by a rebuild (every column the events decide)

    def names(self, generation: int, schema: str = "public") -> Names:
        return Names(self.name, generation, self.tables, schema)


def _run(tx: Transaction, sql: str, params: Mapping[str, Param]) -> None:
    tx.execute(sql, params)


# ---- availability ---------------------------------------------------------------------------------------------------
def _availability_ddl(n: Names) -> list[str]:
    return [
        f"""CREATE TABLE {n["showtimes"]} (
            tenant_id text NOT NULL,
            showtime_id text NOT NULL,
            movie_id text NOT NULL,
            auditorium_id text NOT NULL,
            cinema_id text NOT NULL,
            cinema_name text NOT NULL,
            city text NOT NULL,
            title text NOT NULL,
            starts_at timestamptz NOT NULL,
            price_amount bigint NOT NULL,
            price_currency text NOT NULL,
            capacity integer NOT NULL,
            PRIMARY KEY (tenant_id, showtime_id))""",
        f"CREATE INDEX {n.bare('showtimes')}_by_start ON {n['showtimes']} (tenant_id, starts_at, showtime_id)",
        f"""CREATE TABLE {n["seats"]} (
            tenant_id text NOT NULL,
            showtime_id text NOT NULL,
            seat_id text NOT NULL,
            fence integer NOT NULL,
            stage smallint NOT NULL,
            state text NOT NULL CHECK (state IN ('held', 'sold', 'free')),
            hold_id text NOT NULL,
            order_id text,
            lease_expires_at timestamptz,
            PRIMARY KEY (tenant_id, showtime_id, seat_id))""",
        # challenge 8: the soft-delete state of showtimes, movies and cinemas (the listing hides what is deleted)
        f"""CREATE TABLE {n["lifecycle"]} (
            tenant_id text NOT NULL,
            entity_id text NOT NULL,
            revision integer NOT NULL,
            deleted boolean NOT NULL,
            PRIMARY KEY (tenant_id, entity_id))""",
    ]


LIFECYCLE_UPSERT = """INSERT INTO {lifecycle} AS r (tenant_id, entity_id, revision, deleted)
    VALUES (:tenant, :entity, :revision, :deleted)
    ON CONFLICT (tenant_id, entity_id) DO UPDATE SET revision = EXCLUDED.revision, deleted = EXCLUDED.deleted
    WHERE r.revision < EXCLUDED.revision"""

LIFECYCLE_EVENTS: dict[str, tuple[str, bool]] = {
    "MovieDeleted": ("movieId", True),
    "MovieRestored": ("movieId", False),
    "CinemaDeleted": ("cinemaId", True),
    "CinemaRestored": ("cinemaId", False),
    "ShowtimeDeleted": ("showtimeId", True),
    "ShowtimeRestored": ("showtimeId", False),
}


def _lifecycle(tx: Transaction, n: Names, event: Envelope) -> None:
    """A soft delete or restore (challenge 8): the entity's row keeps the highest revision it saw, so a delete at N
    wins over anything before N and loses to the restore at N + 1, in whatever order they arrive."""
    field, deleted = LIFECYCLE_EVENTS[event.type]
    _run(
        tx,
        LIFECYCLE_UPSERT.format(lifecycle=n["lifecycle"]),
        {
            "tenant": event.tenant_id,
            "entity": str(event.data[field]),
            "revision": int(event.data["revision"]),
            "deleted": deleted,
        },
    )


def _showtime_scheduled(tx: Transaction, n: Names, event: Envelope) -> None:
    data = catalog.ShowtimeScheduled.model_validate(event.data)
    _run(
        tx,
        f"""INSERT INTO {n["showtimes"]} (tenant_id, showtime_id, movie_id, auditorium_id, cinema_id, cinema_name, city,
                title, starts_at, price_amount, price_currency, capacity)
            VALUES (:tenant, :showtime, :movie, :auditorium, :cinema, :cinema_name, :city, :title,
                    :starts_at AT TIME ZONE 'UTC', :amount, :currency, :capacity)
            ON CONFLICT (tenant_id, showtime_id) DO NOTHING""",  # noqa: S608 - identifiers from Names only
        {
            "tenant": event.tenant_id,
            "showtime": data.showtime_id,
            "movie": data.movie_id,
            "auditorium": data.auditorium_id,
            "cinema": data.cinema_id,
            "cinema_name": data.cinema_name,
            "city": data.city,
            "title": data.title,
            "starts_at": data.starts_at,
            "amount": data.price.amount,
            "currency": data.price.currency,
            "capacity": data.capacity,
        },
    )


SEAT_UPSERT = """INSERT INTO {seats} AS r (tenant_id, showtime_id, seat_id, fence, stage, state, hold_id, order_id,
        lease_expires_at)
    SELECT :tenant, :showtime, s."seatId", s.fence, :stage, :state, :hold, CAST(:order AS text),
           to_timestamp(CAST(:lease_ms AS bigint) / 1000.0)
    FROM jsonb_to_recordset(CAST(:seats AS jsonb)) AS s("seatId" text, fence integer)
    ON CONFLICT (tenant_id, showtime_id, seat_id) DO UPDATE SET
        fence = EXCLUDED.fence, stage = EXCLUDED.stage, state = EXCLUDED.state, hold_id = EXCLUDED.hold_id,
        order_id = EXCLUDED.order_id, lease_expires_at = EXCLUDED.lease_expires_at
    WHERE (r.fence, r.stage) < (EXCLUDED.fence, EXCLUDED.stage)"""


def _seats(
    tx: Transaction,
    n: Names,
    event: Envelope,
    *,
    showtime_id: str,
    fences: list[events.HeldSeatData],
    stage: int,
    state: str,
    hold_id: str,
    order_id: str | None = None,
    lease_ms: int | None = None,
) -> None:
    """One version-guarded upsert for the seats of one event. An event without fences (written before they were
    added) cannot be ordered against others, so it is skipped rather than guessed."""
    if not fences:
        return
    _run(
        tx,
        SEAT_UPSERT.format(seats=n["seats"]),
        {
            "tenant": event.tenant_id,
            "showtime": showtime_id,
            "stage": stage,
            "state": state,
            "hold": hold_id,
            "order": order_id,
            "lease_ms": lease_ms,
            "seats": [f.model_dump(by_alias=True) for f in fences],
        },
    )


def _hold_created(tx: Transaction, n: Names, event: Envelope) -> None:
    data = events.HoldCreated.model_validate(event.data)
    _seats(
        tx,
        n,
        event,
        showtime_id=data.showtime_id,
        fences=data.seats,
        stage=HELD,
        state="held",
        hold_id=data.hold_id,
        lease_ms=data.lease_expires_at_ms,
    )


def _hold_released(tx: Transaction, n: Names, event: Envelope) -> None:
    data = events.HoldReleased.model_validate(event.data)
    _seats(
        tx, n, event, showtime_id=data.showtime_id, fences=data.fences, stage=RELEASED_HOLD, state="free",
        hold_id=data.hold_id,
    )  # fmt: skip


def _seats_reserved(tx: Transaction, n: Names, event: Envelope) -> None:
    data = events.SeatsReserved.model_validate(event.data)
    _seats(
        tx, n, event, showtime_id=data.showtime_id, fences=data.fences, stage=SOLD, state="sold",
        hold_id=data.hold_id, order_id=data.order_id,
    )  # fmt: skip


def _seats_released(tx: Transaction, n: Names, event: Envelope) -> None:
    data = events.SeatsReleased.model_validate(event.data)
    _seats(
        tx, n, event, showtime_id=data.showtime_id, fences=data.fences, stage=RELEASED_SALE, state="free",
        hold_id=data.hold_id, order_id=data.order_id,
    )  # fmt: skip


AVAILABILITY = Projection(
    name="availability",
    tables=("showtimes", "seats", "lifecycle"),
    ddl=_availability_ddl,
    handlers={
        "ShowtimeScheduled": _showtime_scheduled,
        "HoldCreated": _hold_created,
        "HoldReleased": _hold_released,
        "SeatsReserved": _seats_reserved,
        "SeatsReleased": _seats_released,
        **dict.fromkeys(LIFECYCLE_EVENTS, _lifecycle),
    },
    columns={
        "showtimes": "tenant_id, showtime_id, movie_id, auditorium_id, cinema_id, cinema_name, city, title, starts_at, "
        "price_amount, price_currency, capacity",
        "seats": "tenant_id, showtime_id, seat_id, fence, stage, state, hold_id, order_id, lease_expires_at",
        "lifecycle": "tenant_id, entity_id, revision, deleted",
    },
)


# ---- orders (each customer's order history) -------------------------------------------------------------------------
def _orders_ddl(n: Names) -> list[str]:
    return [
        f"""CREATE TABLE {n["orders"]} (
            tenant_id text NOT NULL,
            order_id text NOT NULL,
            customer_id text NOT NULL,
            status text NOT NULL,
            rank smallint NOT NULL,
            showtime_id text,
            seat_ids text[],
            amount bigint,
            currency text,
            payment_id text,
            reason text,
            placed_at timestamptz NOT NULL,
            updated_at timestamptz NOT NULL,
            PRIMARY KEY (tenant_id, order_id))""",
        f"CREATE INDEX {n.bare('orders')}_by_customer ON {n['orders']} (tenant_id, customer_id, placed_at DESC, order_id)",
    ]


ORDER_UPSERT = """INSERT INTO {orders} AS r (tenant_id, order_id, customer_id, status, rank, showtime_id, seat_ids, amount,
        currency, payment_id, reason, placed_at, updated_at)
    VALUES (:tenant, :order, :customer, :status, :rank, CAST(:showtime AS text),
            CASE WHEN CAST(:seats AS jsonb) IS NULL THEN NULL
                 ELSE ARRAY(SELECT jsonb_array_elements_text(CAST(:seats AS jsonb))) END,
            CAST(:amount AS bigint), CAST(:currency AS text), CAST(:payment AS text), CAST(:reason AS text),
            :at AT TIME ZONE 'UTC', :at AT TIME ZONE 'UTC')
    ON CONFLICT (tenant_id, order_id) DO UPDATE SET
        status = CASE WHEN EXCLUDED.rank > r.rank THEN EXCLUDED.status ELSE r.status END,
        rank = GREATEST(r.rank, EXCLUDED.rank),
        showtime_id = COALESCE(r.showtime_id, EXCLUDED.showtime_id),
        seat_ids = COALESCE(r.seat_ids, EXCLUDED.seat_ids),
        amount = COALESCE(r.amount, EXCLUDED.amount),
        currency = COALESCE(r.currency, EXCLUDED.currency),
        payment_id = COALESCE(r.payment_id, EXCLUDED.payment_id),
        reason = COALESCE(r.reason, EXCLUDED.reason),
        placed_at = LEAST(r.placed_at, EXCLUDED.placed_at),
        updated_at = GREATEST(r.updated_at, EXCLUDED.updated_at)"""


def _order_event(tx: Transaction, n: Names, event: Envelope) -> None:
    model: dict[str, type[orders.OrderPlaced | orders.OrderConfirmed | orders.OrderFailed]] = {
        "OrderPlaced": orders.OrderPlaced,
        "OrderConfirmed": orders.OrderConfirmed,
        "OrderFailed": orders.OrderFailed,
    }
    data = model[event.type].model_validate(event.data)
    amount = getattr(data, "amount", None)
    seats: list[str] | None = getattr(data, "seat_ids", None)
    _run(
        tx,
        ORDER_UPSERT.format(orders=n["orders"]),
        {
            "tenant": event.tenant_id,
            "order": data.order_id,
            "customer": data.customer_id,
            "status": ORDER_STATUS[event.type],
            "rank": ORDER_RANKS[event.type],
            "showtime": getattr(data, "showtime_id", None),
            "seats": seats,
            "amount": amount.amount if amount is not None else None,
            "currency": amount.currency if amount is not None else None,
            "payment": getattr(data, "payment_id", None),
            "reason": getattr(data, "reason", None),
            "at": event.occurred_at,
        },
    )


ORDERS = Projection(
    name="orders",
    tables=("orders",),
    ddl=_orders_ddl,
    handlers=dict.fromkeys(ORDER_RANKS, _order_event),
    columns={
        "orders": "tenant_id, order_id, customer_id, status, rank, showtime_id, seat_ids, amount, currency, payment_id, "
        "reason, placed_at, updated_at",
    },
)


# ---- sales (staff reports per movie, cinema and day) ----------------------------------------------------------------
def _sales_ddl(n: Names) -> list[str]:
    return [
        f"""CREATE TABLE {n["sales"]} (
            tenant_id text NOT NULL,
            order_id text NOT NULL,
            showtime_id text NOT NULL,
            day date NOT NULL,
            seats integer NOT NULL,
            amount bigint NOT NULL,
            currency text NOT NULL,
            PRIMARY KEY (tenant_id, order_id))""",
        f"CREATE INDEX {n.bare('sales')}_by_day ON {n['sales']} (tenant_id, day)",
        f"""CREATE TABLE {n["showtimes"]} (
            tenant_id text NOT NULL,
            showtime_id text NOT NULL,
            movie_id text NOT NULL,
            title text NOT NULL,
            cinema_id text NOT NULL,
            cinema_name text NOT NULL,
            PRIMARY KEY (tenant_id, showtime_id))""",
    ]


def _sale(tx: Transaction, n: Names, event: Envelope) -> None:
    data = orders.OrderConfirmed.model_validate(event.data)
    _run(
        tx,
        f"""INSERT INTO {n["sales"]} (tenant_id, order_id, showtime_id, day, seats, amount, currency)
            VALUES (:tenant, :order, :showtime, :day, :seats, :amount, :currency)
            ON CONFLICT (tenant_id, order_id) DO NOTHING""",  # noqa: S608 - identifiers from Names only
        {
            "tenant": event.tenant_id,
            "order": data.order_id,
            "showtime": data.showtime_id,
            "day": _utc_day(event.occurred_at),
            "seats": len(data.seat_ids),
            "amount": data.amount.amount,
            "currency": data.amount.currency,
        },
    )


def _sales_showtime(tx: Transaction, n: Names, event: Envelope) -> None:
    data = catalog.ShowtimeScheduled.model_validate(event.data)
    _run(
        tx,
        f"""INSERT INTO {n["showtimes"]} (tenant_id, showtime_id, movie_id, title, cinema_id, cinema_name)
            VALUES (:tenant, :showtime, :movie, :title, :cinema, :cinema_name)
            ON CONFLICT (tenant_id, showtime_id) DO NOTHING""",  # noqa: S608 - identifiers from Names only
        {
            "tenant": event.tenant_id,
            "showtime": data.showtime_id,
            "movie": data.movie_id,
            "title": data.title,
            "cinema": data.cinema_id,
            "cinema_name": data.cinema_name,
        },
    )


def _utc_day(at: datetime) -> date:
    return at.astimezone(UTC).date() if at.tzinfo else at.date()


SALES = Projection(
    name="sales",
    tables=("sales", "showtimes"),
    ddl=_sales_ddl,
    handlers={"OrderConfirmed": _sale, "ShowtimeScheduled": _sales_showtime},
    columns={
        "sales": "tenant_id, order_id, showtime_id, day, seats, amount, currency",
        "showtimes": "tenant_id, showtime_id, movie_id, title, cinema_id, cinema_name",
    },
)

PROJECTIONS: dict[str, Projection] = {p.name: p for p in (AVAILABILITY, ORDERS, SALES)}
