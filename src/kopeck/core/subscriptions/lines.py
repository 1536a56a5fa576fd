"""A billed line: one charge or credit of a subscription's billing, as a typed value.

This is what crosses the apps' boundaries — from subscriptions (which bill) to billing runs (which
keep what they billed, per subscription) and to documents (which put the charges on an invoice or
an act) — instead of string-keyed dicts. Its JSON form (:meth:`BilledLine.as_dict`) is what run
items store and the API answers; :meth:`BilledLine.from_dict` reads it back (lines stored before a
field existed get its default: the component's code for its name, no VAT rate, prices with VAT).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kopeck.core.explain import Explanation
from kopeck.core.money import Money, money_sum
from kopeck.core.periods import Period
from kopeck.core.subscriptions.actions import Credit
from kopeck.core.subscriptions.billing import VAT, DueCharge, Line
from kopeck.core.vat import VatRate

CHARGE = "charge"
CREDIT = "credit"


def _explanation(data: Mapping[str, Any] | None) -> Explanation:
    data = data or {}
    return Explanation(str(data.get("ru", "")), str(data.get("en", "")), str(data.get("formula", "")))


def _period(data: Mapping[str, Any]) -> Period:
    return Period(dt.date.fromisoformat(data["start"]), dt.date.fromisoformat(data["end"]))


@dataclass(frozen=True, slots=True)
class BilledLine:
    """One charge (``kind="charge"``) or credit (``"credit"``) of a subscription: the component
    (code and name), the piece of service it is for (``period``, end exclusive) within its billing
    period, the amount posted (gross: with VAT on top included), the VAT rate it carries and
    whether prices include VAT, its explanation and price lines."""

    kind: str
    component: str
    name_ru: str
    name_en: str
    plan: str
    period: Period
    billing_period: Period
    due: dt.date
    amount: Money
    vat_rate: VatRate | None
    prices_include_vat: bool
    explanation: Explanation
    lines: tuple[Line, ...] = ()

    @property
    def is_credit(self) -> bool:
        return self.kind == CREDIT

    @property
    def signed(self) -> Money:
        """The amount as the client's debt moves: charges positive, credits negative."""
        return -self.amount if self.is_credit else self.amount

    @property
    def key(self) -> tuple[str, str]:
        """(component, period start ISO date): how a line of a run item is named."""
        return (self.component, self.period.start.isoformat())

    @property
    def vat_on_top(self) -> Money:
        return money_sum((ln.amount for ln in self.lines if ln.code == VAT), self.amount.currency)

    @property
    def price(self) -> Money:
        """The amount before VAT on top (gross when prices include VAT)."""
        return self.amount - self.vat_on_top

    @classmethod
    def of(cls, item: DueCharge | Credit) -> BilledLine:
        if isinstance(item, Credit):
            return cls(CREDIT, item.component, item.component, item.component, "", item.unused, item.slot,
                       item.unused.start, item.amount, None, True, item.explanation)
        return cls(CHARGE, item.component, item.name[0] or item.component, item.name[1] or item.component, item.plan,
                   item.period, item.billing_period, item.due, item.amount, item.vat_rate, item.prices_include_vat,
                   item.explanation, item.lines)

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "plan": self.plan, "component": self.component,
                "name": {"ru": self.name_ru, "en": self.name_en}, "period": self.period.to_dict(),
                "billing_period": self.billing_period.to_dict(), "due": self.due.isoformat(),
                "amount": self.amount.to_str(), "currency": self.amount.currency.code,
                "vat_rate": None if self.vat_rate is None else self.vat_rate.value,
                "prices_include_vat": self.prices_include_vat, "explanation": self.explanation.as_dict(),
                "lines": [ln.as_dict() for ln in self.lines]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], currency: str) -> BilledLine:
        cur = str(data.get("currency") or currency)
        name = data.get("name") or {}
        component = str(data.get("component", ""))
        rate = data.get("vat_rate")
        return cls(
            kind=str(data.get("kind", CHARGE)), component=component, name_ru=str(name.get("ru") or component),
            name_en=str(name.get("en") or component), plan=str(data.get("plan", "")), period=_period(data["period"]),
            billing_period=_period(data.get("billing_period") or data["period"]),
            due=dt.date.fromisoformat(data.get("due") or data["period"]["start"]), amount=Money(data["amount"], cur),
            vat_rate=None if rate in (None, "") else VatRate.parse(str(rate)),
            prices_include_vat=bool(data.get("prices_include_vat", True)),
            explanation=_explanation(data.get("explanation")),
            lines=tuple(Line(str(ln.get("code", "")), Money(ln["amount"], cur), _explanation(ln.get("explanation")))
                        for ln in data.get("lines") or ()))
