"""E-mail over SMTP (a real aiosmtpd server) and the outbox topic ``email.send``."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import transaction

from kopeck.common.actor import Actor
from kopeck.configuration.services import mail_settings_update
from kopeck.core.clock import FixedClock
from kopeck.notifications.email import EmailNotSent, email_send
from kopeck.notifications.services import email_enqueue
from kopeck.outbox.models import MessageStatus, OutboxMessage
from kopeck.outbox.registry import get_handler
from kopeck.outbox.services import outbox_deliver
from tests.conftest import START
from tests.smtp import SENDER, SmtpServer, free_port

PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n" + bytes(range(256)) * 40 + b"\n%%EOF\n"


@pytest.mark.django_db
def test_an_email_with_a_pdf_and_cyrillic_text_arrives(mail_configured: SmtpServer) -> None:
    msgid = email_send(
        to=["buh@client.example", "Директор <boss@client.example>"],
        subject="Счёт № 15 от 25.11.2026",
        body="Здравствуйте!\nВо вложении счёт на оплату. Сумма: 12 200,00 ₽.",
        html="<p>Здравствуйте! Во вложении <b>счёт</b>.</p>",
        attachments=[("Счёт № 15.pdf", PDF, "application/pdf"), ("readme.txt", b"plain", "text/plain")],
        headers={"X-Kopeck-Document": "invoice-15"},
    )
    (message,) = mail_configured.messages
    (envelope,) = mail_configured.envelopes
    assert envelope.mail_from == SENDER
    assert envelope.rcpt_tos == ["buh@client.example", "boss@client.example"]
    assert message["Subject"] == "Счёт № 15 от 25.11.2026"
    assert message["From"] == f"Копейка <{SENDER}>"
    assert message["To"] == "buh@client.example, Директор <boss@client.example>"
    assert message["Message-ID"] == msgid
    assert msgid.startswith("<") and msgid.endswith("@kopeck.test>")
    assert message["X-Kopeck-Document"] == "invoice-15"
    assert message.get_body(preferencelist=("plain",)).get_content() == (
        "Здравствуйте!\nВо вложении счёт на оплату. Сумма: 12 200,00 ₽.")
    assert message.get_body(preferencelist=("html",)).get_content() == (
        "<p>Здравствуйте! Во вложении <b>счёт</b>.</p>")
    attachments = list(message.iter_attachments())
    assert [(a.get_filename(), a.get_content_type()) for a in attachments] == [
        ("Счёт № 15.pdf", "application/pdf"), ("readme.txt", "text/plain")]
    assert attachments[0].get_content() == PDF  # byte for byte
    assert attachments[1].get_content() == "plain"


@pytest.mark.django_db
def test_a_plain_email_without_html_or_sender_name(mail_configured: SmtpServer, actor: Actor) -> None:
    mail_settings_update(actor=actor, from_name="")
    email_send(to=["a@example.com"], subject="Hello", body="Body")
    (message,) = mail_configured.messages
    assert message["From"] == SENDER
    assert message.get_content_type() == "text/plain"
    assert message.get_content() == "Body\n"


@pytest.mark.django_db
def test_a_given_message_id_is_used(mail_configured: SmtpServer) -> None:
    assert email_send(to=["a@example.com"], subject="s", body="b",
                      headers={"Message-ID": "<fixed-1@kopeck.test>"}) == "<fixed-1@kopeck.test>"
    assert mail_configured.messages[0]["Message-ID"] == "<fixed-1@kopeck.test>"


@pytest.mark.django_db
def test_email_is_refused_when_mail_is_not_configured(smtp_server: SmtpServer, actor: Actor) -> None:
    with pytest.raises(EmailNotSent) as info:
        email_send(to=["a@example.com"], subject="s", body="b")
    assert str(info.value) == "Mail is not configured: sending is disabled in the mail settings."
    assert smtp_server.messages == []


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("to", "error"),
    [
        ([], "Give at least one recipient address (a list)."),
        ("a@example.com", "Give at least one recipient address (a list)."),
        (["not an address"], "Not an e-mail address: 'not an address'."),
    ],
)
def test_unusable_recipients_are_refused(mail_configured: SmtpServer, to: Any, error: str) -> None:
    with pytest.raises(EmailNotSent) as info:
        email_send(to=to, subject="s", body="b")
    assert str(info.value) == error
    assert mail_configured.messages == []


@pytest.mark.django_db
def test_a_subject_with_a_line_break_is_refused(mail_configured: SmtpServer) -> None:
    with pytest.raises(EmailNotSent) as info:
        email_send(to=["a@example.com"], subject="Hi\nBcc: victim@example.com", body="b")
    assert "BadHeaderError" in str(info.value)
    assert mail_configured.messages == []


@pytest.mark.django_db
def test_smtp_down_raises_email_not_sent(mail_configured: SmtpServer, actor: Actor) -> None:
    port = free_port()  # nothing listens there
    mail_settings_update(actor=actor, port=port, timeout=2)
    with pytest.raises(EmailNotSent) as info:
        email_send(to=["a@example.com"], subject="s", body="b")
    assert str(info.value).startswith(f"The e-mail was not sent via 127.0.0.1:{port}: ConnectionRefusedError:")


# -- the outbox topic email.send -----------------------------------------------------------------


def test_email_send_has_a_handler() -> None:
    handler = get_handler("email.send")
    assert handler is not None
    assert handler.__module__ == "kopeck.notifications.handlers"


@pytest.mark.django_db
def test_email_send_through_the_outbox(mail_configured: SmtpServer, clock: FixedClock) -> None:
    with transaction.atomic():
        queued = email_enqueue(to=["client@example.com"], subject="Оплата получена", body="Спасибо за оплату.",
                               html="<p>Спасибо!</p>", key="payment-9-receipt")
        assert mail_configured.messages == []  # nothing is sent inside the caller's transaction
    assert queued.payload == {"to": ["client@example.com"], "subject": "Оплата получена",
                              "body": "Спасибо за оплату.", "html": "<p>Спасибо!</p>"}
    assert mail_configured.messages == []
    assert outbox_deliver() == {"delivered": 1, "failed": 0, "dead": 0}
    (message,) = mail_configured.messages
    assert message["Subject"] == "Оплата получена"
    assert message["To"] == "client@example.com"
    assert message["Message-ID"] == f"<kopeck-outbox-{queued.pk}-20261125090000@kopeck.test>"
    assert message.get_body(preferencelist=("plain",)).get_content() == "Спасибо за оплату."
    queued.refresh_from_db()
    assert (queued.status, queued.attempts, queued.delivered_at) == (MessageStatus.DELIVERED, 1, START)


@pytest.mark.django_db
def test_a_repeated_delivery_carries_the_same_message_id(mail_configured: SmtpServer, clock: FixedClock) -> None:
    with transaction.atomic():
        queued = email_enqueue(to=["client@example.com"], subject="s", body="b")
    handler = get_handler("email.send")
    assert handler is not None
    handler(queued)
    handler(queued)  # at least once: e.g. the deliverer crashed after sending
    first, second = mail_configured.messages
    assert first["Message-ID"] == second["Message-ID"] == f"<kopeck-outbox-{queued.pk}-20261125090000@kopeck.test>"


@pytest.mark.django_db
def test_smtp_down_leaves_the_email_pending_with_the_error(mail_configured: SmtpServer, clock: FixedClock,
                                                           actor: Actor) -> None:
    port = free_port()
    mail_settings_update(actor=actor, port=port, timeout=2)
    with transaction.atomic():
        queued = email_enqueue(to=["client@example.com"], subject="s", body="b")
    assert outbox_deliver() == {"delivered": 0, "failed": 1, "dead": 0}
    queued.refresh_from_db()
    assert (queued.status, queued.attempts, queued.available_at) == (
        MessageStatus.PENDING, 1, START + dt.timedelta(minutes=1))
    assert queued.last_error.startswith(
        f"EmailNotSent: The e-mail was not sent via 127.0.0.1:{port}: ConnectionRefusedError:")
    # the server is back: the next due attempt sends it
    mail_settings_update(actor=actor, port=mail_configured.port)
    clock.advance(dt.timedelta(minutes=1))
    assert outbox_deliver() == {"delivered": 1, "failed": 0, "dead": 0}
    assert len(mail_configured.messages) == 1


@pytest.mark.django_db
def test_a_malformed_email_payload_fails_clearly(mail_configured: SmtpServer, clock: FixedClock) -> None:
    with transaction.atomic():
        from kopeck.outbox.services import outbox_enqueue

        queued = outbox_enqueue(topic="email.send", payload={"to": "a@example.com", "subject": "s", "body": "b"})
    assert outbox_deliver() == {"delivered": 0, "failed": 1, "dead": 0}
    queued.refresh_from_db()
    assert queued.last_error == "ValueError: email.send: payload 'to' must be a list of addresses."
    assert OutboxMessage.objects.get().status == MessageStatus.PENDING
    assert mail_configured.messages == []
