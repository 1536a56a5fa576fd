"""The webhooks' stored messages (an attempt's error, a delivery's last error, why an endpoint was
disabled, why a URL is refused) told in the operator's language. They are stored in English — the API
shows them as they are — and made of a few fixed forms, recognised here and translated; a network
error is told by its kind (the operating system's own words stay in the API)."""

from __future__ import annotations

import re
from typing import Any

from django.utils.translation import gettext, gettext_noop

NETWORK = {
    "ConnectError": gettext_noop("Could not connect to the endpoint."),
    "ConnectTimeout": gettext_noop("The endpoint did not answer in time."),
    "ReadTimeout": gettext_noop("The endpoint did not answer in time."),
    "WriteTimeout": gettext_noop("The endpoint did not answer in time."),
    "PoolTimeout": gettext_noop("The endpoint did not answer in time."),
    "ReadError": gettext_noop("The connection to the endpoint broke."),
    "WriteError": gettext_noop("The connection to the endpoint broke."),
    "RemoteProtocolError": gettext_noop("The endpoint broke the HTTP protocol."),
    "LocalProtocolError": gettext_noop("The request could not be sent (HTTP protocol)."),
    "ProxyError": gettext_noop("Network error."),
    "UnsupportedProtocol": gettext_noop("Network error."),
    "ConnectionError": gettext_noop("Network error."),
}
PROBLEMS = {
    "a loopback address": gettext_noop("a loopback address"),
    "a link-local address": gettext_noop("a link-local address"),
    "a reserved address": gettext_noop("a reserved address"),
    "a private address": gettext_noop("a private address"),
}
FORMS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^The endpoint answered (?P<code>\d+)\.$"), gettext_noop("The endpoint answered %(code)s.")),
    (re.compile(r"^The host (?P<host>'.*') resolves to (?P<address>\S+), (?P<problem>a [a-z-]+ address): Kopeck does "
                r"not call internal addresses unless the operator allows them \(KOPECK_WEBHOOK_ALLOWED_NETWORKS\)\.$"),
     gettext_noop("The host %(host)s resolves to %(address)s, %(problem)s: Kopeck does not call internal addresses "
                  "unless the operator allows them (KOPECK_WEBHOOK_ALLOWED_NETWORKS).")),
    (re.compile(r"^The host (?P<host>'.*') cannot be resolved \(.*\)\.$"),
     gettext_noop("The host %(host)s cannot be resolved.")),
    (re.compile(r"^The host (?P<host>'.*') has no address\.$"), gettext_noop("The host %(host)s has no address.")),
    (re.compile(r"^No delivery succeeded for (?P<window>.+) \(since (?P<since>.+)\)\.$"),
     gettext_noop("No delivery succeeded for %(window)s (since %(since)s).")),
    (re.compile(r"^Disabled by (?P<actor>.+)\.$"), gettext_noop("Disabled by %(actor)s.")),
]


def _window(value: str) -> str:
    """``3 days, 0:00:00`` (a timedelta as Python writes it) as hours."""
    match = re.fullmatch(r"(?:(\d+) days?, )?(\d+):(\d\d):(\d\d)", value)
    if not match:
        return value
    hours = int(match.group(1) or 0) * 24 + int(match.group(2))
    return gettext("%(hours)s h") % {"hours": hours}


def told(text: str) -> str:
    """``text`` (a stored English message of webhooks) in the active language; as it is when unknown."""
    if not text:
        return text
    kind = text.split(":", 1)[0]
    if kind in NETWORK:
        return gettext(NETWORK[kind])
    for pattern, msgid in FORMS:
        match = pattern.match(text)
        if match:
            params: dict[str, Any] = match.groupdict()
            if "problem" in params:
                params["problem"] = gettext(PROBLEMS.get(params["problem"], params["problem"]))
            if "window" in params:
                params["window"] = _window(params["window"])
            return gettext(msgid) % params
    return gettext(text)
