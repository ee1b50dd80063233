"""Parity tests of the EventBridge router. Each docstring states the AWS behaviour it mirrors."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from localcloud.events.router import Cron, EventRouter, render_template, schedule_due
from tests.localcloud.test_sqs_poller import seen, wait_for

ROLE = "arn:aws:iam::123456789012:role/local-test"
EVENT_RECORDER = """
import json, time
def handler(event, context):
    print("SEEN " + json.dumps({"event": event, "t": time.time()}))
    return {}
"""
PASS_MACHINE = json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}})


@pytest.fixture
def router(cloud: Any) -> EventRouter:
    return cloud.component(EventRouter)


@pytest.fixture
def bus(aws: Callable[[str], Any]) -> Iterator[str]:
    name = f"bus-{uuid.uuid4().hex[:8]}"
    aws("events").create_event_bus(Name=name)
    yield name


@pytest.fixture
def rules(aws: Callable[[str], Any]) -> Iterator[Callable[..., str]]:
    """rules(name, targets, bus=..., **put_rule_kwargs) -> the rule ARN; targets and rules are removed afterwards."""
    created: list[tuple[str, str, list[str]]] = []

    def make(targets: list[dict[str, Any]], *, bus: str = "default", **kwargs: Any) -> str:
        name = f"rule-{uuid.uuid4().hex[:8]}"
        arn = aws("events").put_rule(Name=name, EventBusName=bus, **kwargs)["RuleArn"]
        aws("events").put_targets(Rule=name, EventBusName=bus, Targets=targets)
        created.append((name, bus, [t["Id"] for t in targets]))
        return str(arn)

    yield make
    for name, bus, ids in created:
        aws("events").remove_targets(Rule=name, EventBusName=bus, Ids=ids)
        aws("events").delete_rule(Name=name, EventBusName=bus)


def make_queue(aws: Callable[[str], Any], fifo: bool = False, **attributes: str) -> tuple[str, str]:
    name = f"q-{uuid.uuid4().hex[:8]}" + (".fifo" if fifo else "")
    attrs = {"FifoQueue": "true", **attributes} if fifo else attributes
    url = aws("sqs").create_queue(QueueName=name, Attributes=attrs)["QueueUrl"]
    return url, aws("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def receive(aws: Callable[[str], Any], url: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = wait_for(
        lambda: (
            aws("sqs")
            .receive_message(
                QueueUrl=url, WaitTimeSeconds=1, MessageAttributeNames=["All"], MessageSystemAttributeNames=["All"]
            )
            .get("Messages")
        )
    )
    return found


def function_arn(aws: Callable[[str], Any], name: str) -> str:
    return str(aws("lambda").get_function(FunctionName=name)["Configuration"]["FunctionArn"])


def put_event(
    aws: Callable[[str], Any], detail: dict[str, Any], *, bus: str = "default", source: str = "marquee.orders"
) -> str:
    entry = {"Source": source, "DetailType": "OrderPlaced", "Detail": json.dumps(detail), "EventBusName": bus}
    response = aws("events").put_events(Entries=[entry])
    assert response["FailedEntryCount"] == 0
    return str(response["Entries"][0]["EventId"])


def test_input_transformer_reaches_lambda_sqs_and_step_functions(
    aws: Callable[[str], Any], make_function: Any, rules: Any, bus: str
) -> None:
    """AWS: a rule on a custom bus matches on content (numeric range here); each target gets the InputTemplate with
    the InputPathsMap values (strings quoted outside JSON strings, inserted as text inside them); Lambda is invoked
    asynchronously, SQS gets the message, Step Functions starts an execution with it as input. Unmatched events go
    nowhere."""
    name = make_function(EVENT_RECORDER)
    url, queue_arn = make_queue(aws)
    machine = aws("stepfunctions").create_state_machine(
        name=f"sm-{uuid.uuid4().hex[:8]}", definition=PASS_MACHINE, roleArn=ROLE
    )["stateMachineArn"]
    transformer = {
        "InputPathsMap": {"order": "$.detail.orderId", "amount": "$.detail.amount", "source": "$.source"},
        "InputTemplate": (
            '{"order": <order>, "amount": <amount>, '
            '"label": "order <order> from <source>", "rule": "<aws.events.rule-name>"}'
        ),
    }
    targets = [
        {"Id": "fn", "Arn": function_arn(aws, name), "InputTransformer": transformer},
        {"Id": "queue", "Arn": queue_arn, "InputTransformer": transformer},
        {"Id": "machine", "Arn": machine, "RoleArn": ROLE, "InputTransformer": transformer},
    ]
    pattern = {"source": ["marquee.orders"], "detail": {"amount": [{"numeric": [">", 100]}]}}
    rule_arn = rules(targets, bus=bus, EventPattern=json.dumps(pattern))
    put_event(aws, {"orderId": "o-small", "amount": 50}, bus=bus)
    put_event(aws, {"orderId": "o-1", "amount": 150}, bus=bus)
    expected = {
        "order": "o-1",
        "amount": 150,
        "label": "order o-1 from marquee.orders",
        "rule": rule_arn.rsplit("/", 1)[-1],
    }
    assert wait_for(lambda: seen(aws, name))[0]["event"] == expected
    assert json.loads(receive(aws, url)[0]["Body"]) == expected
    executions = wait_for(lambda: aws("stepfunctions").list_executions(stateMachineArn=machine)["executions"])
    execution = wait_for(
        lambda: (lambda e: e if e["status"] == "SUCCEEDED" else None)(
            aws("stepfunctions").describe_execution(executionArn=executions[0]["executionArn"])
        )
    )
    assert json.loads(execution["input"]) == expected
    time.sleep(0.5)
    assert (
        len(seen(aws, name)) == 1
        and len(aws("stepfunctions").list_executions(stateMachineArn=machine)["executions"]) == 1
    )


def test_default_target_input_is_the_whole_event_and_input_and_input_path_replace_it(
    aws: Callable[[str], Any], rules: Any
) -> None:
    """AWS: without input options a target gets the event (version, id, detail-type, source, account, time, region,
    resources, detail); Input sends constant JSON; InputPath sends the selected part."""
    plain_url, plain_arn = make_queue(aws)
    const_url, const_arn = make_queue(aws)
    path_url, path_arn = make_queue(aws)
    targets = [
        {"Id": "plain", "Arn": plain_arn},
        {"Id": "const", "Arn": const_arn, "Input": '{"fixed": true}'},
        {"Id": "path", "Arn": path_arn, "InputPath": "$.detail.customer"},
    ]
    rules(targets, EventPattern=json.dumps({"source": ["marquee.options"]}))
    event_id = put_event(aws, {"customer": {"id": "c-1"}}, source="marquee.options")
    event = json.loads(receive(aws, plain_url)[0]["Body"])
    assert event["id"] == event_id and event["detail-type"] == "OrderPlaced" and event["source"] == "marquee.options"
    assert (
        event["detail"] == {"customer": {"id": "c-1"}}
        and event["account"] == "123456789012"
        and event["region"] == "us-east-1"
    )
    datetime.strptime(event["time"], "%Y-%m-%dT%H:%M:%SZ")  # ISO 8601, as EventBridge sends it
    assert json.loads(receive(aws, const_url)[0]["Body"]) == {"fixed": True}
    assert json.loads(receive(aws, path_url)[0]["Body"]) == {"id": "c-1"}


def test_disabled_rules_and_schedule_only_rules_match_no_event(aws: Callable[[str], Any], rules: Any) -> None:
    """AWS: a DISABLED rule delivers nothing; a rule with only a ScheduleExpression is not matched by PutEvents."""
    url, arn = make_queue(aws)
    rules([{"Id": "q", "Arn": arn}], EventPattern=json.dumps({"source": ["marquee.quiet"]}), State="DISABLED")
    rules([{"Id": "q", "Arn": arn}], ScheduleExpression="cron(0 3 1 1 ? 2099)")
    put_event(aws, {"n": 1}, source="marquee.quiet")
    time.sleep(0.5)
    assert aws("sqs").receive_message(QueueUrl=url, WaitTimeSeconds=1).get("Messages") is None


def test_fifo_queue_target_uses_the_message_group_and_needs_content_based_deduplication(
    aws: Callable[[str], Any], rules: Any
) -> None:
    """AWS: an SQS FIFO target takes SqsParameters.MessageGroupId; the queue must have content-based deduplication,
    otherwise the delivery fails and the event goes to the target's dead-letter queue."""
    url, arn = make_queue(aws, fifo=True, ContentBasedDeduplication="true")
    _, no_dedup_arn = make_queue(aws, fifo=True)
    dlq_url, dlq_arn = make_queue(aws)
    targets = [
        {"Id": "fifo", "Arn": arn, "SqsParameters": {"MessageGroupId": "orders"}},
        {
            "Id": "nodedup",
            "Arn": no_dedup_arn,
            "SqsParameters": {"MessageGroupId": "orders"},
            "DeadLetterConfig": {"Arn": dlq_arn},
        },
    ]
    rules(targets, EventPattern=json.dumps({"source": ["marquee.fifo"]}))
    event_id = put_event(aws, {"n": 1}, source="marquee.fifo")
    message = receive(aws, url)[0]
    assert message["Attributes"]["MessageGroupId"] == "orders"
    assert json.loads(message["Body"])["id"] == event_id
    dead = receive(aws, dlq_url)[0]
    assert dead["MessageAttributes"]["TARGET_ARN"]["StringValue"] == no_dedup_arn


