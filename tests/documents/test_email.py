"""E-mail delivery through the outbox to a real SMTP server on loopback: the PDF attached is the
cached PDF; failures are recorded and retried."""

from __future__ import annotations

from typing import Any

import pytest

from kopeck.clients.models import Client, Contact, ContactKind
from kopeck.common.actor import Actor
from kopeck.documents import services
from kopeck.documents.models import DeliveryStatus, DocumentDelivery, DocumentPdf, LegalEntity
from kopeck.outbox.services import outbox_deliver
from tests.documents.test_services import draft
from tests.smtp import SmtpServer

pytestmark = pytest.mark.django_db


def test_an_issued_document_arrives_with_its_pdf(entity: LegalEntity, buyer: Client, actor: Actor,
                                                 mail_configured: SmtpServer) -> None:
    Contact.objects.create(client=buyer, kind=ContactKind.EMAIL, value="director@romashka.example")
    Contact.objects.create(client=buyer, kind=ContactKind.EMAIL, value="no-docs@romashka.example",
                           receives_documents=False)
    doc = services.document_issue(actor=actor, document=draft(actor, buyer))
    assert outbox_deliver(limit=100) == {"delivered": 3, "failed": 0, "dead": 0}
    messages = mail_configured.wait_for(2)
    assert sorted(m["To"] for m in messages) == ["buh@romashka.example", "director@romashka.example"]
    cached = bytes(DocumentPdf.objects.get(document=doc).content)
    for message in messages:
        # a long non-ASCII subject is folded by Django as "Subject:\n =?utf-8?…": parsers keep a leading space
        assert message["Subject"].strip() == "Счёт на оплату № 1 от 25.11.2026 — ООО «Копейка»"
        (attachment,) = list(message.iter_attachments())
        assert attachment.get_filename() == "invoice-1.pdf"
        assert attachment.get_content_type() == "application/pdf"
        assert attachment.get_content() == cached
    deliveries = DocumentDelivery.objects.filter(document=doc).order_by("id")
    assert [(d.recipient, d.status, d.attempts) for d in deliveries] == [
        ("buh@romashka.example", DeliveryStatus.SENT, 1), ("director@romashka.example", DeliveryStatus.SENT, 1)]
    assert all(d.message_id and d.sent_at and d.outbox_message_id for d in deliveries)
    # delivered at least once: a repeat of a sent delivery sends nothing
    from kopeck.documents.handlers import send_email
    from kopeck.outbox.models import OutboxMessage

    send_email(OutboxMessage.objects.get(pk=deliveries[0].outbox_message_id))
    assert len(mail_configured.messages) == 2


def test_resend_and_a_failure_is_recorded(entity: LegalEntity, buyer: Client, actor: Actor,
                                          mail_configured: SmtpServer, monkeypatch: pytest.MonkeyPatch) -> None:
    doc = services.document_issue(actor=actor, document=draft(actor, buyer))
    from kopeck.notifications import email

    def broken(**kwargs: Any) -> str:
        raise email.EmailNotSent("SMTP server refused")

    monkeypatch.setattr(email, "email_send", broken)
    assert outbox_deliver(limit=100)["failed"] == 1
    delivery = DocumentDelivery.objects.get(document=doc)
    assert (delivery.status, delivery.attempts, delivery.error) == (
        DeliveryStatus.FAILED, 1, "EmailNotSent: SMTP server refused")
    monkeypatch.undo()
    (extra,) = services.document_resend(actor=actor, document=doc, recipients=["other@example.org"])
    assert outbox_deliver(limit=100)["delivered"] == 1
    assert [m["To"] for m in mail_configured.wait_for(1)] == ["other@example.org"]
    extra.refresh_from_db()
    assert extra.status == DeliveryStatus.SENT


def test_no_email_when_sending_is_off(entity: LegalEntity, buyer: Client, actor: Actor) -> None:
    services.document_settings_update(actor=actor, send_by_email=False)
    services.document_issue(actor=actor, document=draft(actor, buyer))
    assert DocumentDelivery.objects.count() == 0


def test_with_mail_not_configured_the_email_waits_quietly_and_goes_once_configured(
        entity: LegalEntity, buyer: Client, actor: Actor, smtp_server: SmtpServer,
        caplog: pytest.LogCaptureFixture) -> None:
    """Documents are issued; their e-mail waits with the status "mail not configured": no retry, no
    traceback, the outbox message is done. Once mail is configured, the waiting e-mails are sent."""
    from kopeck.configuration.services import mail_settings_update
    from kopeck.outbox.models import MessageStatus, OutboxMessage
    from tests.smtp import SENDER, SENDER_NAME

    doc = services.document_issue(actor=actor, document=draft(actor, buyer))
    with caplog.at_level("WARNING"):
        assert outbox_deliver(limit=100) == {"delivered": 2, "failed": 0, "dead": 0}  # the PDF and the e-mail
    assert caplog.records == []  # nothing logged, no traceback
    delivery = DocumentDelivery.objects.get(document=doc)
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.NO_MAIL, 0)
    assert "Mail is not configured" in delivery.error
    assert OutboxMessage.objects.get(pk=delivery.outbox_message_id).status == MessageStatus.DELIVERED
    assert outbox_deliver(limit=100) == {"delivered": 0, "failed": 0, "dead": 0}  # nothing is retried
    assert services.documents_deliveries_resume() == 0  # still not configured: it keeps waiting
    assert DocumentDelivery.objects.get(pk=delivery.pk).status == DeliveryStatus.NO_MAIL

    mail_settings_update(actor=Actor.system("tests"), enabled=True, host=smtp_server.host, port=smtp_server.port,
                         security="none", username="", password="", from_email=SENDER, from_name=SENDER_NAME,
                         timeout=5)
    assert services.documents_deliveries_resume() == 1
    assert DocumentDelivery.objects.get(pk=delivery.pk).status == DeliveryStatus.QUEUED
    assert outbox_deliver(limit=100) == {"delivered": 1, "failed": 0, "dead": 0}
    (message,) = smtp_server.wait_for(1)
    assert message["To"] == "buh@romashka.example"
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.error) == (DeliveryStatus.SENT, 1, "")
    assert services.documents_deliveries_resume() == 0  # sent: nothing waits
