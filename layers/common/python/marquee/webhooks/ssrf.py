"""SSRF guard for outbound webhooks: a tenant's URL may only reach the public internet.

``check_url`` parses the URL, resolves its host, and refuses it when ANY resolved address is private, loopback,
link-local, multicast, reserved, unspecified or otherwise not globally routable (``ipaddress``'s ``is_global``; this
covers 10/8, 172.16/12, 192.168/16, 100.64/10, 169.254/16 with the instance metadata service, ::1, fc00::/7, fe80::/10
and IPv4-mapped IPv6 forms of all of them).

The only exception is the local cloud's: with ``allow_loopback`` (the ``WEBHOOK_ALLOW_LOOPBACK`` variable, which CDK
sets for the ``local`` target only) a URL whose addresses are ALL loopback is accepted, over ``http`` as well, so that
tests can run a receiver on 127.0.0.1. Private and link-local addresses stay refused even then.

The sender checks again at delivery time and connects to the address it checked (``Target.addresses``), never to a
second resolution of the name, so DNS rebinding between the check and the connection cannot redirect a delivery.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from urllib.parse import urlsplit

from marquee.core.errors import MarqueeError

MAX_URL_LENGTH = 2048
DEFAULT_PORTS = {"https": 443, "http": 80}

Resolver = Callable[[str, int], Sequence[str]]


class UrlRejected(MarqueeError):
    """The webhook URL is malformed, not https, or reaches an address the platform must never call."""

    status = HTTPStatus.UNPROCESSABLE_ENTITY
    slug = "webhook-url-rejected"
    title = "Webhook URL rejected"


@dataclass(frozen=True)
class Target:
    """A checked URL: where to connect (``addresses``) and what to ask for (``host``, ``path``)."""

    scheme: str
    host: str
    port: int
    path: str
    addresses: tuple[str, ...]


def resolve(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (A and AAAA), in resolver order."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def _address(raw: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    address = ipaddress.ip_address(raw.split("%", 1)[0])  # drop an IPv6 zone id (fe80::1%eth0)
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped  # ::ffff:10.0.0.1 is 10.0.0.1
    return address


def classify(raw: str) -> str:
    """``public``, ``loopback`` or the reason the address is refused."""
    address = _address(raw)
    if address.is_loopback:
        return "loopback"
    if address.is_link_local:
        return "link-local"
    if address.is_private:
        return "private"
    if address.is_multicast or address.is_unspecified or address.is_reserved or not address.is_global:
        return "not globally routable"
    return "public"


def check_url(url: str, *, allow_loopback: bool, resolver: Resolver | None = None) -> Target:
    """Parse, resolve and vet ``url``; raise ``UrlRejected`` with the reason, never a generic error."""
    if not url or len(url) > MAX_URL_LENGTH:
        raise UrlRejected(f"The URL must be 1 to {MAX_URL_LENGTH} characters long.")
    if any(c.isspace() or ord(c) < 0x20 for c in url):
        raise UrlRejected("The URL contains whitespace or control characters.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UrlRejected(f"The URL is malformed: {exc}.") from exc
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise UrlRejected("The URL must use https.")
    if scheme == "http" and not allow_loopback:
        raise UrlRejected("The URL must use https (plain http is accepted only by the local cloud, for loopback).")
    host = parts.hostname
    if not host:
        raise UrlRejected("The URL has no host.")
    if parts.username is not None or parts.password is not None:
        raise UrlRejected("The URL must not carry credentials (user:password@).")
    if parts.fragment:
        raise UrlRejected("The URL must not have a fragment.")
    port = port or DEFAULT_PORTS[scheme]
    addresses: tuple[str, ...]
    try:
        addresses = (str(ipaddress.ip_address(host)),)  # an IP literal needs no resolver
    except ValueError:
        addresses = ()
    try:
        addresses = addresses or tuple((resolver or resolve)(host, port))
    except (OSError, UnicodeError) as exc:
        raise UrlRejected(f"The host {host!r} does not resolve.") from exc
    if not addresses:
        raise UrlRejected(f"The host {host!r} does not resolve.")
    kinds = {address: classify(address) for address in addresses}
    for address, kind in kinds.items():
        if kind == "public" or (kind == "loopback" and allow_loopback):
            continue
        raise UrlRejected(
            f"The host {host!r} resolves to a {kind} address ({address}); webhooks only call public hosts."
        )
    if scheme == "http" and set(kinds.values()) != {"loopback"}:
        raise UrlRejected("The URL must use https (plain http is accepted only by the local cloud, for loopback).")
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    return Target(scheme=scheme, host=host, port=port, path=path, addresses=addresses)


@dataclass(frozen=True)
class HttpResult:
    status: int
    duration_ms: int


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to the checked address, whatever the name resolves to now; sends the URL's host in ``Host``."""

    def __init__(self, host: str, port: int, *, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """As above, with TLS: SNI and certificate verification use the URL's host name, not the address."""

    def __init__(self, host: str, port: int, *, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)  # type: ignore[attr-defined]


def post(target: Target, *, body: bytes, headers: dict[str, str], timeout: float) -> HttpResult:
    """POST ``body`` to the checked ``target`` (its first address). Redirects are not followed: a 3xx is a failure.

    Raises ``OSError`` (timeouts, refused connections, TLS errors) and ``http.client.HTTPException``.
    """
    connection_class = _PinnedHTTPSConnection if target.scheme == "https" else _PinnedHTTPConnection
    connection = connection_class(target.host, target.port, address=target.addresses[0], timeout=timeout)
    started = time.perf_counter()
    try:
        connection.request("POST", target.path, body=body, headers=headers)
        response = connection.getresponse()
        response.read(64 * 1024)  # drain a little so the server sees a clean close; the body is never stored
        return HttpResult(status=response.status, duration_ms=int((time.perf_counter() - started) * 1000))
    finally:
        connection.close()
