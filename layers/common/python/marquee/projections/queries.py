"""The read side: every query here reads only the read models' views, never DynamoDB.

- ``showtimes``: a page of the tenant's showtimes by start time, each with its free, held and sold counts. A seat is
  held while its hold's lease runs (``lease_expires_at > now()``), so an expired hold stops counting with no event;
- ``customer_orders``: a page of one customer's orders, newest first;
- ``sales``: the tenant's confirmed sales per day, movie and cinema between two days.

Each statement names its views as ``{S}.rm_...``: the tenant's read-model shard's schema goes there, from the
placement (``marquee.projections.shards.read_schema``, cached for a few seconds).

Pages are keyset pages with an opaque cursor (base64url JSON of the last row's sort key, checked on the way in): no
OFFSET is ever scanned, and a cursor carries no tenant (the tenant always comes from the token).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from marquee.core.errors import BadRequestError
from marquee.projections import shards
from marquee.relational.client import DataApi, Param

MAX_CURSOR = 300
MAX_REPORT_DAYS = 366
_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class BadCursor(BadRequestError):
    slug = "bad-cursor"
    title = "Bad cursor"


class BadRange(BadRequestError):
    slug = "bad-date-range"
    title = "Bad date range"


def encode_cursor(at: str, entity_id: str) -> str:
    raw = json.dumps({"v": 1, "t": at, "i": entity_id}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(text: str) -> tuple[datetime, str]:
    """The (timestamp, id) a cursor names; ``BadCursor`` for anything this API did not issue."""
    if not text or len(text) > MAX_CURSOR or not re.fullmatch(r"[A-Za-z0-9_-]+", text):
        raise BadCursor("The cursor is not one this API issued.")
    try:
        data = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
        if not isinstance(data, dict) or set(data) != {"v", "t", "i"} or data["v"] != 1:
            raise ValueError("shape")
        at, entity_id = data["t"], data["i"]
        if not isinstance(at, str) or not isinstance(entity_id, str) or not _ID.match(entity_id):
            raise ValueError("fields")
        return datetime.fromisoformat(at), entity_id
    except (binascii.Error, ValueError, TypeError) as exc:
        raise BadCursor("The cursor is not one this API issued.") from exc


def _iso(value: Any) -> str:
    """A timestamp as the Data API returns it (``2026-12-05 10:00:00.123``, UTC) in ISO 8601 with a Z."""
    text = str(value).replace(" ", "T")
    return text if text.endswith("Z") or "+" in text[10:] else text + "Z"


def _in(api: DataApi, sql: str, tenant_id: str) -> str:
    """``sql`` reading the views in the tenant's read-model shard's schema (``shards.read_schema``)."""
    return shards.qualify(sql, shards.read_schema(api, tenant_id))


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    next_cursor: str | None


SHOWTIMES = """SELECT s.showtime_id, s.movie_id, s.title, s.auditorium_id, s.cinema_id, s.cinema_name, s.city,
        s.starts_at, s.price_amount, s.price_currency, s.capacity, c.sold, c.held
    FROM (SELECT * FROM {S}.rm_availability_showtimes s
          WHERE s.tenant_id = :tenant AND (s.starts_at, s.showtime_id) > (:after_at AT TIME ZONE 'UTC', :after_id)
            AND NOT EXISTS (SELECT 1 FROM {S}.rm_availability_lifecycle l
                            WHERE l.tenant_id = s.tenant_id AND l.deleted
                              AND l.entity_id IN (s.showtime_id, s.movie_id, s.cinema_id))
          ORDER BY s.starts_at, s.showtime_id
          LIMIT :limit) s
    CROSS JOIN LATERAL (
        SELECT count(*) FILTER (WHERE st.state = 'sold') AS sold,
               count(*) FILTER (WHERE st.state = 'held' AND st.lease_expires_at > now()) AS held
        FROM {S}.rm_availability_seats st
        WHERE st.tenant_id = s.tenant_id AND st.showtime_id = s.showtime_id) c
    ORDER BY s.starts_at, s.showtime_id"""
# The page of showtimes first (the start-time index, LIMIT), then each one's seats counted: counting every showtime's
# seats before the LIMIT took 300 ms for a tenant with 1,000 showtimes of 250 seats (bench/read_model_shards.py).


SHOWTIME = SHOWTIMES.replace(
    "AND (s.starts_at, s.showtime_id) > (:after_at AT TIME ZONE 'UTC', :after_id)", "AND s.showtime_id = :showtime"
).replace("LIMIT :limit", "LIMIT 1")


def showtime(api: DataApi, tenant_id: str, showtime_id: str) -> dict[str, Any] | None:
    """One showtime of the listing with its availability (the aggregator's section); None if the model has none."""
    rows = api.query(_in(api, SHOWTIME, tenant_id), {"tenant": tenant_id, "showtime": showtime_id})
    return _listing(rows[0]) if rows else None


def _listing(row: dict[str, Any]) -> dict[str, Any]:
    sold, held, capacity = int(row["sold"]), int(row["held"]), int(row["capacity"])
    return {
        "showtime_id": row["showtime_id"],
        "movie_id": row["movie_id"],
        "title": row["title"],
        "auditorium_id": row["auditorium_id"],
        "cinema_id": row["cinema_id"],
        "cinema_name": row["cinema_name"],
        "city": row["city"],
        "starts_at": _iso(row["starts_at"]),
        "price": {"amount": int(row["price_amount"]), "currency": row["price_currency"]},
        "availability": {"capacity": capacity, "free": max(capacity - sold - held, 0), "held": held, "sold": sold},
    }


def showtimes(api: DataApi, tenant_id: str, *, limit: int, cursor: str | None) -> Page:
    after_at, after_id = decode_cursor(cursor) if cursor else (datetime(1970, 1, 1), "")
    params: dict[str, Param] = {"tenant": tenant_id, "after_at": after_at, "after_id": after_id, "limit": limit + 1}
    rows = api.query(_in(api, SHOWTIMES, tenant_id), params)
    items = [_listing(row) for row in rows[:limit]]
    more = len(rows) > limit
    last = items[-1] if items and more else None
    return Page(items, encode_cursor(last["starts_at"], last["showtime_id"]) if last else None)


CUSTOMER_ORDERS = """SELECT order_id, status, showtime_id, seat_ids, amount, currency, payment_id, reason, placed_at,
        updated_at
    FROM {S}.rm_orders_orders
    WHERE tenant_id = :tenant AND customer_id = :customer
      AND (placed_at, order_id) < (:before_at AT TIME ZONE 'UTC', :before_id)
    ORDER BY placed_at DESC, order_id DESC
    LIMIT :limit"""


CUSTOMER_ORDERS_FOR_SHOWTIME = CUSTOMER_ORDERS.replace(
    "AND (placed_at, order_id) < (:before_at AT TIME ZONE 'UTC', :before_id)", "AND showtime_id = :showtime"
)


def customer_orders_for_showtime(
    api: DataApi, tenant_id: str, customer_id: str, showtime_id: str, *, limit: int = 20
) -> list[dict[str, Any]]:
    """One customer's orders for one showtime, newest first (the aggregator's section)."""
    rows = api.query(
        _in(api, CUSTOMER_ORDERS_FOR_SHOWTIME, tenant_id),
        {"tenant": tenant_id, "customer": customer_id, "showtime": showtime_id, "limit": limit},
    )
    return [_order(row) for row in rows]


def customer_orders(api: DataApi, tenant_id: str, customer_id: str, *, limit: int, cursor: str | None) -> Page:
    before_at, before_id = decode_cursor(cursor) if cursor else (datetime(9999, 12, 31), "~")
    rows = api.query(
        _in(api, CUSTOMER_ORDERS, tenant_id),
        {
            "tenant": tenant_id,
            "customer": customer_id,
            "before_at": before_at,
            "before_id": before_id,
            "limit": limit + 1,
        },
    )
    items = [_order(row) for row in rows[:limit]]
    more = len(rows) > limit
    last = items[-1] if items and more else None
    return Page(items, encode_cursor(last["placed_at"], last["order_id"]) if last else None)


SALES = """SELECT s.day, s.currency, d.movie_id, d.title, d.cinema_id, d.cinema_name,
        count(*) AS orders, sum(s.seats) AS seats, sum(s.amount) AS revenue
    FROM {S}.rm_sales_sales s
    LEFT JOIN {S}.rm_sales_showtimes d ON d.tenant_id = s.tenant_id AND d.showtime_id = s.showtime_id
    WHERE s.tenant_id = :tenant AND s.day BETWEEN :from_day AND :to_day
    GROUP BY s.day, s.currency, d.movie_id, d.title, d.cinema_id, d.cinema_name
    ORDER BY s.day, d.movie_id NULLS LAST, d.cinema_id NULLS LAST, s.currency"""


def sales(api: DataApi, tenant_id: str, *, from_day: date, to_day: date) -> list[dict[str, Any]]:
    if from_day > to_day:
        raise BadRange("'from' is after 'to'.")
    if (to_day - from_day).days >= MAX_REPORT_DAYS:
        raise BadRange(f"A report covers at most {MAX_REPORT_DAYS} days.")
    rows = api.query(_in(api, SALES, tenant_id), {"tenant": tenant_id, "from_day": from_day, "to_day": to_day})
    return [
        {
            "day": str(row["day"])[:10],
            "movie_id": row["movie_id"],
            "title": row["title"],
            "cinema_id": row["cinema_id"],
            "cinema_name": row["cinema_name"],
            "orders": int(row["orders"]),
            "seats": int(row["seats"]),
            "revenue": {"amount": int(row["revenue"]), "currency": row["currency"]},
        }
        for row in rows
    ]


def _order(row: dict[str, Any]) -> dict[str, Any]:
    seats = row["seat_ids"]
    if isinstance(seats, str):  # an array may come back as its text form
        seats = [s for s in seats.strip("{}").split(",") if s]
    return {
        "order_id": row["order_id"],
        "status": row["status"],
        "showtime_id": row["showtime_id"],
        "seat_ids": list(seats or []),
        "amount": {"amount": int(row["amount"]), "currency": row["currency"]} if row["amount"] is not None else None,
        "payment_id": row["payment_id"],
        "reason": row["reason"],
        "placed_at": _iso(row["placed_at"]),
        "updated_at": _iso(row["updated_at"]),
    }
