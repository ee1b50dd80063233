"""The catalog and holds functions in-process on moto, with the sample events of events/catalog and events/holds."""

from __future__ import annotations

import copy
import json
from types import ModuleType
from typing import Any

import boto3
import pytest

from .conftest import Invocation, Platform, invoke, load_event, load_function, only_tenant_sessions, use_tenant_role


@pytest.fixture
def functions(platform: Platform, monkeypatch: pytest.MonkeyPatch) -> dict[str, ModuleType]:
    use_tenant_role(platform.table_name, monkeypatch)
    monkeypatch.setenv("DEFAULT_HOLD_LEASE_SECONDS", "600")
    monkeypatch.setenv("ACCESS_TRAIL_QUEUE_URL", platform.queue_url)  # tests/integration/test_access_audit.py: its own
    # No Valkey here: the catalog's cache and rate limiter fail open (tests/integration/test_ratelimit.py, the e2e).
    for name, value in {
        "CACHE_ADDRESS": "127.0.0.1",
        "CACHE_PORT": "1",
        "CACHE_TLS": "false",
        "CACHE_CLUSTER": "false",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "catalog")
    catalog = load_function("catalog")
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "holds")
    holds = load_function("holds")
    return {"catalog": catalog, "holds": holds}


def call(
    module: ModuleType, name: str, *, body: Any = None, params: dict[str, str] | None = None, **kw: Any
) -> Invocation:
    event = load_event(name)
    if body is not None:
        event["body"] = body if isinstance(body, str) else json.dumps(body)
    if params:
        event["pathParameters"] = params
        path = event["resource"]
        for key, value in params.items():
            path = path.replace("{" + key + "}", value)
        event["path"] = path
    if "tenant" in kw:
        event["requestContext"]["authorizer"]["claims"]["custom:tenant_id"] = kw["tenant"]
    if "sub" in kw:
        event["requestContext"]["authorizer"]["claims"]["sub"] = kw["sub"]
    return invoke(module, event)


def make_showtime(fns: dict[str, ModuleType], tenant: str = "acme-cinemas", lease: int = 600) -> str:
    cat = fns["catalog"]
    cinema = call(cat, "catalog/create_cinema.json", tenant=tenant)
    assert cinema.status == 201, cinema.body
    aud_body = {**load_body("catalog/create_auditorium.json"), "cinemaId": cinema.body["cinemaId"]}
    auditorium = call(cat, "catalog/create_auditorium.json", body=aud_body, tenant=tenant)
    assert auditorium.status == 201, auditorium.body
    movie = call(cat, "catalog/create_movie.json", tenant=tenant)
    body = {
        **load_body("catalog/create_showtime.json"),
        "movieId": movie.body["movieId"],
        "auditoriumId": auditorium.body["auditoriumId"],
        "holdLeaseSeconds": lease,
    }
    showtime = call(cat, "catalog/create_showtime.json", body=body, tenant=tenant)
    assert showtime.status == 201, showtime.body
    return str(showtime.body["showtimeId"])


def load_body(name: str) -> dict[str, Any]:
    return dict(json.loads(load_event(name)["body"]))


def hold(fns: dict[str, ModuleType], showtime: str, seats: list[str], **kw: Any) -> Invocation:
    return call(fns["holds"], "holds/create_hold.json", body={"seats": seats}, params={"showtimeId": showtime}, **kw)


def test_staff_create_a_showtime_whose_seat_map_shows_every_seat_state(functions: dict[str, ModuleType]) -> None:
    showtime = make_showtime(functions)
    assert hold(functions, showtime, ["C5", "C6"]).status == 201
    detail = call(functions["catalog"], "catalog/get_showtime.json", params={"showtimeId": showtime})
    assert detail.status == 200, detail.body
    states = {s["seatId"]: s["state"] for s in detail.body["seats"]}
    assert len(states) == 8 * 12
    assert states["A1"] == "unavailable" and states["C5"] == "held" and states["C7"] == "free"
    assert detail.body["counts"] == {"free": 92, "held": 2, "sold": 0, "unavailable": 2}


