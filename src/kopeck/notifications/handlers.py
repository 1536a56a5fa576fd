"""Outbox handlers of notifications.

``email.send``: payload ``{"to": [addresses], "subject": str, "body": str, "html": str (optional)}`` —
one e-mail without attachments. At least once: a repeat after a crash carries the same Message-ID
(derived from the outbox message), so mail systems and people can recognise the duplicate.
"""

from __future__ import annotations

from kopeck.notifications.email import email_send, message_id
from kopeck.outbox.models import OutboxMessage
from kopeck.outbox.registry import handler

EMAIL_SEND = "email.send"


@handler(EMAIL_SEND)
def email_send_handler(message: OutboxMessage) -> None:
    payload = message.payload
    to = payload.get("to")
    if not isinstance(to, list) or not all(isinstance(a, str) for a in to):
        raise ValueError("email.send: payload 'to' must be a list of addresses.")
    html = payload.get("html")
    email_send(
        to=to,
        subject=str(payload.get("subject", "")),
        body=str(payload.get("body", "")),
        html=None if html is None else str(html),
        headers={"Message-ID": message_id(idstring=f"kopeck-outbox-{message.pk}-{message.created_at:%Y%m%d%H%M%S}")},
    )
