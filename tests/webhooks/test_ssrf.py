"""The SSRF guard: only http(s), never an internal address unless the operator allows its network."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest

from kopeck.common.errors import ValidationFailed
from kopeck.events.services import events_dispatch_all
from kopeck.webhooks import transport
from kopeck.webhooks.models import Attempt, Endpoint
from kopeck.webhooks.services import endpoint_create, webhooks_deliver_all
from tests.rules.conftest import ACTOR, make_client
from tests.webhooks.receiver import Receiver

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(("url", "message"), [
    ("http://127.0.0.1:8000/api/v1/clients/", "resolves to 127.0.0.1, a loopback address"),
    ("http://localhost/hook", "a loopback address"),
    ("http://[::1]:8080/", "resolves to ::1, a loopback address"),
    ("http://10.0.0.5/hook", "resolves to 10.0.0.5, a private address"),
    ("https://192.168.1.10/hook", "a private address"),
    ("http://172.16.0.1/", "a private address"),
    ("http://169.254.169.254/latest/meta-data/", "resolves to 169.254.169.254, a link-local address"),
    ("http://100.64.0.1/", "a private address"),
    ("http://[::ffff:127.0.0.1]/", "a loopback address"),
    ("http://[fd00::1]/", "a private address"),
    ("http://0.0.0.0/", "a reserved address"),
    ("http://224.0.0.1/", "a reserved address"),
    ("ftp://example.com/hook", "Only http and https URLs are allowed."),
    ("file:///etc/passwd", "Only http and https URLs are allowed."),
    ("gopher://127.0.0.1:25/", "Only http and https URLs are allowed."),
    ("http://user:secret@example.com/", "Credentials in the URL are not allowed"),
    ("http:///nohost", "The URL has no host."),
    ("http://no-such-host.invalid/", "cannot be resolved"),
])
def test_an_internal_or_odd_url_is_refused_and_nothing_written(url: str, message: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        endpoint_create(actor=ACTOR, url=url, event_types=["client.*"])
    assert message in caught.value.errors["url"][0]
    assert Endpoint.objects.count() == 0


def test_an_allowed_network_may_be_called(settings: Any) -> None:
    settings.KOPECK_WEBHOOK_ALLOWED_NETWORKS = ["10.20.0.0/16"]
    endpoint, _secret = endpoint_create(actor=ACTOR, url="http://10.20.3.4:8080/panel", event_types=[])
    assert endpoint.url == "http://10.20.3.4:8080/panel"
    with pytest.raises(ValidationFailed, match="invalid"):
        endpoint_create(actor=ACTOR, url="http://10.21.0.1/", event_types=[])


def test_a_public_address_passes() -> None:
    assert transport.address_problem(ipaddress.ip_address("93.184.216.34")) is None
    assert transport.address_problem(ipaddress.ip_address("2a00:1450:4010:c05::64")) is None


def test_an_address_forbidden_after_saving_is_not_called(settings: Any, clock: Any) -> None:
    """The check runs again at every attempt: an endpoint saved while loopback was allowed is not called
    once the operator withdraws the permission."""
    receiver = Receiver().start()
    try:
        settings.KOPECK_WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8"]
        endpoint_create(actor=ACTOR, url=receiver.url, event_types=["client.created"])
        settings.KOPECK_WEBHOOK_ALLOWED_NETWORKS = []
        make_client()
        events_dispatch_all()
        assert webhooks_deliver_all() == {"delivered": 0, "failed": 1, "given_up": 0}
        assert receiver.received == []
        assert "a loopback address" in Attempt.objects.get().error
    finally:
        receiver.stop()


def test_the_request_goes_to_the_checked_address(settings: Any, monkeypatch: Any, clock: Any) -> None:
    """DNS rebinding: the name resolves to a public address when checked; the connection is made to
    that address, whatever the name resolves to later."""
    targets: list[str] = []
    real_send = transport._transport

    class Recorder:
        def handle_request(self, request: Any) -> Any:
            targets.append(f"{request.url.host}|{request.headers['host']}")
            raise transport.httpx.ConnectError("refused")

    monkeypatch.setattr(transport, "_transport", lambda: Recorder())
    monkeypatch.setattr(transport.socket, "getaddrinfo",
                        lambda host, port, type=0: [(2, 1, 6, "", ("93.184.216.34", port))])
    endpoint_create(actor=ACTOR, url="https://hooks.example.com/kopeck", event_types=["client.created"])
    make_client()
    events_dispatch_all()
    webhooks_deliver_all()
    assert targets == ["93.184.216.34|hooks.example.com"]
    assert real_send is not None
