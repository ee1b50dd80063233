"""The aggregator and recommendations in the template (infra/constructs/overview.py): the aggregator may invoke the
catalog, the queries function and recommendations and nothing else, each section has its own timeout below the
function's, and recommendations listen for exactly the events they are built from."""

from __future__ import annotations

import json
from typing import Any

from infra import constants

Resources = dict[str, dict[str, Any]]


def of_type(resources: Resources, kind: str) -> Resources:
    return {name: r for name, r in resources.items() if r["Type"] == kind}


def function(resources: Resources, prefix: str) -> tuple[str, dict[str, Any]]:
    (found,) = [
        (n, r["Properties"]) for n, r in of_type(resources, "AWS::Lambda::Function").items() if n.startswith(prefix)
    ]
    return found


def test_the_aggregator_invokes_exactly_its_three_backends(resources: Resources) -> None:
    _, props = function(resources, "OverviewAggregator")
    role = props["Role"]["Fn::GetAtt"][0]
    invokable = []
    for policy in of_type(resources, "AWS::IAM::Policy").values():
        if {"Ref": role} in policy["Properties"]["Roles"]:
            for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
                actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
                if "lambda:InvokeFunction" in actions:
                    invokable += statement["Resource"]
    targets = sorted(json.dumps(r) for r in invokable)
    assert len(targets) == 3
    for prefix in ("CatalogHandlerFunction", "ProjectionsQueriesFunction", "OverviewRecommendationsFunction"):
        assert sum(prefix in t for t in targets) == 1, (prefix, targets)
    assert not any(":*" in t for t in targets)  # unqualified ARNs only


def test_each_section_has_its_own_timeout_inside_the_functions(resources: Resources) -> None:
    _, props = function(resources, "OverviewAggregator")
    env = props["Environment"]["Variables"]
    timeouts = {
        name: int(env[f"{name}_TIMEOUT_MS"]) for name in ("CATALOG", "AVAILABILITY", "ORDERS", "RECOMMENDATIONS")
    }
    assert timeouts["RECOMMENDATIONS"] < timeouts["CATALOG"]
    assert max(timeouts.values()) < props["Timeout"] * 1000
    assert {"CATALOG_FUNCTION", "QUERIES_FUNCTION", "RECOMMENDATIONS_FUNCTION", "CACHE_ADDRESS"} <= set(env)
    assert props["VpcConfig"]["SubnetIds"]


def test_recommendations_hear_orders_showtimes_and_movies_with_a_dead_letter_queue(resources: Resources) -> None:
    (rule,) = [
        r["Properties"]
        for n, r in of_type(resources, "AWS::Events::Rule").items()
        if n.startswith("OverviewRecommendationSignals")
    ]
    assert sorted(rule["EventPattern"]["detail-type"]) == sorted(constants.RECOMMENDATION_EVENT_TYPES)
    (target,) = rule["Targets"]
    assert "DeadLetterConfig" in target
    (config,) = [
        c["Properties"]
        for c in of_type(resources, "AWS::Lambda::EventInvokeConfig").values()
        if "OverviewRecommendations" in json.dumps(c["Properties"]["FunctionName"])
    ]
    assert config["MaximumRetryAttempts"] == 2 and "OnFailure" in config["DestinationConfig"]
