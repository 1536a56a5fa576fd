"""What subscriptions need from the apps above them, as small ports.

Usage (events and meter readings) sits above subscriptions in the layers: it validates events
against subscriptions. Billing asks it for a subscription's metered usage through
:class:`UsageReader`, which ``kopeck.usage`` registers when Django starts (``UsageConfig.ready``).
Without it (an installation without the usage app) every metered quantity is zero."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Protocol

from kopeck.core.periods import Period
from kopeck.core.pricing.plan import PlanSpec
from kopeck.core.pricing.usage import Usage
from kopeck.core.subscriptions import UsageSource

if TYPE_CHECKING:
    from kopeck.subscriptions.models import Subscription


class UsageBatch(Protocol):
    """The usage of many subscriptions read at once (billing runs): ``expect`` each metered
    component's likely window, ``load``, then ``source`` per subscription."""

    def expect(self, sub: Subscription, spec: PlanSpec, component: str, since: dt.date, until: dt.date) -> None: ...

    def load(self) -> None: ...

    def source(self, sub: Subscription, spec: PlanSpec) -> UsageSource: ...


class UsageReader(Protocol):
    def stored(self, sub: Subscription, *, spec: PlanSpec | None = None, zone_name: str | None = None) -> UsageSource:
        """The stored usage of ``sub``: ``(component code, service period) → Usage``."""

    def batch(self, zone_name: str) -> UsageBatch:
        """A reader of many subscriptions' usage at once."""


def _no_usage(component: str, period: Period) -> Usage:
    return Usage.of_quantity(0)


class _NoUsage:
    def expect(self, sub: Subscription, spec: PlanSpec, component: str, since: dt.date, until: dt.date) -> None:
        return None

    def load(self) -> None:
        return None

    def source(self, sub: Subscription, spec: PlanSpec) -> UsageSource:
        return _no_usage

    def stored(self, sub: Subscription, *, spec: PlanSpec | None = None, zone_name: str | None = None) -> UsageSource:
        return _no_usage

    def batch(self, zone_name: str) -> UsageBatch:
        return self


_reader: UsageReader = _NoUsage()


def register_usage_reader(reader: UsageReader) -> None:
    global _reader
    _reader = reader


def stored_usage(sub: Subscription, *, spec: PlanSpec | None = None, zone_name: str | None = None) -> UsageSource:
    return _reader.stored(sub, spec=spec, zone_name=zone_name)


def usage_batch(zone_name: str) -> UsageBatch:
    return _reader.batch(zone_name)
