"""Sending one webhook request: the SSRF guard, the Standard Webhooks signature and the HTTP call.

SSRF guard: only ``http`` and ``https`` URLs without credentials; the host is resolved and **every**
address it resolves to must be a public one — loopback, private (RFC 1918, unique-local), link-local
(which holds cloud metadata services), carrier-grade NAT, multicast, reserved and unspecified
addresses are refused unless they fall in a network the operator allows
(``KOPECK_WEBHOOK_ALLOWED_NETWORKS``, e.g. ``10.20.0.0/16`` for a panel inside the provider's network).
The check runs when an endpoint is saved and again at every attempt, and the request goes to the
address that was checked (the ``Host`` header and TLS server name stay the URL's), so a DNS answer that
changes between the check and the connection (rebinding) cannot redirect it. Redirects are not followed.

Signature (https://www.standardwebhooks.com): headers ``webhook-id`` (the event's ``uid``, the same on
every retry), ``webhook-timestamp`` (seconds, this attempt) and ``webhook-signature`` — ``v1,<base64 of
HMAC-SHA256(key, "<id>.<timestamp>.<body>")>`` for each valid secret, space-separated; the key is the
base64-decoded part of the ``whsec_…`` secret.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import ipaddress
import socket
import threading
import time
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import httpx
from django.conf import settings

USER_AGENT: Final = "Kopeck-Webhooks/1.0"
RESPONSE_KEPT: Final = 2000
CARRIER_GRADE_NAT: Final = ipaddress.ip_network("100.64.0.0/10")

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class UrlRefused(ValueError):
    """A URL Kopeck will not call; the message says why."""


def allowed_networks() -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    raw = getattr(settings, "KOPECK_WEBHOOK_ALLOWED_NETWORKS", []) or []
    if isinstance(raw, str):
        raw = [part.strip() for part in raw.split(",") if part.strip()]
    return [ipaddress.ip_network(n, strict=False) for n in raw]


def address_problem(address: Address) -> str | None:
    """Why ``address`` may not be called (None: it may)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if any(address in network for network in allowed_networks()):
        return None
    if address.is_loopback:
        return "a loopback address"
    if address.is_link_local:
        return "a link-local address"
    if address.is_multicast or address.is_reserved or address.is_unspecified:
        return "a reserved address"
    if address.is_private or (isinstance(address, ipaddress.IPv4Address) and address in CARRIER_GRADE_NAT):
        return "a private address"
    return None


@dataclass(frozen=True, slots=True)
class Target:
    url: str
    scheme: str
    host: str
    port: int
    address: Address


def parse_url(url: str) -> urllib.parse.SplitResult:
    """The URL's parts, or UrlRefused: only http(s), with a host, without credentials."""
    if not isinstance(url, str) or not url.strip():
        raise UrlRefused("Enter a URL.")
    if len(url) > 2000:
        raise UrlRefused("At most 2000 characters.")
    parts = urllib.parse.urlsplit(url.strip())
    if parts.scheme not in ("http", "https"):
        raise UrlRefused("Only http and https URLs are allowed.")
    if not parts.hostname:
        raise UrlRefused("The URL has no host.")
    if parts.username or parts.password:
        raise UrlRefused("Credentials in the URL are not allowed; the signature authenticates Kopeck.")
    try:
        _port = parts.port
    except ValueError:
        raise UrlRefused("The port is not valid.") from None
    return parts


