"""Strict input rules of payments: Money, the Idempotency-Key header, the JSON body (no network)."""

from __future__ import annotations

import importlib
import json
from types import ModuleType
from typing import Any

import pytest
from pydantic import ValidationError

from marquee.core.money import Money
from marquee.payments import ChargeRequest, InvalidIdempotencyKey, payment_id_for


@pytest.fixture(scope="module")
def logic() -> ModuleType:
    """The function's logic module, ``functions.payments.logic`` (it reads no environment at import)."""
    return importlib.import_module("functions.payments.logic")


@pytest.mark.parametrize("amount", [10.5, 10.0, "10.00", "1000", 0, -1, True, None, 10_000_000_001])
def test_money_refuses_anything_but_a_positive_integer_of_minor_units(amount: Any) -> None:
    with pytest.raises(ValidationError):
        Money.model_validate({"amount": amount, "currency": "EUR"})


@pytest.mark.parametrize("currency", ["eur", "EURO", "XYZ", "", "€"])
def test_money_refuses_non_iso_4217_currencies(currency: str) -> None:
    with pytest.raises(ValidationError):
        Money.model_validate({"amount": 100, "currency": currency})


def test_money_accepts_integer_minor_units_of_a_known_currency() -> None:
    assert Money.model_validate({"amount": 1250, "currency": "JPY"}).amount == 1250


def test_charge_request_never_shows_the_card_number() -> None:
    request = ChargeRequest(amount=Money(amount=100, currency="EUR"), card="4242424242424242")
    assert "4242424242424242" not in repr(request) and "4242424242424242" not in str(request)
    assert request.last4 == "4242"


def test_payment_id_is_stable_per_tenant_client_and_key() -> None:
    assert payment_id_for("t1", "c1", "k") == payment_id_for("t1", "c1", "k")
    assert len({payment_id_for("t1", "c1", "k"), payment_id_for("t2", "c1", "k"), payment_id_for("t1", "c2", "k")}) == 3


@pytest.mark.parametrize("value", [None, "", "   ", "x" * 256])
def test_idempotency_key_must_be_present_non_blank_and_at_most_255(logic: ModuleType, value: str | None) -> None:
    with pytest.raises(InvalidIdempotencyKey):
        logic.idempotency_key(value)


def test_idempotency_key_of_255_characters_is_kept_verbatim(logic: ModuleType) -> None:
    assert logic.idempotency_key("k" * 255) == "k" * 255


def test_duplicate_json_keys_are_refused_at_any_depth(logic: ModuleType) -> None:
    with pytest.raises(logic.DuplicateJsonKey):
        logic.parse_body('{"a": {"b": 1, "b": 2}}')


def test_body_over_256_kb_is_refused_before_parsing(logic: ModuleType) -> None:
    with pytest.raises(logic.PayloadTooLarge):
        logic.parse_body(json.dumps({"x": "y" * (256 * 1024)}))


@pytest.mark.parametrize("raw", ["{", "[]", "null", '"text"'])
def test_malformed_or_non_object_json_is_refused(logic: ModuleType, raw: str) -> None:
    with pytest.raises(logic.MalformedJson):
        logic.parse_body(raw)


def test_a_missing_body_is_a_validation_error_naming_the_body(logic: ModuleType) -> None:
    from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError

    with pytest.raises(RequestValidationError) as raised:
        logic.parse_body("")
    assert raised.value.errors() == [{"loc": ("body",), "type": "missing", "msg": "Field required"}]


def test_base64_bodies_are_decoded_first(logic: ModuleType) -> None:
    import base64

    raw = base64.b64encode(b'{"a": 1}').decode()
    assert logic.parse_body(raw, base64_encoded=True) == {"a": 1}
