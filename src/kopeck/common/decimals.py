"""The core's plain decimal grammar (:func:`kopeck.core.money.decimal_text_problem`) refused in the active
language: the core says why in English; the services that show it to a person say it through here."""

from __future__ import annotations

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from kopeck.core.money import DECIMAL_TEXT_MAX, decimal_text_problem


def decimal_text_refusal(value: object) -> str | None:
    """Why ``value`` (a text) is not a plain decimal, in the active language; None when it is one, or is
    not a text (the caller says what it expected instead)."""
    if not isinstance(value, str) or decimal_text_problem(value) is None:
        return None
    if len(value) > DECIMAL_TEXT_MAX:
        return ngettext("at most %(count)d character", "at most %(count)d characters", DECIMAL_TEXT_MAX) % {
            "count": DECIMAL_TEXT_MAX}
    return _('not a plain decimal such as "1500.00": %(text)r') % {"text": value}
