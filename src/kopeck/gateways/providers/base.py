"""The gateway port: what Kopeck asks of a payment provider. One module per provider implements
:class:`Provider`; kopeck.gateways.services is the only caller. Providers never touch the database:
they get a :class:`Config` (options and decrypted credentials) and values, and return values."""

from __future__ import annotations

import datetime as dt
import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, ClassVar

from django.utils.functional import Promise

from kopeck.core.money import Money
from kopeck.gateways.receipts import Receipt


class Refused(Exception):
    """A notification that cannot be taken: ``reason`` is a kopeck.gateways.models.Reason value."""

    def __init__(self, reason: str, detail: str = "", *, transaction_id: str = "", order_id: str = "") -> None:
        super().__init__(detail or reason)
        self.reason = reason
        self.detail = detail
        self.transaction_id = transaction_id
        self.order_id = order_id


class ProviderError(Exception):
    """The provider could not be reached or answered with an error (the call may be retried)."""


class Declined(Exception):
    """The provider declined a charge (a saved method): ``detail`` says why, in the provider's words."""

    def __init__(self, detail: str, *, provider_payment_id: str = "") -> None:
        super().__init__(detail)
        self.detail = detail
        self.provider_payment_id = provider_payment_id


@dataclass(frozen=True)
class Config:
    setting_id: int
    is_live: bool
    options: Mapping[str, Any]
    credentials: Mapping[str, str]

    def option(self, name: str, default: Any = "") -> Any:
        value = self.options.get(name)
        return default if value in (None, "") else value

    def secret(self, name: str) -> str:
        return str(self.credentials.get(name) or "")


@dataclass(frozen=True)
class Order:
    """What a provider needs to take one payment (Kopeck's own record, GatewayPayment)."""

    order_id: str
    amount: Money
    description: str
    number: int = 0  # the record's id: for providers wanting a numeric invoice id (Robokassa's InvId)
    return_url: str = ""
    client_id: int = 0
    email: str = ""
    phone: str = ""
    receipt: Receipt | None = None
    save_method: bool = False
    idempotence_key: str = ""


@dataclass(frozen=True)
class SavedToken:
    token: str
    title: str


@dataclass(frozen=True)
class Created:
    """Where to send the payer: a redirect URL, or the parameters of the provider's widget/form."""

    provider_payment_id: str = ""
    redirect_url: str = ""
    widget: dict[str, Any] = field(default_factory=dict)
    status: str = "pending"


@dataclass(frozen=True)
class Remote:
    """A payment as the provider reports it (an API fetch, a charge of a saved method)."""

    provider_payment_id: str
    status: str  # a PaymentStatus value
    amount: Decimal | None = None
    currency: str = ""
    order_id: str = ""
    is_test: bool = False
    saved: SavedToken | None = None
    detail: str = ""


@dataclass(frozen=True)
class Incoming:
    """A notification as received over HTTP."""

    kind: str
    body: bytes
    headers: Mapping[str, str]  # lower-case names
    remote_addr: str
    content_type: str = ""

    def header(self, name: str) -> str:
        return self.headers.get(name.lower(), "")


@dataclass(frozen=True)
class Verified:
    """A notification whose origin was proven. ``outcome``: paid, authorized, failed, refunded, check,
    other (recorded, nothing to do), or ``deferred``: the provider's scheme finishes the proof later
    (:meth:`Provider.confirm`, run by the settlement worker — ЮKassa's re-fetch)."""

    transaction_id: str
    event: str
    order_id: str
    outcome: str
    amount: Decimal | None = None
    currency: str = ""
    is_test: bool = False
    occurred_at: dt.datetime | None = None
    provider_payment_id: str = ""
    saved: SavedToken | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Answer:
    status: int = 200
    body: str = ""
    content_type: str = "text/plain; charset=utf-8"


class Provider:
    """The port. Unsupported operations raise NotImplementedError (the service turns it into a clear
    refusal)."""

    code: ClassVar[str]
    fiscalises: ClassVar[bool] = False
    saves_methods: ClassVar[bool] = False
    disabled_reason: ClassVar[str | Promise] = ""  # why the provider is shipped disabled (translatable)

    def create(self, cfg: Config, order: Order) -> Created:
        raise NotImplementedError

    def verify(self, cfg: Config, incoming: Incoming) -> Verified:
        raise NotImplementedError

    def confirm(self, cfg: Config, verified: Verified) -> Verified:
        """Finish a ``deferred`` verification (the settlement worker calls it, outside any lock): the
        facts as the provider's API states them. Raises :class:`Refused` / :class:`ProviderError`."""
        return verified

    def answer(self, cfg: Config, incoming: Incoming, verified: Verified | None, verdict: str,
               reason: str) -> Answer:
        """What the provider expects back. Default: 200 once the notification is stored and decided
        (so it stops redelivering), 400 for what could not be verified."""
        if verdict == "refused" and reason in ("signature", "malformed", "ip"):
            return Answer(400, "refused")
        return Answer(200, "OK")

    def fetch(self, cfg: Config, provider_payment_id: str, order_id: str) -> Remote:
        raise NotImplementedError

    def refund(self, cfg: Config, provider_payment_id: str, amount: Money, key: str,
               receipt: Receipt | None = None) -> str:
        raise NotImplementedError

    def charge_saved(self, cfg: Config, order: Order, token: str) -> Remote:
        raise NotImplementedError

    def final_receipt(self, cfg: Config, provider_payment_id: str, receipt: Receipt, key: str) -> str:
        """Send the second, final receipt (``full_payment``) of a prepaid payment; the receipt's id."""
        raise NotImplementedError


def same(a: str, b: str) -> bool:
    """Constant-time comparison of two signatures (case-insensitive hex is lower-cased by callers)."""
    return hmac.compare_digest(a.encode(), b.encode())


def amount_text(money: Money) -> str:
    """The amount as providers write it: dot, two decimals (``100.00``)."""
    return f"{money.amount.quantize(Decimal('0.01')):f}"
