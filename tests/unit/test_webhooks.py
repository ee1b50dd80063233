"""Webhook signing, verification, secrets and the SSRF guard: no network (resolvers are fakes)."""

from __future__ import annotations

import base64
import importlib
import math
import time
from datetime import UTC, datetime

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from marquee.messaging.events import EVENT_TYPES
from marquee.webhooks import events as webhook_events
from marquee.webhooks.errors import InvalidSignature
from marquee.webhooks.inbound import verify_inbound
from marquee.webhooks.signing import delivery_id, new_secret, secret_length, signature_header, signed_headers
from marquee.webhooks.signing_secrets import SecretDocument
from marquee.webhooks.ssrf import UrlRejected, check_url, classify

BODY = '{"id":"e1","type":"OrderConfirmed","data":{"orderId":"ord_1"}}'
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"  # noqa: S105 - the Standard Webhooks test vector's secret


# ---- secrets and signatures --------------------------------------------------------------------------------------------
def test_a_new_secret_is_whsec_base64_of_24_to_64_bytes_and_unique() -> None:
    secrets = {new_secret() for _ in range(50)}
    assert len(secrets) == 50
    for secret in secrets:
        assert secret.startswith("whsec_")
        assert 24 <= secret_length(secret) <= 64


def test_signature_matches_the_standard_webhooks_test_vector() -> None:
    # The spec's published example: same secret, id, timestamp and payload give this signature.
    header = signature_header(
        [SECRET],
        msg_id="msg_p5jXN8AQM9LWM0D4loKWxJek",
        timestamp=1614265330,
        body='{"test": 2432232314}',
    )
    assert header == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_the_library_verifies_a_signed_delivery_and_rejects_tampering_and_wrong_secrets() -> None:
    headers = signed_headers([SECRET], msg_id="msg_1", timestamp=int(time.time()), body=BODY)
    assert Webhook(SECRET).verify(BODY, headers)["type"] == "OrderConfirmed"
    with pytest.raises(WebhookVerificationError):
        Webhook(SECRET).verify(BODY.replace("ord_1", "ord_2"), headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(BODY, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(SECRET).verify(BODY, {**headers, "webhook-id": "msg_2"})  # the id is signed too


@pytest.mark.parametrize("skew", [-301, 301])
def test_timestamps_301_seconds_away_are_rejected(skew: int) -> None:
    # Rounded away from now, so that the distance at verification is at least 301 s.
    now = math.ceil(time.time()) if skew > 0 else math.floor(time.time())
    headers = signed_headers([SECRET], msg_id="msg_1", timestamp=now + skew, body=BODY)
    with pytest.raises(WebhookVerificationError, match="too (old|new)"):
        Webhook(SECRET).verify(BODY, headers)
    with pytest.raises(InvalidSignature):
        verify_inbound(SECRET, BODY, headers)


@pytest.mark.parametrize("skew", [-295, 295])
def test_timestamps_inside_the_window_are_accepted(skew: int) -> None:
    headers = signed_headers([SECRET], msg_id="msg_1", timestamp=int(time.time()) + skew, body=BODY)
    assert verify_inbound(SECRET, BODY, headers) == "msg_1"


def test_two_secrets_give_two_space_separated_signatures_and_either_secret_verifies() -> None:
    old, new = new_secret(), new_secret()
    headers = signed_headers([new, old], msg_id="msg_1", timestamp=int(time.time()), body=BODY)
    signatures = headers["webhook-signature"].split(" ")
    assert len(signatures) == 2 and all(s.startswith("v1,") for s in signatures)
    assert signatures[0] == signature_header(
        [new], msg_id="msg_1", timestamp=int(headers["webhook-timestamp"]), body=BODY
    )
    Webhook(old).verify(BODY, headers)
    Webhook(new).verify(BODY, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(BODY, headers)


@pytest.mark.parametrize(
    "signature", ["no-comma", "v1,not*base64", "", "v2,AAAA", "v1," + base64.b64encode(b"x" * 32).decode()]
)
def test_malformed_or_foreign_signatures_are_invalid_not_errors(signature: str) -> None:
    headers = signed_headers([SECRET], msg_id="msg_1", timestamp=int(time.time()), body=BODY)
    headers["webhook-signature"] = signature
    with pytest.raises(InvalidSignature):
        verify_inbound(SECRET, BODY, headers)


def test_missing_headers_are_invalid() -> None:
    with pytest.raises(InvalidSignature):
        verify_inbound(SECRET, BODY, {"webhook-id": "msg_1"})


def test_the_previous_secret_signs_only_until_the_overlap_ends() -> None:
    document = SecretDocument(version=2, current="whsec_new", previous="whsec_old", previous_expires_at=1000)
    assert document.signing_keys(now=999) == ["whsec_new", "whsec_old"]
    assert document.signing_keys(now=1000) == ["whsec_new"]
    assert "whsec_" not in repr(document)  # secrets stay out of logs


def test_delivery_ids_are_stable_per_endpoint_and_event_and_sort_by_event_time() -> None:
    at = datetime(2026, 11, 1, tzinfo=UTC)
    later = datetime(2026, 11, 2, tzinfo=UTC)
    assert delivery_id("ep_a", "e1", at) == delivery_id("ep_a", "e1", at)
    assert delivery_id("ep_a", "e1", at) != delivery_id("ep_b", "e1", at)
    assert delivery_id("ep_a", "e2", later) > delivery_id("ep_a", "e1", at)
    assert len(delivery_id("ep_a", "e1", at)) == 36


def test_every_registered_booking_event_can_be_subscribed_to() -> None:
    booking_modules = ("marquee.booking.events", "marquee.payments.models", "marquee.booking.orders")
    for module in booking_modules:
        try:
            importlib.import_module(module)
        except ImportError:
            continue  # a module another capability has not shipped yet
    booking = {name for name, model in EVENT_TYPES.items() if model.__module__ in booking_modules}
    assert booking, "no booking event is registered"
    assert booking <= webhook_events.BOOKING_EVENT_TYPES
    assert {"EndpointDisabled", "RefundReported", "ChargebackReported"} <= webhook_events.WEBHOOK_EVENT_TYPES


# ---- SSRF guard ---------------------------------------------------------------------------------------------------------
def resolver(answers: dict[str, list[str]]):
    def resolve(host: str, port: int) -> list[str]:
        if host not in answers:
            raise OSError("NXDOMAIN")
        return answers[host]

    return resolve


PUBLIC = resolver({"hooks.example.com": ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"]})


def test_a_public_https_url_is_accepted_with_its_addresses() -> None:
    target = check_url("https://hooks.example.com:8443/in?x=1", allow_loopback=False, resolver=PUBLIC)
    assert (target.scheme, target.host, target.port, target.path) == ("https", "hooks.example.com", 8443, "/in?x=1")
    assert target.addresses[0] == "93.184.215.14"


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("10.0.0.1", "private"),
        ("172.16.5.4", "private"),
        ("192.168.1.1", "private"),
        ("169.254.169.254", "link-local"),
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("fd00::1", "private"),
        ("fe80::1%eth0", "link-local"),
        ("::ffff:10.0.0.1", "private"),
        ("::ffff:127.0.0.1", "loopback"),
        ("0.0.0.0", "private"),
        ("100.64.0.1", "not globally routable"),
        ("224.0.0.1", "not globally routable"),
        ("93.184.215.14", "public"),
    ],
)
def test_addresses_are_classified(address: str, kind: str) -> None:
    assert classify(address) == kind


@pytest.mark.parametrize("address", ["10.0.0.7", "169.254.169.254", "127.0.0.1", "::1", "192.168.0.10"])
def test_a_host_resolving_to_an_internal_address_is_rejected(address: str) -> None:
    with pytest.raises(UrlRejected):
        check_url(
            "https://inside.example.com/", allow_loopback=False, resolver=resolver({"inside.example.com": [address]})
        )


def test_one_internal_address_among_public_ones_is_enough_to_reject() -> None:
    mixed = resolver({"mixed.example.com": ["93.184.215.14", "10.0.0.7"]})
    with pytest.raises(UrlRejected, match="10.0.0.7"):
        check_url("https://mixed.example.com/", allow_loopback=False, resolver=mixed)


def test_the_local_setting_allows_loopback_over_http_but_never_private_or_link_local() -> None:
    local = resolver({"localhost": ["127.0.0.1"], "meta.example.com": ["169.254.169.254"]})
    assert check_url("http://localhost:8080/hooks", allow_loopback=True, resolver=local).addresses == ("127.0.0.1",)
    assert check_url("http://127.0.0.1:9/h", allow_loopback=True, resolver=local).port == 9
    with pytest.raises(UrlRejected):
        check_url("http://localhost:8080/hooks", allow_loopback=False, resolver=local)
    with pytest.raises(UrlRejected, match="link-local"):
        check_url("https://meta.example.com/", allow_loopback=True, resolver=local)
    with pytest.raises(UrlRejected, match="https"):
        check_url("http://hooks.example.com/", allow_loopback=True, resolver=PUBLIC)  # http only for loopback


@pytest.mark.parametrize(
    "url",
    [
        "",
        "hooks.example.com/x",
        "ftp://hooks.example.com/x",
        "https://",
        "https://user:pw@hooks.example.com/",
        "https://hooks.example.com:99999/",
        "https://hooks.example.com/#frag",
        "https://hooks.example.com/ x",
        "https://unknown.example.com/",
        "https://" + "a" * 2050 + ".com/",
    ],
)
def test_malformed_or_unresolvable_urls_are_rejected(url: str) -> None:
    with pytest.raises(UrlRejected):
        check_url(url, allow_loopback=True, resolver=PUBLIC)
