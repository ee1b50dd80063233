"""Feature-flag helpers: stable user buckets, rule editing and value parsing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_lambda_powertools.utilities.feature_flags.schema import SchemaValidator

from devkit.flags import FlagError, parse_bool, set_flag
from marquee.core.flags import flag_context, user_bucket
from marquee.tenancy.tenant import TenantContext


def test_user_bucket_is_stable_and_spread() -> None:
    assert user_bucket("alice") == user_bucket("alice")
    buckets = [user_bucket(f"user-{i}") for i in range(2000)]
    assert all(0 <= b < 100 for b in buckets)
    tenth = sum(b < 10 for b in buckets) / len(buckets)
    assert 0.07 < tenth < 0.13  # a 10 % rollout reaches about 10 % of users


def test_context_carries_the_tenant_from_the_verified_claims_only() -> None:
    caller = TenantContext(tenant_id="t1", user_id="u1", groups=frozenset({"staff"}))
    assert flag_context(caller) == {
        "tenant": "t1",
        "user_id": "u1",
        "groups": ["staff"],
        "user_bucket": user_bucket("u1"),
    }


def test_set_flag_builds_valid_powertools_rules() -> None:
    flags = set_flag({}, "sms_notifications", default=False, tenants=["t1", "t2"], percent=25)
    SchemaValidator(flags).validate()
    rules = flags["sms_notifications"]["rules"]
    assert rules["tenants"]["conditions"][0]["value"] == ["t1", "t2"]
    assert rules["rollout"]["conditions"][0]["value"] == {"BASE": 100, "START": 0, "END": 24}
    cleared = set_flag(flags, "sms_notifications", default=None, tenants=[], percent=0)
    assert "rules" not in cleared["sms_notifications"]


@pytest.mark.parametrize("bad", ["maybe", "2", ""])
def test_flag_values_are_booleans(bad: str) -> None:
    with pytest.raises(FlagError):
        parse_bool(bad)


def test_percent_outside_0_100_is_refused() -> None:
    with pytest.raises(FlagError):
        set_flag({}, "x", default=None, tenants=None, percent=101)


def _shipped_flags() -> dict[str, Any]:
    return json.loads((Path(__file__).parents[2] / "infra" / "feature_flags.json").read_text())


def test_percent_replaces_the_shipped_rollout_rule_whatever_its_name() -> None:
    """The stack ships seat_suggestions_v2 as a 10 % rollout under a descriptive rule name. `--percent 0` must end it
    for every user (not leave it beside an empty one), and `--percent 50` must replace it, keeping its name."""
    shipped = _shipped_flags()
    off = set_flag(shipped, "seat_suggestions_v2", default=None, tenants=None, percent=0)
    SchemaValidator(off).validate()
    assert "rules" not in off["seat_suggestions_v2"]
    half = set_flag(shipped, "seat_suggestions_v2", default=None, tenants=None, percent=50)
    SchemaValidator(half).validate()
    (rule_name, rule), *others = half["seat_suggestions_v2"]["rules"].items()
    assert others == []
    assert rule_name == "10 percent of customers"
    assert rule["conditions"][0]["value"] == {"BASE": 100, "START": 0, "END": 49}


def test_tenants_replace_the_shipped_tenant_rule_and_leave_other_rules() -> None:
    shipped = _shipped_flags()
    widened = set_flag(shipped, "sms_notifications", default=None, tenants=["t2"], percent=25)
    rules = widened["sms_notifications"]["rules"]
    tenant_rules = [r for r in rules.values() if r["conditions"][0]["action"] == "KEY_IN_VALUE"]
    assert [r["conditions"][0]["value"] for r in tenant_rules] == [["t2"]]
    assert rules["rollout"]["conditions"][0]["value"]["END"] == 24
    dropped = set_flag(widened, "sms_notifications", default=None, tenants=[], percent=None)
    assert list(dropped["sms_notifications"]["rules"]) == ["rollout"]
