"""Personal data is classified in the models and masked systematically: in every function's logs (the masking
formatter) and in every webhook body (the fan-out). Seeded unique personal values are pushed through both, then the
output is searched for them."""

from __future__ import annotations

import ast
import importlib
import io
import json
import pkgutil
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

import marquee
from marquee.core.logs import Logger, MaskingFormatter
from marquee.core.personal import MASK, PERSONAL_KEYS, PersonalKind, mask_record, personal_fields
from marquee.messaging.events import Envelope, envelope
from marquee.payments.models import PaymentCapturedEvent, PaymentDeclinedEvent, ProviderName
from marquee.webhooks.models import Endpoint
from marquee.webhooks.payloads import outbound

ROOT = Path(__file__).resolve().parents[2]
FUNCTIONS = ROOT / "functions"

# Unique values: if any of them shows up in the output, it leaked.
SEEDED = {
    "email": "zelda.q.seeded-7731@example.org",
    "displayName": "Zelda Quixote-Seeded",
    "phone": "+55 11 97731 4242",
    "sourceIp": "198.51.100.231",
    "userAgent": "SeededBrowser/7.7.31",
    "cardLast4": "7319",
}


def _all_models() -> list[type[BaseModel]]:
    for module in pkgutil.walk_packages(marquee.__path__, "marquee."):
        importlib.import_module(module.name)
    for folder in sorted(p for p in FUNCTIONS.iterdir() if (p / "models.py").exists()):
        importlib.import_module(f"functions.{folder.name}.models")
    seen: set[type[BaseModel]] = set()
    stack: list[type[BaseModel]] = [BaseModel]
    while stack:
        for sub in stack.pop().__subclasses__():
            if sub not in seen:
                seen.add(sub)
                stack.append(sub)
    return [m for m in seen if m.__module__.startswith(("marquee.", "functions."))]


def test_every_classified_field_is_one_the_log_masking_knows() -> None:
    classified = {(m.__qualname__, wire, name) for m in _all_models() for name, wire in _wire_and_python(m)}
    assert ("ProfileResponse", "email", "email") in classified  # the scan does find classified fields
    missing = sorted(c for c in classified if c[1] not in PERSONAL_KEYS or c[2] not in PERSONAL_KEYS)
    assert not missing, f"add these to marquee.core.personal.PERSONAL_KEYS: {missing}"


def _wire_and_python(model: type[BaseModel]) -> list[tuple[str, str]]:
    wire = personal_fields(model)
    return [(field.alias or name, name) for name, field in model.model_fields.items() if (field.alias or name) in wire]


def test_the_profile_card_and_origin_fields_are_classified_with_their_kind() -> None:
    from functions.catalog.models import ProfileRequest, ProfileResponse
    from marquee.audit.access import AccessRecord

    expected = {"displayName": PersonalKind.NAME, "email": PersonalKind.EMAIL, "phone": PersonalKind.PHONE}
    assert personal_fields(ProfileRequest) == expected and personal_fields(ProfileResponse) == expected
    assert personal_fields(PaymentCapturedEvent) == {"cardLast4": PersonalKind.CARD_LAST4}
    assert personal_fields(AccessRecord) == {"ip": PersonalKind.IP_ADDRESS, "userAgent": PersonalKind.USER_AGENT}
    schema = ProfileResponse.model_json_schema(by_alias=True)
    assert schema["properties"]["email"]["x-personal"] == "email"  # published in the contract


def test_every_function_logger_is_the_masking_one() -> None:
    """A module that builds a root ``Logger()`` must import it from marquee.core.logs, never from Powertools (child
    loggers log through their root's handler and formatter)."""
    offenders = []
    for path in FUNCTIONS.rglob("*.py"):
        tree = ast.parse(path.read_text())
        builds = any(
            isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "Logger"
            and not any(k.arg == "child" for k in n.keywords)
            for n in ast.walk(tree)
        )  # fmt: skip
        imports = {
            (n.module, a.name) for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) for a in n.names
        }
        if builds and ("marquee.core.logs", "Logger") not in imports:
            offenders.append(str(path.relative_to(ROOT)))
    assert not offenders


def test_no_kernel_or_function_module_logs_around_the_masking() -> None:
    """A plain ``logging.getLogger`` logger writes through the runtime's root handler, unmasked: the layer and the
    functions log only through ``marquee.core.logs.Logger`` (a root one per function, ``child=True`` in modules)."""
    layer = ROOT / "layers" / "common" / "python" / "marquee"
    offenders = []
    for path in [*FUNCTIONS.rglob("*.py"), *layer.rglob("*.py")]:
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "getLogger"
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "logging"
            ):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not offenders, f"plain logging bypasses the masking: {offenders}"


def _capture(**kwargs: Any) -> tuple[Logger, io.StringIO]:
    stream = io.StringIO()
    return Logger(service="personal-data-test", stream=stream, level="DEBUG", **kwargs), stream


