from __future__ import annotations

import pytest

from marquee.core import aws


def test_clients_are_created_lazily_and_cached() -> None:
    first = aws.sqs()
    assert aws.sqs() is first
    assert aws.dynamodb() is not first


def test_clear_clients_forgets_every_cached_client() -> None:
    sqs, ddb, probe = aws.sqs(), aws.dynamodb(), aws.probe_client("sqs", 500)
    aws.clear_clients()
    assert aws.sqs() is not sqs
    assert aws.dynamodb() is not ddb
    assert aws.probe_client("sqs", 500) is not probe


def test_endpoint_comes_from_aws_endpoint_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://localhost:4566")
    aws.clear_clients()
    assert aws.dynamodb().meta.endpoint_url == "http://localhost:4566"
    assert aws.stepfunctions().meta.endpoint_url == "http://localhost:4566"


def test_without_aws_endpoint_url_the_real_endpoint_is_used() -> None:
    assert aws.secretsmanager().meta.endpoint_url == "https://secretsmanager.us-east-1.amazonaws.com"


def test_probe_clients_have_short_timeouts_and_a_single_attempt() -> None:
    client = aws.probe_client("dynamodb", 750)
    config = client.meta.config
    assert config.connect_timeout == pytest.approx(0.75)
    assert config.read_timeout == pytest.approx(0.75)
    assert config.retries["total_max_attempts"] == 1
