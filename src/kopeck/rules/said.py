"""What the engine logs, in every language: a message is English text with named placeholders (a
translation catalogue's msgid) and its parameters. :class:`Said` is a ``str`` — the English text, which
the API and the English pages show — that keeps both, so the execution log can store them and the back
office can say the same in the operator's language (:func:`say`). Status codes among the parameters
(``client_status…``, ``sub_status…``) and block reasons (``block_reason…``) are shown by their names,
Jinja's names of tokens (``token…``, quoted as Jinja quotes them) as the operator types them («}}»)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.utils.translation import gettext

from kopeck.common.jinja_syntax import token_shown


class Said(str):
    """English text made from ``msgid % params``, keeping ``msgid`` and ``params``."""

    msgid: str
    params: dict[str, Any]

    def __new__(cls, msgid: str, **params: Any) -> Said:
        self = super().__new__(cls, msgid % params if params else msgid)
        self.msgid, self.params = msgid, params
        return self

    def as_json(self) -> dict[str, Any]:
        return {"text": self.msgid, "params": self.params}


def said_of(value: object) -> dict[str, Any] | None:
    return value.as_json() if isinstance(value, Said) else None


def _shown(name: str, value: Any) -> Any:
    if not isinstance(value, str):
        return value
    if name.startswith("token"):
        return token_shown(value)
    if name.startswith("client_status"):
        from kopeck.clients.models import ClientStatus

        return str(ClientStatus(value).label).lower() if value in ClientStatus.values else value
    if name.startswith("block_reason"):
        from kopeck.credit.models import BlockReason

        return str(BlockReason(value).label).lower() if value in BlockReason.values else value
    if name.startswith("sub_status"):
        from kopeck.subscriptions.models import SubscriptionStatus

        return str(SubscriptionStatus(value).label).lower() if value in SubscriptionStatus.values else value
    return value


def say(stored: Mapping[str, Any] | None, fallback: str) -> str:
    """A stored message (:meth:`Said.as_json`) in the active language; ``fallback`` (the English text)
    when there is none or it cannot be filled."""
    if not isinstance(stored, Mapping) or not isinstance(stored.get("text"), str):
        return fallback
    params = stored.get("params") or {}
    try:
        return gettext(stored["text"]) % {k: _shown(k, v) for k, v in params.items()} if params \
            else gettext(stored["text"])
    except (KeyError, TypeError, ValueError):
        return fallback


def told(message: str) -> str:
    """``message`` in the active language: a :class:`Said` is translated from its msgid and parameters,
    any other text is returned as it is (a refusal translated already, or text of no catalogue)."""
    return say(said_of(message), str(message))