def test_each_catalog_write_puts_its_event_in_the_outbox_in_the_same_transaction(
    functions: dict[str, ModuleType], platform: Platform
) -> None:
    """CinemaOpened, MovieChanged (revision 1, then 2 on a PUT) and ShowtimeScheduled: what the read models and the
    search documents are built from (challenge 5)."""
    showtime = make_showtime(functions)
    ddb = boto3.client("dynamodb")
    items = ddb.scan(
        TableName=platform.table_name,
        FilterExpression="sk = :outbox",
        ExpressionAttributeValues={":outbox": {"S": "OUTBOX"}},
    )["Items"]
    events = [json.loads(i["envelope"]["S"]) for i in items]
    by_type = {e["type"]: e for e in events}
    assert {"CinemaOpened", "MovieChanged", "ShowtimeScheduled"} <= set(by_type)
    scheduled = by_type["ShowtimeScheduled"]["data"]
    assert scheduled["showtimeId"] == showtime
    assert scheduled["capacity"] == 8 * 12 - 2  # the auditorium's seats less its two unavailable ones
    assert scheduled["price"] == {"amount": 1250, "currency": "EUR"}
    assert scheduled["cinemaName"] and scheduled["city"]
    movie_id = scheduled["movieId"]
    assert by_type["MovieChanged"]["data"]["revision"] == 1

    updated = call(
        functions["catalog"],
        "catalog/create_movie.json",
        body={"title": "Renamed", "runtimeMinutes": 100},
    )
    assert updated.status == 201  # another movie; now replace the first one twice
    for title in ("Second cut", "Third cut"):
        event = load_event("catalog/create_movie.json")
        event.update(httpMethod="PUT", resource="/movies/{movieId}", path=f"/movies/{movie_id}")
        event["pathParameters"] = {"movieId": movie_id}
        event["body"] = json.dumps({"title": title, "runtimeMinutes": 100})
        assert invoke(functions["catalog"], event).status == 200
    items = ddb.scan(
        TableName=platform.table_name,
        FilterExpression="sk = :outbox AND event_type = :t",
        ExpressionAttributeValues={":outbox": {"S": "OUTBOX"}, ":t": {"S": "MovieChanged"}},
    )["Items"]
    revisions = sorted(
        (e["data"]["revision"], e["data"]["title"])
        for e in (json.loads(i["envelope"]["S"]) for i in items)
        if e["data"]["movieId"] == movie_id
    )
    assert [r for r, _ in revisions] == [1, 2, 3] and revisions[-1][1] == "Third cut"


