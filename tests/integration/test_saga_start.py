"""The order saga is started through the outbox (docs/booking-data-model.md#saga), in-process on moto.

``POST /orders`` commits the order and its ``OrderPlaced`` envelope in one transaction and starts nothing; the relay
publishes the envelope, and the orders function, as the target of the ``OrderPlaced`` rule, starts the execution named
after the order. The crash points:

- the HTTP handler dies right after its transaction committed (the customer never got an answer): the event is in the
  table, the relay publishes it, the saga starts;
- the starter dies right after StartExecution returned, before it recorded the execution: the bus's retry delivers the
  same event again, and the order still has ONE execution, now recorded;
- the event is delivered again after the start was recorded, or after the order finished: nothing new starts.

"Dies" is ``ProcessKilled`` from tests/integration/test_outbox_crash_points.py (a BaseException in botocore's call
path, which no ``except Exception`` can catch). tests/e2e/test_order_saga.py drives a committed-but-unanswered order to
CONFIRMED on the deployed stack."""

from __future__ import annotations

import copy
import json
from types import ModuleType
from typing import Any

import boto3
import pytest

from marquee.booking import seats
from marquee.tenancy.tenant import TenantContext

from .conftest import REGION, LambdaContext, Platform, invoke, load_event, load_function, use_tenant_role
from .test_outbox_crash_points import ProcessKilled, dies, outbox_batch
from .test_outbox_functions import relay  # noqa: F401 - its fixture

TENANT = "acme-cinemas"
SHOWTIME = "sht_start"
CUSTOMER = TenantContext(tenant_id=TENANT, user_id="start-sub")


@pytest.fixture
def world(platform: Platform, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    ddb = boto3.client("dynamodb", region_name=REGION)
    ddb.put_item(
        TableName=platform.table_name,
        Item={
            "pk": {"S": seats.showtime_pk(CUSTOMER, SHOWTIME)},
            "sk": {"S": seats.META},
            "price": {"M": {"amount": {"N": "900"}, "currency": {"S": "EUR"}}},
            "startsAt": {"S": "2030-01-01T20:00:00Z"},
        },
    )
    for seat in ("A1", "A2"):
        ddb.put_item(TableName=platform.table_name, Item=seats.seat_item(CUSTOMER, SHOWTIME, seat, available=True))
    sqs = boto3.client("sqs", region_name=REGION)
    url = sqs.create_queue(QueueName="order-placed-tap")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events = boto3.client("events", region_name=REGION)
    pattern = {"source": ["marquee.booking"], "detail-type": ["OrderPlaced"]}  # the stack's rule (infra/constructs)
    events.put_rule(Name="order-placed", EventBusName=platform.event_bus_name, EventPattern=json.dumps(pattern))
    events.put_targets(Rule="order-placed", EventBusName=platform.event_bus_name, Targets=[{"Id": "q", "Arn": arn}])
    use_tenant_role(platform.table_name, monkeypatch)
    monkeypatch.setenv("STATE_MACHINE_ARN", platform.state_machine_arn)
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "orders")
    return {
        "ddb": ddb,
        "sqs": sqs,
        "url": url,
        "sfn": boto3.client("stepfunctions", region_name=REGION),
        "machine": platform.state_machine_arn,
        "table": platform.table_name,
        "orders": load_function("orders"),
        "seen": set(),
    }


def post_event(hold_id: str) -> dict[str, Any]:
    event = copy.deepcopy(load_event("orders/post_order.json"))
    event["body"] = json.dumps({"holdId": hold_id, "card": "4242424242424242"})
    event["requestContext"]["authorizer"]["claims"]["sub"] = CUSTOMER.user_id
    return event


def bus_events(world: dict[str, Any]) -> list[dict[str, Any]]:
    """What the bus routed to the OrderPlaced rule since the last call, as EventBridge hands it to a Lambda target."""
    messages = world["sqs"].receive_message(QueueUrl=world["url"], MaxNumberOfMessages=10).get("Messages", [])
    for message in messages:
        world["sqs"].delete_message(QueueUrl=world["url"], ReceiptHandle=message["ReceiptHandle"])
    return [json.loads(m["Body"]) for m in messages]


def publish_outbox(world: dict[str, Any], relay_module: ModuleType) -> list[dict[str, Any]]:
    """The relay's stream batch of what was committed, published; the OrderPlaced events the rule matched."""
    batch = outbox_batch(world)
    if batch["Records"]:
        assert relay_module.handler(batch, LambdaContext()) == {"batchItemFailures": []}
    return bus_events(world)


def executions(world: dict[str, Any]) -> list[dict[str, Any]]:
    return list(world["sfn"].list_executions(stateMachineArn=world["machine"])["executions"])


