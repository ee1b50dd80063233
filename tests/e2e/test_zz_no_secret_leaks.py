"""Secrets (challenge 16): no secret value anywhere the suite could have leaked one.

This module runs LAST in the e2e session: pytest collects test files in file-name order, hence ``zz``. By then every
other e2e test has produced its logs, events and rotations on the same cloud. Every version of every secret in Secrets
Manager (provider keys before and after rotation, webhook secrets, the inbound signing secret, notification provider
keys, generated values) is looked for in:
(a) every CloudWatch Logs event of every /aws/lambda/* group; (b) the local cloud process's log file;
(c) the synthesized template and every function's environment variables; (d) every event that went through the bus
(the audit log entries, and the outbox envelopes, in the main table). A failure names the secret and the place, never
the value.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

MIN_LENGTH = 12  # shorter leaves (ids, flags) are not credentials and would match by chance
# Named fields that are not credentials: addresses, and the connection fields AWS puts beside the password in a
# database secret (Secrets Manager User Guide, "JSON structure of AWS Secrets Manager secrets": engine, host,
# username, dbname, port, dbClusterIdentifier), which the template and the functions' environments legitimately name.
NOT_SECRET_FIELDS = frozenset(
    {
        "url",
        "endpoint",
        "name",
        "description",
        "engine",
        "host",
        "username",
        "dbname",
        "port",
        "dbclusteridentifier",
        "dbinstanceidentifier",
    }
)


def _leaves(value: Any, field: str = "") -> Iterator[str]:
    if isinstance(value, dict):
        for key, child in value.items():
            yield from _leaves(child, str(key))
    elif isinstance(value, list):
        for child in value:
            yield from _leaves(child, field)
    elif isinstance(value, str) and field.lower() not in NOT_SECRET_FIELDS and not value.startswith("http"):
        if len(value) >= MIN_LENGTH:
            yield value


@pytest.fixture(scope="module")
def secret_values(sdk: Any) -> dict[str, str]:
    """value -> ``secret name @ version`` for every version of every secret."""
    client = sdk("secretsmanager")
    found: dict[str, str] = {}
    for page in client.get_paginator("list_secrets").paginate():
        for secret in page["SecretList"]:
            versions = client.list_secret_version_ids(SecretId=secret["ARN"], IncludeDeprecated=True)["Versions"]
            for version in versions:
                try:
                    raw = client.get_secret_value(SecretId=secret["ARN"], VersionId=version["VersionId"])
                except client.exceptions.ResourceNotFoundException:
                    continue  # a version without a value (an interrupted rotation)
                string = raw.get("SecretString") or ""
                label = f"{secret['Name']}@{version['VersionId']}"
                try:
                    document = json.loads(string)
                except ValueError:
                    document = string
                for leaf in _leaves(document) if not isinstance(document, str) else [document]:
                    found[leaf] = label
                if len(string) >= MIN_LENGTH and isinstance(document, str):
                    found[string] = label
    assert len(found) >= 4, "expected at least both provider keys and their rotated versions"
    return found


def _leaks(secret_values: dict[str, str], place: str, text: str) -> list[str]:
    return [f"{label} in {place}" for value, label in secret_values.items() if value in text]


def test_no_secret_value_in_any_function_log(secret_values: dict[str, str], sdk: Any) -> None:
    logs = sdk("logs")
    leaks: list[str] = []
    lines = 0
    for page in logs.get_paginator("describe_log_groups").paginate(logGroupNamePrefix="/aws/lambda/"):
        for group in page["logGroups"]:
            for events in logs.get_paginator("filter_log_events").paginate(logGroupName=group["logGroupName"]):
                text = "\n".join(e["message"] for e in events["events"])
                lines += len(events["events"])
                leaks += _leaks(secret_values, group["logGroupName"], text)
    assert lines > 0, "no function log at all: the scan would prove nothing"
    assert leaks == []


def test_no_secret_value_in_the_local_cloud_log(secret_values: dict[str, str], deployed: dict[str, Any]) -> None:
    text = deployed["cloud"].log_path.read_text(errors="replace")
    assert text
    assert _leaks(secret_values, "the local cloud's log", text) == []


def test_no_secret_value_in_the_template_or_any_function_environment(
    secret_values: dict[str, str], deployed: dict[str, Any], sdk: Any
) -> None:
    template = deployed["cloud"].state_dir / "cdk.out" / "Marquee.template.json"
    leaks = _leaks(secret_values, "the synthesized template", template.read_text())
    client = sdk("lambda")
    functions = [f for page in client.get_paginator("list_functions").paginate() for f in page["Functions"]]
    assert functions
    for function in functions:
        configuration = client.get_function_configuration(FunctionName=function["FunctionName"])
        environment = json.dumps(configuration.get("Environment", {}))
        leaks += _leaks(secret_values, f"{function['FunctionName']}'s environment", environment)
    assert leaks == []


def test_no_secret_value_in_any_event_on_the_bus(
    secret_values: dict[str, str], deployed: dict[str, Any], sdk: Any
) -> None:
    ddb = sdk("dynamodb")
    events: list[str] = []
    for page in ddb.get_paginator("scan").paginate(TableName=deployed["outputs"]["TableName"]):
        for item in page["Items"]:
            if item["pk"]["S"].endswith("#AUDIT") or item["sk"]["S"] == "OUTBOX":
                events.append(json.dumps(item))
    assert events, "no event at all: the scan would prove nothing"
    assert _leaks(secret_values, "the audit log and the outbox", "\n".join(events)) == []