def test_failed_delivery_goes_to_the_target_dead_letter_queue(aws: Callable[[str], Any], rules: Any) -> None:
    """AWS: when a target cannot be invoked (here the function does not exist, which is not retried), the event goes
    to the target's DeadLetterConfig queue with RULE_ARN, TARGET_ARN, ERROR_CODE and ERROR_MESSAGE attributes."""
    dlq_url, dlq_arn = make_queue(aws)
    missing = "arn:aws:lambda:us-east-1:123456789012:function:does-not-exist"
    rule_arn = rules(
        [
            {
                "Id": "gone",
                "Arn": missing,
                "DeadLetterConfig": {"Arn": dlq_arn},
                "RetryPolicy": {"MaximumRetryAttempts": 2},
            }
        ],
        EventPattern=json.dumps({"source": ["marquee.dlq"]}),
    )
    event_id = put_event(aws, {"n": 1}, source="marquee.dlq")
    dead = receive(aws, dlq_url)[0]
    attributes = {k: v["StringValue"] for k, v in dead["MessageAttributes"].items()}
    assert attributes["RULE_ARN"] == rule_arn and attributes["TARGET_ARN"] == missing
    assert attributes["ERROR_CODE"] == "ResourceNotFoundException" and attributes["ERROR_MESSAGE"]
    assert json.loads(dead["Body"])["id"] == event_id