def order_item(world: dict[str, Any], order_id: str) -> dict[str, Any]:
    key = {"pk": {"S": f"TENANT#{TENANT}#ORDER#{order_id}"}, "sk": {"S": "META"}}
    return dict(world["ddb"].get_item(TableName=world["table"], Key=key, ConsistentRead=True)["Item"])


def new_hold(world: dict[str, Any], seat: str) -> seats.Hold:
    return seats.create_hold(
        CUSTOMER, showtime_id=SHOWTIME, seat_ids=[seat], lease_seconds=60, table_name=world["table"]
    )


def test_post_orders_starts_nothing_itself_and_the_order_placed_event_starts_the_named_execution(
    world: dict[str, Any],
    relay: ModuleType,  # noqa: F811 - the fixture imported above
) -> None:
    hold = new_hold(world, "A1")
    placed = invoke(world["orders"], post_event(hold.hold_id))
    assert placed.status == 202 and placed.body["status"] == "PENDING", placed.body
    order_id = placed.body["orderId"]
    assert executions(world) == []  # the request only committed the order and its event
    [event] = publish_outbox(world, relay)
    assert event["detail"]["data"]["orderId"] == order_id

    result = world["orders"].handler(event, LambdaContext())
    [execution] = executions(world)
    assert execution["name"] == order_id and result["executionArn"] == execution["executionArn"]
    assert order_item(world, order_id)["executionArn"]["S"] == execution["executionArn"]
    described = world["sfn"].describe_execution(executionArn=execution["executionArn"])
    assert json.loads(described["input"]) == {"orderId": order_id, "tenantId": TENANT}


def test_a_handler_killed_right_after_its_commit_still_gets_the_saga_started(
    world: dict[str, Any],
    relay: ModuleType,  # noqa: F811
) -> None:
    hold = new_hold(world, "A1")
    with dies("TransactWriteItems", after=True), pytest.raises(ProcessKilled):
        world["orders"].handler(post_event(hold.hold_id), LambdaContext())  # no answer ever reached the customer
    [event] = publish_outbox(world, relay)
    order_id = event["detail"]["data"]["orderId"]
    assert order_item(world, order_id)["status"]["S"] == "PENDING"

    world["orders"].handler(event, LambdaContext())
    assert [e["name"] for e in executions(world)] == [order_id]
    # The customer's retry of the POST answers with the same order and starts nothing more.
    again = invoke(world["orders"], post_event(hold.hold_id))
    assert again.status == 202 and again.body == {"orderId": order_id, "status": "PENDING"}
    assert publish_outbox(world, relay) == [] and len(executions(world)) == 1


def test_a_starter_killed_after_start_execution_is_retried_into_the_same_single_execution(
    world: dict[str, Any],
    relay: ModuleType,  # noqa: F811
) -> None:
    hold = new_hold(world, "A2")
    order_id = invoke(world["orders"], post_event(hold.hold_id)).body["orderId"]
    [event] = publish_outbox(world, relay)
    with dies("StartExecution", after=True), pytest.raises(ProcessKilled):
        world["orders"].handler(event, LambdaContext())  # started, but the start was never recorded
    assert "executionArn" not in order_item(world, order_id)

    world["orders"].handler(event, LambdaContext())  # the bus's async retry: the same event
    [execution] = executions(world)
    assert execution["name"] == order_id
    assert order_item(world, order_id)["executionArn"]["S"] == execution["executionArn"]


def test_a_redelivered_order_placed_starts_nothing_once_started_or_finished(
    world: dict[str, Any],
    relay: ModuleType,  # noqa: F811
) -> None:
    hold = new_hold(world, "A1")
    order_id = invoke(world["orders"], post_event(hold.hold_id)).body["orderId"]
    [event] = publish_outbox(world, relay)
    first = world["orders"].handler(event, LambdaContext())["executionArn"]
    # The execution ends (here: stopped) and the order is FAILED; a late duplicate of the event arrives.
    world["sfn"].stop_execution(executionArn=first)
    assert world["orders"].handler(event, LambdaContext())["executionArn"] == first
    world["ddb"].update_item(
        TableName=world["table"],
        Key={"pk": {"S": f"TENANT#{TENANT}#ORDER#{order_id}"}, "sk": {"S": "META"}},
        UpdateExpression="SET #s = :failed REMOVE executionArn",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":failed": {"S": "FAILED"}},
    )
    assert world["orders"].handler(event, LambdaContext())["executionArn"] is None
    assert [e["name"] for e in executions(world)] == [order_id]


def test_an_order_placed_event_that_is_not_an_order_placed_envelope_fails_the_invocation(
    world: dict[str, Any],
) -> None:
    """A malformed event raises, so that the bus's retries and then the failures queue keep it (nothing is started)."""
    event = {"id": "e-1", "detail-type": "OrderPlaced", "source": "marquee.booking", "detail": {"type": "OrderPlaced"}}
    with pytest.raises(ValueError):
        world["orders"].handler(event, LambdaContext())
    assert executions(world) == []