def resolve(url: str) -> Target:
    """Check ``url`` and resolve its host; every address must pass :func:`address_problem`."""
    parts = parse_url(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise UrlRefused(f"The host {host!r} cannot be resolved ({exc}).") from None
    addresses: list[Address] = []
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise UrlRefused(f"The host {host!r} has no address.")
    for address in addresses:
        problem = address_problem(address)
        if problem:
            raise UrlRefused(f"The host {host!r} resolves to {address}, {problem}: Kopeck does not call internal "
                             f"addresses unless the operator allows them (KOPECK_WEBHOOK_ALLOWED_NETWORKS).")
    return Target(url.strip(), parts.scheme, host, port, addresses[0])


def secret_key(secret: str) -> bytes:
    raw = secret[len("whsec_"):] if secret.startswith("whsec_") else secret
    return base64.b64decode(raw + "=" * (-len(raw) % 4))


def sign(msg_id: str, timestamp: int, body: bytes, secrets: Sequence[str]) -> str:
    """The ``webhook-signature`` header value: one ``v1,…`` per secret."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    return " ".join("v1," + base64.b64encode(hmac.new(secret_key(s), signed, hashlib.sha256).digest()).decode()
                    for s in secrets)


@dataclass(frozen=True, slots=True)
class Outcome:
    ok: bool
    status_code: int | None
    latency_ms: int
    response: str
    error: str


_local = threading.local()
RESPONSE_READ: Final = 64 * 1024  # bytes of an answer read at most (a longer one closes the connection)


def _transport() -> httpx.HTTPTransport:
    """One keep-alive connection pool per thread. Requests go to the transport directly: the client
    layer above it (cookies, redirects, authentication, merging of defaults) does nothing a webhook
    needs and cost more CPU than the request itself."""
    pool = getattr(_local, "transport", None)
    if pool is None:
        # no Nagle: the headers and the body go out as separate writes, and a delayed ACK would hold the
        # second one back (~40 ms a request)
        pool = httpx.HTTPTransport(socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)],
                                   limits=httpx.Limits(max_connections=50, max_keepalive_connections=20))
        _local.transport = pool
    return pool


def _timeout() -> dict[str, float]:
    timeout = float(getattr(settings, "KOPECK_WEBHOOK_TIMEOUT", 10))
    return httpx.Timeout(timeout, connect=min(timeout, 5.0)).as_dict()  # type: ignore[return-value]


def request_url(target: Target) -> httpx.URL:
    """The URL the request is sent to: the checked address in place of the host name."""
    return httpx.URL(target.url).copy_with(host=str(target.address), port=target.port)


def send(target: Target, msg_id: str, body: bytes, secrets: Sequence[str], now: dt.datetime,
         url: httpx.URL | None = None) -> Outcome:
    """POST ``body`` to the checked address of ``target`` (``url``: :func:`request_url`, when the caller
    keeps it), signed once for this attempt; what came of it (never raises for network errors: they
    are an outcome). Redirects are not followed; at most 64 KB of the answer is read."""
    timestamp = int(now.timestamp())
    netloc_host = target.host if ":" not in target.host else f"[{target.host}]"
    default_port = 443 if target.scheme == "https" else 80
    headers = [
        (b"host", (netloc_host if target.port == default_port else f"{netloc_host}:{target.port}").encode("idna")),
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"user-agent", USER_AGENT.encode()),
        (b"webhook-id", msg_id.encode()),
        (b"webhook-timestamp", str(timestamp).encode()),
        (b"webhook-signature", sign(msg_id, timestamp, body, secrets).encode()),
    ]
    extensions: dict[str, object] = {"timeout": _timeout()}
    if target.scheme == "https":
        extensions["sni_hostname"] = target.host
    started = time.perf_counter()
    try:
        request = httpx.Request("POST", url if url is not None else request_url(target), headers=headers,
                                content=body, extensions=extensions)
        response = _transport().handle_request(request)
        try:
            answer = bytearray()
            for chunk in response.iter_raw():
                answer += chunk
                if len(answer) > RESPONSE_READ:
                    break
        finally:
            response.close()
    except httpx.HTTPError as exc:
        latency = int((time.perf_counter() - started) * 1000)
        return Outcome(False, None, latency, "", f"{type(exc).__name__}: {exc}"[:1000] or type(exc).__name__)
    latency = int((time.perf_counter() - started) * 1000)
    try:
        text = bytes(answer[:RESPONSE_KEPT * 4]).decode(response.charset_encoding or "utf-8", "replace")
    except LookupError:  # a charset Python does not know
        text = bytes(answer[:RESPONSE_KEPT * 4]).decode("utf-8", "replace")
    text = text[:RESPONSE_KEPT]
    ok = 200 <= response.status_code < 300
    return Outcome(ok, response.status_code, latency, text,
                   "" if ok else f"The endpoint answered {response.status_code}.")
