"""Writes of notifications: e-mail queued through the outbox."""

from __future__ import annotations

from kopeck.outbox.models import OutboxMessage
from kopeck.outbox.services import outbox_enqueue


def email_enqueue(*, to: list[str], subject: str, body: str, html: str | None = None,
                  key: str | None = None) -> OutboxMessage:
    """Queue one e-mail without attachments (outbox topic ``email.send``) in the caller's
    transaction; it is sent after the commit. ``key`` deduplicates (see ``outbox_enqueue``)."""
    payload: dict[str, object] = {"to": list(to), "subject": subject, "body": body}
    if html is not None:
        payload["html"] = html
    return outbox_enqueue(topic="email.send", payload=payload, key=key)