def test_event_bus_and_archive_targets_still_work_off_the_put_events_path(
    aws: Callable[[str], Any], rules: Any, bus: str
) -> None:
    """AWS: a rule can forward to another event bus (whose rules then apply), and an archive keeps matching events."""
    url, queue_arn = make_queue(aws)
    bus_arn = aws("events").describe_event_bus(Name=bus)["Arn"]
    rules([{"Id": "q", "Arn": queue_arn}], bus=bus, EventPattern=json.dumps({"source": ["marquee.forward"]}))
    rules([{"Id": "bus", "Arn": bus_arn, "RoleArn": ROLE}], EventPattern=json.dumps({"source": ["marquee.forward"]}))
    archive = f"arch-{uuid.uuid4().hex[:8]}"
    default_arn = aws("events").describe_event_bus(Name="default")["Arn"]
    aws("events").create_archive(
        ArchiveName=archive, EventSourceArn=default_arn, EventPattern=json.dumps({"source": ["marquee.forward"]})
    )
    put_event(aws, {"hop": 1}, source="marquee.forward")
    assert json.loads(receive(aws, url)[0]["Body"])["detail"] == {"hop": 1}
    wait_for(lambda: aws("events").describe_archive(ArchiveName=archive)["EventCount"] == 1)
    aws("events").delete_archive(ArchiveName=archive)


