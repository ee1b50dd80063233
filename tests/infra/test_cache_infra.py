"""The edge cache in the template (infra/constructs/cache.py): ElastiCache Serverless for Valkey in the database VPC's
isolated subnets, reachable only from the functions that use it, the endpoints they need and no more, and the
invalidator on the events that change showtimes."""

from __future__ import annotations

from typing import Any

from infra import constants
from marquee.cache.showtimes import INVALIDATING_EVENTS

Resources = dict[str, dict[str, Any]]


def of_type(resources: Resources, kind: str) -> Resources:
    return {name: r for name, r in resources.items() if r["Type"] == kind}


def _ref(value: Any) -> str:
    if isinstance(value, dict):
        if "Ref" in value:
            return str(value["Ref"])
        if "Fn::GetAtt" in value:
            return str(value["Fn::GetAtt"][0])
    return str(value)


def test_one_serverless_valkey_cache_in_the_isolated_subnets_with_usage_limits(resources: Resources) -> None:
    (cache,) = of_type(resources, "AWS::ElastiCache::ServerlessCache").values()
    props = cache["Properties"]
    assert props["Engine"] == "valkey" and props["MajorEngineVersion"] == constants.CACHE_ENGINE_MAJOR_VERSION
    subnets = {_ref(s) for s in props["SubnetIds"]}
    isolated = {n for n in of_type(resources, "AWS::EC2::Subnet") if n.startswith("DatabaseVpcIsolated")}
    assert subnets == isolated and len(subnets) == 2
    assert props["CacheUsageLimits"]["DataStorage"] == {"Maximum": constants.CACHE_MAX_DATA_GB, "Unit": "GB"}
    assert props["CacheUsageLimits"]["ECPUPerSecond"]["Maximum"] == constants.CACHE_MAX_ECPU_PER_SECOND


def test_the_cache_admits_its_port_from_the_clients_group_only(resources: Resources) -> None:
    (cache,) = of_type(resources, "AWS::ElastiCache::ServerlessCache").values()
    (cache_group,) = [_ref(g) for g in cache["Properties"]["SecurityGroupIds"]]
    group = resources[cache_group]["Properties"]
    assert not group.get("SecurityGroupIngress")  # nothing inline (no CIDR)
    rules = [
        r["Properties"]
        for r in of_type(resources, "AWS::EC2::SecurityGroupIngress").values()
        if _ref(r["Properties"]["GroupId"]) == cache_group
    ]
    assert len(rules) == 1
    assert _ref(rules[0]["SourceSecurityGroupId"]).startswith("CacheClients")
    assert (rules[0]["FromPort"], rules[0]["ToPort"]) == (constants.CACHE_PORT, constants.CACHE_PORT + 1)


def test_the_functions_in_the_vpc_use_the_clients_group_the_cache_endpoint_and_tls_only_on_aws(
    resources: Resources,
) -> None:
    functions = {n: f for n, f in of_type(resources, "AWS::Lambda::Function").items() if "VpcConfig" in f["Properties"]}
    assert functions
    for function in functions.values():
        props = function["Properties"]
        assert [_ref(g) for g in props["VpcConfig"]["SecurityGroupIds"]][0].startswith("CacheClients")
        variables = props["Environment"]["Variables"]
        assert _ref(variables["CACHE_ADDRESS"]).startswith("CacheValkey")
        assert (
            variables["CACHE_TLS"] == "false" and variables["CACHE_CLUSTER"] == "false"
        )  # the suite synthesizes local


def test_only_the_endpoints_the_vpc_functions_need(resources: Resources) -> None:
    services = []
    for endpoint in of_type(resources, "AWS::EC2::VPCEndpoint").values():
        name = endpoint["Properties"]["ServiceName"]
        services.append(name if isinstance(name, str) else str(name).split(".")[-1].rstrip("'\"]}"))
    joined = " ".join(services)
    # Issue 11: lambda (the aggregator's invokes); sqs, events, secretsmanager, states (deep health's probes).
    assert len(services) == 9
    for service in (
        "dynamodb",
        "sts",
        "appconfigdata",
        "rds-data",
        "lambda",
        "sqs",
        "events",
        "secretsmanager",
        "states",
    ):
        assert service in joined, service


def test_the_rate_limited_read_side_reads_the_flags(resources: Resources) -> None:
    queries = next(
        f for n, f in of_type(resources, "AWS::Lambda::Function").items() if n.startswith("ProjectionsQueries")
    )
    assert "FLAGS_APPLICATION" in queries["Properties"]["Environment"]["Variables"]


def test_the_invalidator_listens_for_exactly_the_events_that_change_cached_showtimes(resources: Resources) -> None:
    assert sorted(constants.CACHE_INVALIDATING_EVENT_TYPES) == INVALIDATING_EVENTS
    rules = [
        r["Properties"]
        for n, r in of_type(resources, "AWS::Events::Rule").items()
        if n.startswith("CacheInvalidatingEvents")
    ]
    assert len(rules) == 1
    assert sorted(rules[0]["EventPattern"]["detail-type"]) == INVALIDATING_EVENTS
    assert _ref(rules[0]["Targets"][0]["Arn"]).startswith("CacheInvalidator")


def test_api_gateway_throttles_the_stage_and_holds_and_partners_have_a_usage_plan(resources: Resources) -> None:
    (stage,) = of_type(resources, "AWS::ApiGateway::Stage").values()
    settings = {(s["ResourcePath"], s["HttpMethod"]): s for s in stage["Properties"]["MethodSettings"]}
    assert settings[("/*", "*")]["ThrottlingRateLimit"] == constants.API_STAGE_RATE_LIMIT
    assert settings[("/*", "*")]["ThrottlingBurstLimit"] == constants.API_STAGE_BURST_LIMIT
    holds = settings[("/~1showtimes~1{showtimeId}~1holds", "POST")]
    assert (holds["ThrottlingRateLimit"], holds["ThrottlingBurstLimit"]) == (
        constants.API_HOLDS_RATE_LIMIT,
        constants.API_HOLDS_BURST_LIMIT,
    )
    (plan,) = of_type(resources, "AWS::ApiGateway::UsagePlan").values()
    assert plan["Properties"]["Throttle"] == {
        "RateLimit": constants.API_PARTNER_RATE_LIMIT,
        "BurstLimit": constants.API_PARTNER_BURST_LIMIT,
    }
    assert plan["Properties"]["Quota"] == {"Limit": constants.API_PARTNER_DAILY_QUOTA, "Period": "DAY"}
    assert len(of_type(resources, "AWS::ApiGateway::UsagePlanKey")) == 1


def test_the_partner_listing_is_the_one_route_that_needs_a_partner_key(resources: Resources) -> None:
    keyed = [
        r["Properties"]
        for r in of_type(resources, "AWS::ApiGateway::Method").values()
        if r["Properties"].get("ApiKeyRequired")
    ]
    assert len(keyed) == 1
    (method,) = keyed
    assert method["HttpMethod"] == "GET" and method["AuthorizationType"] == "COGNITO_USER_POOLS"  # a token too
    resource = resources[method["ResourceId"]["Ref"]]["Properties"]
    assert resource["PathPart"] == "showtimes"
    assert resources[resource["ParentId"]["Ref"]]["Properties"]["PathPart"] == "partner"
