"""Secrets stored encrypted at rest (webhook signing secrets, later gateway keys): Fernet
(AES-128-CBC with HMAC-SHA256, from ``cryptography``) under a key derived from
``KOPECK_ENCRYPTION_KEY`` — or, when that is not set, from the Django secret key. Changing the key
makes stored secrets unreadable: keep it with the database's backups."""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.utils.translation import gettext as _


class SecretUnreadable(Exception):
    """A stored secret cannot be decrypted with the current key."""


def _fernet() -> Fernet:
    material = getattr(settings, "KOPECK_ENCRYPTION_KEY", "") or settings.SECRET_KEY
    key = hashlib.sha256(b"kopeck-secrets\x00" + material.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(key))


def encrypt(plain: str) -> str:
    return _fernet().encrypt(plain.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise SecretUnreadable(_("The secret cannot be decrypted with the current KOPECK_ENCRYPTION_KEY.")) from exc