def test_catalog_and_holds_reach_the_table_only_through_the_tenant_session(
    functions: dict[str, ModuleType], platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Challenge 19: every read and write is made with the tenant-access role's session for the caller's tenant."""
    with only_tenant_sessions(monkeypatch, platform.table_name) as opened:
        showtime = make_showtime(functions, tenant="acme-cinemas")
        assert hold(functions, showtime, ["C5"], tenant="acme-cinemas").status == 201
    assert opened and set(opened) == {"acme-cinemas"}


def test_customers_cannot_create_catalog_entries(functions: dict[str, ModuleType]) -> None:
    event = load_event("catalog/create_cinema.json")
    event["requestContext"]["authorizer"]["claims"]["cognito:groups"] = "customer"
    result = invoke(functions["catalog"], event)
    assert result.status == 403 and result.content_type == "application/problem+json"


def test_money_must_be_integer_minor_units(functions: dict[str, ModuleType]) -> None:
    body = {**load_body("catalog/create_showtime.json"), "price": {"amount": 12.5, "currency": "EUR"}}
    assert call(functions["catalog"], "catalog/create_showtime.json", body=body).status == 422


def test_a_second_hold_on_a_held_seat_is_a_409_listing_it_and_holds_nothing(functions: dict[str, ModuleType]) -> None:
    showtime = make_showtime(functions)
    assert hold(functions, showtime, ["C5"]).status == 201
    refused = hold(functions, showtime, ["C4", "C5"], sub="other-customer")
    assert refused.status == 409 and refused.content_type == "application/problem+json"
    assert refused.body["seats"] == ["C5"] and refused.body["type"] == "urn:marquee:problem:seats-taken"
    assert hold(functions, showtime, ["C4"], sub="third").status == 201, "C4 was not half-held"


@pytest.mark.parametrize(
    ("body", "status", "slug"),
    [
        ("{not json", 400, "malformed-json"),
        ({"seats": []}, 422, "validation-error"),
        ({"seats": ["C5", "C5"]}, 422, "validation-error"),
        ({"seats": ["Z99"]}, 422, "unknown-seats"),
        ({"seats": [f"B{i}" for i in range(1, 12)]}, 422, "too-many-seats"),
        ({"seats": ["c5"]}, 422, "validation-error"),
        ({"seats": ["C5"], "extra": 1}, 422, "validation-error"),
    ],
)
def test_bad_hold_requests_are_4xx_problems_and_hold_nothing(
    functions: dict[str, ModuleType], body: Any, status: int, slug: str
) -> None:
    showtime = make_showtime(functions)
    result = call(functions["holds"], "holds/create_hold.json", body=body, params={"showtimeId": showtime})
    assert result.status == status, result.body
    assert result.content_type == "application/problem+json"
    assert result.body["type"] == f"urn:marquee:problem:{slug}"
    detail = call(functions["catalog"], "catalog/get_showtime.json", params={"showtimeId": showtime})
    assert detail.body["counts"]["held"] == 0


def test_a_body_over_256_kb_is_a_413_problem_before_parsing(functions: dict[str, ModuleType]) -> None:
    result = call(functions["holds"], "holds/create_hold.json", body="x" * (256 * 1024 + 1))
    assert result.status == 413 and result.body["type"] == "urn:marquee:problem:payload-too-large"


def test_unknown_showtime_and_another_tenants_showtime_are_404(functions: dict[str, ModuleType]) -> None:
    showtime = make_showtime(functions, tenant="globex")
    assert hold(functions, "sht_0000000000000000", ["A2"]).status == 404
    assert hold(functions, showtime, ["A2"]).status == 404
    assert call(functions["catalog"], "catalog/get_showtime.json", params={"showtimeId": showtime}).status == 404


def test_only_the_owner_reads_and_releases_a_hold_and_release_is_idempotent(functions: dict[str, ModuleType]) -> None:
    showtime = make_showtime(functions)
    hold_id = hold(functions, showtime, ["D1", "D2"]).body["holdId"]
    params = {"holdId": hold_id}
    assert call(functions["holds"], "holds/get_hold.json", params=params, sub="intruder").status == 404
    assert call(functions["holds"], "holds/delete_hold.json", params=params, sub="intruder").status == 404
    assert call(functions["holds"], "holds/get_hold.json", params=params, tenant="globex").status == 404
    first = call(functions["holds"], "holds/delete_hold.json", params=params)
    again = call(functions["holds"], "holds/delete_hold.json", params=params)
    assert first.status == again.status == 200 and again.body["status"] == "RELEASED"
    assert hold(functions, showtime, ["D1", "D2"], sub="next").status == 201


def test_sample_events_parse(functions: dict[str, ModuleType]) -> None:
    event = copy.deepcopy(load_event("holds/get_hold.json"))
    assert invoke(functions["holds"], event).status == 404  # the sample's hold does not exist: a clean 404


def test_the_events_a_request_writes_carry_its_request_id(functions: dict[str, ModuleType], platform: Platform) -> None:
    """requestId on the envelope (docs/design/09-api-gateway.md): the caller's X-Request-Id on the hold's event,
    API Gateway's request id on the showtime's; the ids of earlier requests never leak into later events."""
    showtime = make_showtime(functions)
    event = load_event("holds/create_hold.json")
    event["body"] = json.dumps({"seats": ["D4"]})
    event["pathParameters"] = {"showtimeId": showtime}
    event["path"] = event["resource"].replace("{showtimeId}", showtime)
    event["headers"] = {**(event.get("headers") or {}), "X-Request-Id": "support-ticket-4711"}
    event["multiValueHeaders"] = {k: [v] for k, v in event["headers"].items()}
    held = invoke(functions["holds"], event)
    assert held.status == 201, held.body
    assert held.headers["X-Request-Id"] == ["support-ticket-4711"]

    assert hold(functions, showtime, ["D5"]).status == 201  # a later request without the header

    items = boto3.client("dynamodb").scan(
        TableName=platform.table_name,
        FilterExpression="sk = :outbox",
        ExpressionAttributeValues={":outbox": {"S": "OUTBOX"}},
    )["Items"]
    events = [json.loads(i["envelope"]["S"]) for i in items]
    gateway_id = load_event("holds/create_hold.json")["requestContext"]["requestId"]
    holds = {e["data"]["seats"][0]["seatId"]: e["requestId"] for e in events if e["type"] == "HoldCreated"}
    assert holds == {"D4": "support-ticket-4711", "D5": gateway_id}
    (scheduled,) = [e for e in events if e["type"] == "ShowtimeScheduled"]
    assert scheduled["requestId"] == load_event("catalog/create_showtime.json")["requestContext"]["requestId"]
