"""A real SMTP server for tests (aiosmtpd), shared by every app: ``pytest_plugins = ["tests.smtp"]``.

* ``smtp_server`` — an SMTP server on 127.0.0.1 on a free port; ``.messages`` are the received
  messages (``email.message.EmailMessage``, parsed with ``email.policy.default``), ``.envelopes`` the
  raw envelopes (sender and recipients as given to SMTP).
* ``mail_configured`` — the mail settings point at that server (enabled, no TLS); returns the server.
"""

from __future__ import annotations

import email
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from kopeck.common.actor import Actor
from kopeck.configuration.services import mail_settings_update

SENDER = "billing@kopeck.test"
SENDER_NAME = "Копейка"


@dataclass
class Envelope:
    mail_from: str
    rcpt_tos: list[str]


@dataclass
class SmtpServer:
    host: str
    port: int
    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[Envelope] = field(default_factory=list)
    received: threading.Condition = field(default_factory=threading.Condition)

    def wait_for(self, count: int, timeout: float = 5.0) -> list[EmailMessage]:
        """Wait until ``count`` messages arrived (they do before the client's send returns; this is
        for senders in other threads)."""
        with self.received:
            self.received.wait_for(lambda: len(self.messages) >= count, timeout)
        return list(self.messages)


class _Handler:
    def __init__(self, server: SmtpServer) -> None:
        self.server = server

    async def handle_DATA(self, smtp: Any, session: Any, envelope: Any) -> str:
        raw = envelope.original_content or envelope.content
        # SMTP carries CRLF line ends; parse as a mail client stores the message (LF)
        message = email.message_from_bytes(raw.replace(b"\r\n", b"\n"), policy=policy.default)
        assert isinstance(message, EmailMessage)
        with self.server.received:
            self.server.envelopes.append(Envelope(envelope.mail_from, list(envelope.rcpt_tos)))
            self.server.messages.append(message)
            self.server.received.notify_all()
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    server = SmtpServer(host="127.0.0.1", port=free_port())
    controller = Controller(_Handler(server), hostname=server.host, port=server.port)
    controller.start()
    try:
        yield server
    finally:
        controller.stop()


@pytest.fixture
def mail_configured(smtp_server: SmtpServer, db: Any) -> SmtpServer:
    mail_settings_update(actor=Actor.system("tests"), enabled=True, host=smtp_server.host, port=smtp_server.port,
                         security="none", username="", password="", from_email=SENDER, from_name=SENDER_NAME,
                         timeout=5)
    return smtp_server