def test_scheduled_rule_fires_its_targets_on_tick_with_the_scheduled_event_shape(
    aws: Callable[[str], Any], make_function: Any, rules: Any, router: EventRouter
) -> None:
    """AWS: a cron(...) rule invokes its targets at the matching minutes (UTC) with source aws.events, detail-type
    "Scheduled Event", resources [rule ARN] and an empty detail; at other minutes nothing happens."""
    name = make_function(EVENT_RECORDER)
    rule_arn = rules([{"Id": "fn", "Arn": function_arn(aws, name)}], ScheduleExpression="cron(30 12 ? * MON-FRI 2031)")
    assert rule_arn not in router.tick(datetime(2031, 1, 4, 12, 30, tzinfo=UTC))  # a Saturday
    assert rule_arn not in router.tick(datetime(2031, 1, 6, 12, 31, tzinfo=UTC))
    assert rule_arn in router.tick(datetime(2031, 1, 6, 12, 30, tzinfo=UTC))  # a Monday
    event = wait_for(lambda: seen(aws, name))[0]["event"]
    assert event["source"] == "aws.events" and event["detail-type"] == "Scheduled Event"
    assert event["resources"] == [rule_arn] and event["detail"] == {} and event["time"] == "2031-01-06T12:30:00Z"
    time.sleep(0.3)
    assert len(seen(aws, name)) == 1


def test_rate_schedules_count_from_the_rule_creation(
    aws: Callable[[str], Any], rules: Any, router: EventRouter
) -> None:
    """AWS: rate(5 minutes) fires every five minutes after the rule is created."""
    url, arn = make_queue(aws)
    rule_arn = rules([{"Id": "q", "Arn": arn}], ScheduleExpression="rate(5 minutes)")
    created = datetime.now(UTC)
    assert rule_arn not in router.tick(created + timedelta(minutes=3))
    assert rule_arn in router.tick(created + timedelta(minutes=5))
    assert json.loads(receive(aws, url)[0]["Body"])["detail-type"] == "Scheduled Event"


def _rule_model(rule_arn: str) -> Any:
    """moto's Rule object behind an ARN on the default bus (the test's cloud runs in this process)."""
    from moto.events.models import events_backends

    _, _, _, region, account, resource = rule_arn.split(":")
    return events_backends[account][region].event_buses["default"].rules[resource.split("/")[-1]]


def test_rate_schedules_fire_a_period_after_creation_not_on_the_minute(
    aws: Callable[[str], Any], rules: Any, router: EventRouter
) -> None:
    """AWS: "A rate expression starts when you create the scheduled event rule, and then it runs on a defined
    schedule" (EventBridge UG, "Rate expressions reference"). A rate(1 minute) rule created at 12:00:57 fires at
    12:01:57, 12:02:57, ..., not at the next whole minute; each firing is one Scheduled Event whose time is the
    firing's."""
    url, arn = make_queue(aws)
    rule_arn = rules([{"Id": "q", "Arn": arn}], ScheduleExpression="rate(1 minute)")
    created = datetime(2031, 1, 6, 12, 0, 57, tzinfo=UTC)
    _rule_model(rule_arn).localcloud_created = created.timestamp()

    def at(minute: int, second: int) -> datetime:
        return datetime(2031, 1, 6, 12, minute, second, tzinfo=UTC)

    assert rule_arn not in router.tick(at(1, 0), since=created)
    assert rule_arn not in router.tick(at(1, 56), since=at(1, 0))
    assert router.tick(at(1, 57), since=at(1, 56)).count(rule_arn) == 1
    assert json.loads(receive(aws, url)[0]["Body"])["time"] == "2031-01-06T12:01:57Z"
    assert router.tick(at(6, 0), since=at(1, 57)).count(rule_arn) == 4  # 12:02:57, 12:03:57, 12:04:57, 12:05:57


