"""Sending e-mail over SMTP with the mail settings (Settings → Mail settings).

Callers that change data send mail through the outbox (topic ``email.send`` for plain
notifications, see :mod:`kopeck.notifications.handlers`, or their own topic for mail with
attachments); :func:`email_send` itself is what a handler calls.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Sequence
from email.utils import formataddr, make_msgid, parseaddr

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.validators import validate_email

from kopeck.configuration.models import MailSecurity, MailSettings
from kopeck.configuration.selectors import mail_settings

SMTP_BACKEND = "django.core.mail.backends.smtp.EmailBackend"


class EmailNotSent(Exception):
    """The e-mail was not sent: mail is not configured, the input is unusable, or SMTP failed."""


class MailNotConfigured(EmailNotSent):
    """Sending is off, or the mail settings lack a server or a sender: nothing was tried. A caller that
    can wait (a document's e-mail) records it and sends once the settings are complete."""


def mail_configured() -> bool:
    """Whether outgoing mail is on and has what it needs (a server and a sender)."""
    try:
        _configured()
    except MailNotConfigured:
        return False
    return True


def _domain(settings: MailSettings) -> str:
    return settings.from_email.rpartition("@")[2] or "kopeck.localhost"


def message_id(settings: MailSettings | None = None, *, idstring: str | None = None) -> str:
    """A Message-ID in the sender's domain (``<…@domain>``); with ``idstring`` it is stable for the
    same string (used to make a repeated delivery recognisable as the same message)."""
    settings = settings or mail_settings()
    if idstring is not None:
        return f"<{idstring}@{_domain(settings)}>"
    return make_msgid(domain=_domain(settings))


def _configured() -> MailSettings:
    settings = mail_settings()
    if not settings.enabled:
        raise MailNotConfigured("Mail is not configured: sending is disabled in the mail settings.")
    missing = [name for name in ("host", "from_email") if not getattr(settings, name)]
    if missing:
        raise MailNotConfigured(f"Mail is not configured: the mail settings lack {', '.join(missing)}.")
    return settings


def email_send(
    *,
    to: list[str],
    subject: str,
    body: str,
    html: str | None = None,
    attachments: Sequence[tuple[str, bytes, str]] = (),
    headers: dict[str, str] | None = None,
) -> str:
    """Send one e-mail (plain text ``body``, optional ``html`` alternative, attachments as
    ``(file name, content, MIME type)``; recipients as ``addr`` or ``Name <addr>``) over SMTP; return its Message-ID. A ``Message-ID`` in
    ``headers`` is used as given. Raises :class:`EmailNotSent` when mail is not configured, the
    input is unusable, or the SMTP server cannot be reached or refuses the message."""
    settings = _configured()
    if isinstance(to, str) or not to:
        raise EmailNotSent("Give at least one recipient address (a list).")
    for address in to:
        _name, bare = parseaddr(address) if isinstance(address, str) else ("", "")
        try:
            validate_email(bare)
        except DjangoValidationError as exc:
            raise EmailNotSent(f"Not an e-mail address: {address!r}.") from exc
    extra = dict(headers or {})
    msgid = extra.pop("Message-ID", None) or message_id(settings)
    connection = get_connection(
        SMTP_BACKEND,
        fail_silently=False,
        host=settings.host,
        port=settings.port,
        username=settings.username,
        password=settings.password,
        use_tls=settings.security == MailSecurity.STARTTLS,
        use_ssl=settings.security == MailSecurity.SSL,
        timeout=settings.timeout,
    )
    sender = formataddr((settings.from_name, settings.from_email)) if settings.from_name else settings.from_email
    email = EmailMultiAlternatives(subject=subject, body=body, from_email=sender, to=list(to),
                                   headers={**extra, "Message-ID": msgid}, connection=connection)
    if html is not None:
        email.attach_alternative(html, "text/html")
    for filename, content, mimetype in attachments:
        email.attach(filename, content, mimetype)
    try:
        sent = email.send(fail_silently=False)
    except (smtplib.SMTPException, ssl.SSLError, OSError, ValueError) as exc:
        raise EmailNotSent(
            f"The e-mail was not sent via {settings.host}:{settings.port}: {type(exc).__name__}: {exc}") from exc
    if sent != 1:
        raise EmailNotSent(f"The e-mail was not sent via {settings.host}:{settings.port}.")
    return msgid