def test_logs_never_carry_a_seeded_personal_value_whatever_the_shape() -> None:
    logger, stream = _capture()
    child = Logger(service="personal-data-test", child=True)
    event_body = json.dumps({"displayName": SEEDED["displayName"], "email": SEEDED["email"], "phone": SEEDED["phone"]})
    logger.info("profile saved", extra={"profile": {k: SEEDED[k] for k in ("displayName", "email", "phone")}})
    logger.info({"requestContext": {"identity": {"sourceIp": SEEDED["sourceIp"], "userAgent": SEEDED["userAgent"]}},
                 "body": event_body})  # fmt: skip  - what log_event=True logs
    logger.append_keys(card_last4=SEEDED["cardLast4"])
    logger.warning(f"could not notify {SEEDED['email']}")
    child.error("nested", extra={"items": [{"contactEmail": SEEDED["email"]}, {"cardLast4": SEEDED["cardLast4"]}]})
    try:
        raise LookupError(f"no profile for {SEEDED['email']}")
    except LookupError:
        logger.exception("lookup failed")
    output = stream.getvalue()
    assert output.count("\n") == 5 and MASK in output
    leaked = [name for name, value in SEEDED.items() if value in output]
    assert not leaked, f"unmasked in the logs: {leaked}"
    # what is not personal stays readable
    assert '"message":"profile saved"' in output and "lookup failed" in output


def test_masking_keeps_non_personal_values_and_types() -> None:
    masked = mask_record({"orderId": "ord_1", "amount": {"amount": 1200, "currency": "BRL"}, "ok": True, "n": None,
                          "email": "a@b.co", "phone": ""})  # fmt: skip
    assert masked == {"orderId": "ord_1", "amount": {"amount": 1200, "currency": "BRL"}, "ok": True, "n": None,
                      "email": MASK, "phone": ""}  # fmt: skip


def test_the_masking_formatter_is_the_default_and_child_loggers_use_it() -> None:
    logger, _ = _capture()
    assert isinstance(logger.registered_formatter, MaskingFormatter)


class _Store:
    def __init__(self) -> None:
        self.deliveries: list[Any] = []

    def list_endpoints(self, tenant_id: str) -> list[Endpoint]:
        return [
            Endpoint(endpoint_id="ep_1", tenant_id=tenant_id, url="https://hooks.example.com/x",
                     event_types=("PaymentCaptured", "PaymentDeclined", "OrderPlaced"),
                     secret_name="marquee/webhook-endpoints/ep_1",  # noqa: S106 - a name
                     created_at="2026-12-05T00:00:00Z", updated_at="2026-12-05T00:00:00Z")
        ]  # fmt: skip

    def create_delivery(self, delivery: Any, *, now: float) -> Any:
        self.deliveries.append(delivery)
        return delivery


class _Queue:
    def send(self, messages: list[Any]) -> None:
        self.sent = messages


def _captured(tenant: str = "acme-cinemas") -> Envelope:
    data = PaymentCapturedEvent(
        payment_id="pay_1", client_id="cust_1", order_id="ord_1", amount={"amount": 4200, "currency": "BRL"},
        provider=ProviderName.PRIMARY, provider_charge_id="ch_1", card_last4=SEEDED["cardLast4"],
    )  # fmt: skip
    return envelope(data, tenant_id=tenant, correlation_id="corr-1")


@pytest.mark.parametrize("model", [PaymentCapturedEvent, PaymentDeclinedEvent])
def test_webhook_bodies_carry_no_seeded_personal_value(model: type[Any]) -> None:
    from functions.webhooks_fanout.logic import fan_out

    if model is PaymentCapturedEvent:
        event = _captured()
    else:
        event = envelope(
            PaymentDeclinedEvent(payment_id="pay_2", client_id="cust_1", amount={"amount": 100, "currency": "BRL"},
                                 provider=ProviderName.PRIMARY, reason="card_declined",
                                 card_last4=SEEDED["cardLast4"]),
            tenant_id="acme-cinemas", correlation_id="corr-2",
        )  # fmt: skip
    store, queue = _Store(), _Queue()
    assert fan_out(event, store, queue, now=1_800_000_000.0) == 1  # type: ignore[arg-type]
    (delivery,) = store.deliveries
    assert SEEDED["cardLast4"] not in delivery.body
    sent = json.loads(delivery.body)
    assert sent["data"]["cardLast4"] == MASK
    assert sent["data"]["paymentId"] == event.data["paymentId"] and sent["id"] == event.id  # the rest is intact
    assert event.data["cardLast4"] == SEEDED["cardLast4"]  # the bus event itself is not changed


def test_an_event_without_personal_fields_leaves_unchanged() -> None:
    event = Envelope(type="OrderPlaced", version=1, tenantId="acme-cinemas", correlationId="c", data={"orderId": "o"})
    assert outbound(event) is event