def test_the_clock_fires_a_rate_rule_when_it_is_due(aws: Callable[[str], Any], rules: Any) -> None:
    """AWS: a rate rule runs every period from its creation (EventBridge UG, "Rate expressions reference"), so the
    local clock wakes up for the rule's own due time rather than for the next whole minute. Here the rule's creation
    is moved 59 s into the past: the running cloud fires it about a second later, with that due time."""
    url, arn = make_queue(aws)
    rule_arn = rules([{"Id": "q", "Arn": arn}], ScheduleExpression="rate(1 minute)")
    created = time.time() - 59
    _rule_model(rule_arn).localcloud_created = created
    due = datetime.fromtimestamp(created + 60, UTC)
    started = time.monotonic()
    event = json.loads(receive(aws, url)[0]["Body"])
    assert time.monotonic() - started < 5
    assert event["time"] == due.strftime("%Y-%m-%dT%H:%M:%SZ") and event["resources"] == [rule_arn]


def test_cron_evaluator_reads_aws_cron_forms() -> None:
    """AWS cron: six fields, ? in day-of-month or day-of-week, names, L, W, # and ranges."""

    def at(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
        return datetime(year, month, day, hour, minute, tzinfo=UTC)

    assert Cron("0 12 * * ? *").matches(at(2030, 5, 17, 12, 0))
    assert not Cron("0 12 * * ? *").matches(at(2030, 5, 17, 12, 1))
    assert Cron("0/15 * * * ? *").matches(at(2030, 5, 17, 3, 45)) and not Cron("0/15 * * * ? *").matches(
        at(2030, 5, 17, 3, 50)
    )
    assert Cron("0 0 L * ? *").matches(at(2030, 2, 28, 0, 0)) and not Cron("0 0 L * ? *").matches(at(2030, 2, 27, 0, 0))
    assert Cron("0 9 ? * 6L *").matches(at(2030, 5, 31, 9, 0))  # the last Friday of May 2030
    assert Cron("0 9 ? * 2#1 *").matches(at(2030, 5, 6, 9, 0)) and not Cron("0 9 ? * 2#1 *").matches(
        at(2030, 5, 13, 9, 0)
    )
    assert Cron("0 9 15W * ? *").matches(at(2030, 6, 14, 9, 0))  # the 15th is a Saturday: the Friday before
    assert Cron("0 9 LW * ? *").matches(at(2030, 8, 30, 9, 0))  # August 31st 2030 is a Saturday
    assert Cron("0 8 1 JAN,JUL ? 2030-2031").matches(at(2031, 7, 1, 8, 0)) and not Cron(
        "0 8 1 JAN,JUL ? 2030-2031"
    ).matches(at(2032, 1, 1, 8, 0))
    assert Cron("0 18 ? * FRI-MON *").matches(at(2030, 5, 19, 18, 0)) and not Cron("0 18 ? * FRI-MON *").matches(
        at(2030, 5, 21, 18, 0)
    )
    assert schedule_due("rate(1 hour)", at(2030, 1, 1, 0, 0).timestamp(), at(2030, 1, 1, 2, 0))
    assert not schedule_due("rate(1 hour)", at(2030, 1, 1, 0, 0).timestamp(), at(2030, 1, 1, 2, 30))


def test_input_template_quoting_follows_aws() -> None:
    """AWS input transformer: a string value outside quotes becomes a JSON string, inside quotes it is text; numbers,
    objects and lists keep their JSON; a template that is plain text stays text."""
    values = {"s": "i-123", "n": 5, "o": {"a": [1]}, "q": 'say "hi"'}
    assert json.loads(render_template('{"s": <s>, "n": <n>, "o": <o>, "in": "<s> is <n>", "q": "<q>"}', values)) == {
        "s": "i-123",
        "n": 5,
        "o": {"a": [1]},
        "in": "i-123 is 5",
        "q": 'say "hi"',
    }
    assert json.loads(render_template('"<s> is running"', values)) == "i-123 is running"
