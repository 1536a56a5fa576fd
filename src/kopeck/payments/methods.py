"""The registry of payment methods: ``manual`` (entered by an operator), ``bank`` (a bank statement),
and every method another app adds — a payment gateway registers its own code in its
``AppConfig.ready()``::

    from kopeck.payments.methods import register_method
    register_method("yookassa", _("YooKassa"), gateway=True)

A payment's ``method`` is a plain string checked against this registry by ``payment_record`` (no
database choices, so a new method needs no migration). A ``gateway`` method's money goes through the
ledger's gateway clearing account instead of cash. A method whose money went to a card through a
provider registers ``refund``: ``payment_refund`` hands a refund of such a payment to it, so the money
goes back through the provider, never only in the books."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from kopeck.common.actor import Actor
    from kopeck.payments.models import Payment, Refund


class RefundHandler(Protocol):
    """Returns the money of ``payment`` through its provider and then records the refund in the books
    (``payment_refund`` with the provider's refund id as ``external_id``); raises a KopeckError, having
    changed nothing in the books, when the provider refuses or cannot be asked."""

    def __call__(self, *, actor: Actor, payment: Payment, amount: object, reason: str,
                 date: dt.date | None) -> Refund: ...


@dataclass(frozen=True)
class PaymentMethod:
    code: str
    label: str | Promise
    gateway: bool = False
    refund: RefundHandler | None = None


_METHODS: dict[str, PaymentMethod] = {}


def register_method(code: str, label: str | Promise, *, gateway: bool = False,
                    refund: RefundHandler | None = None) -> PaymentMethod:
    """Add (or replace) a method; ``code`` is lower-case letters, digits and ``_`` (at most 30)."""
    if not code or len(code) > 30 or not code.replace("_", "a").isalnum() or code != code.lower():
        raise ValueError(f"A payment method code is lower-case letters, digits and _: {code!r}")
    method = PaymentMethod(code, label, gateway, refund)
    _METHODS[code] = method
    return method


def method_get(code: str) -> PaymentMethod | None:
    return _METHODS.get(code)


def methods() -> list[PaymentMethod]:
    return sorted(_METHODS.values(), key=lambda m: m.code)


def method_label(code: str) -> str:
    method = _METHODS.get(code)
    return str(method.label) if method else code


MANUAL = register_method("manual", _("Entered by hand"))
BANK = register_method("bank", _("Bank transfer"))
