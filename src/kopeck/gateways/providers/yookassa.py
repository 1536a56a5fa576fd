"""ЮKassa through the official ``yookassa`` SDK. Notifications carry no signature: the sender's
address is checked against the published ranges (option ``ip_ranges``, default the SDK's list) when
the notification is received, and the object is re-fetched through the API by the settlement worker
(:meth:`YooKassa.confirm`) — only the fetched object counts. Every POST carries an
``Idempotence-Key``. Options: ``shop_id``, ``api_url`` (default https://api.yookassa.ru/v3),
``ip_ranges``, ``two_stage``; credentials: ``secret_key``."""

from __future__ import annotations

import ipaddress
import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any, TypeVar

from yookassa import Configuration, Payment, Refund  # type: ignore[import-untyped]
from yookassa import Receipt as ReceiptApi
from yookassa.domain.common.security_helper import SecurityHelper  # type: ignore[import-untyped]
from yookassa.domain.exceptions import ApiError, NotFoundError  # type: ignore[import-untyped]

from kopeck.core.money import Money
from kopeck.gateways import messages as m
from kopeck.gateways.providers.base import (
    Config,
    Created,
    Declined,
    Incoming,
    Order,
    Provider,
    ProviderError,
    Refused,
    Remote,
    SavedToken,
    Verified,
    amount_text,
)
from kopeck.gateways.receipts import Receipt, for_yookassa, for_yookassa_final

DEFAULT_API_URL = "https://api.yookassa.ru/v3"
_STATUS = {"pending": "pending", "waiting_for_capture": "authorized", "succeeded": "succeeded",
           "canceled": "canceled"}
_OUTCOME = {"payment.succeeded": "paid", "payment.waiting_for_capture": "authorized",
            "payment.canceled": "failed", "refund.succeeded": "refunded"}
# the SDK's configuration is global: one call at a time, configured for its shop
_lock = threading.Lock()
T = TypeVar("T")


@contextmanager
def _configured(cfg: Config) -> Iterator[None]:
    with _lock:
        Configuration.configure(str(cfg.option("shop_id")), cfg.secret("secret_key"),
                                api_url=str(cfg.option("api_url", DEFAULT_API_URL)).rstrip("/"), timeout=10_000,
                                max_attempts=1)
        try:
            yield
        finally:
            Configuration.configure("", "", api_url=DEFAULT_API_URL)


def _call(cfg: Config, fn: Callable[[], T]) -> T:
    try:
        with _configured(cfg):
            return fn()
    except NotFoundError:
        raise
    except ApiError as exc:
        raise ProviderError(m.CALL_ANSWERED % {"provider": "ЮKassa", "call": "API",
                                               "code": getattr(exc, "HTTP_CODE", ""), "error": exc}) from exc
    except Exception as exc:  # requests' connection errors, the SDK's AttributeError on no response
        raise ProviderError(m.CALL_FAILED % {"provider": "ЮKassa", "call": "API", "error": exc}) from exc


def _attr(obj: Any, *path: str) -> Any:
    for name in path:
        if obj is None:
            return None
        obj = obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)
    return obj


def _saved(obj: Any) -> SavedToken | None:
    method = _attr(obj, "payment_method")
    if not method or not _attr(method, "saved"):
        return None
    card = _attr(method, "card")
    last4 = _attr(card, "last4")
    kind = _attr(card, "card_type") or _attr(method, "type") or "card"
    title = f"{kind} •••• {last4}" if last4 else str(_attr(method, "title") or kind)
    return SavedToken(token=str(_attr(method, "id")), title=title)


def _remote(obj: Any) -> Remote:
    amount = _attr(obj, "amount", "value")
    return Remote(provider_payment_id=str(_attr(obj, "id")), status=_STATUS.get(str(_attr(obj, "status")), "pending"),
                  amount=Decimal(str(amount)) if amount is not None else None,
                  currency=str(_attr(obj, "amount", "currency") or ""),
                  order_id=str(_attr(obj, "metadata", "order_id") or ""), is_test=bool(_attr(obj, "test")),
                  saved=_saved(obj), detail=str(_attr(obj, "cancellation_details", "reason") or ""))


def _allowed(cfg: Config, addr: str) -> bool:
    ranges = cfg.option("ip_ranges", SecurityHelper.YOOKASSA_NETWORKS)
    try:
        ip = ipaddress.ip_address(addr)
        return any(ip in ipaddress.ip_network(str(net), strict=False) for net in ranges)
    except ValueError:
        return False


class YooKassa(Provider):
    code = "yookassa"
    fiscalises = True
    saves_methods = True

    def _body(self, cfg: Config, order: Order) -> dict[str, Any]:
        body: dict[str, Any] = {
            "amount": {"value": amount_text(order.amount), "currency": order.amount.currency.code},
            "capture": not bool(cfg.option("two_stage", False)),
            "description": order.description[:128],
            "metadata": {"order_id": order.order_id},
        }
        if order.receipt is not None:
            body["receipt"] = for_yookassa(order.receipt)
        return body

    def create(self, cfg: Config, order: Order) -> Created:
        body = self._body(cfg, order)
        body["confirmation"] = {"type": "redirect", "return_url": order.return_url or "https://example.invalid/"}
        if order.save_method:
            body["save_payment_method"] = True
        res = _call(cfg, lambda: Payment.create(body, order.idempotence_key))
        return Created(provider_payment_id=str(res.id), redirect_url=str(_attr(res, "confirmation", "confirmation_url")
                                                                          or ""),
                       status=_STATUS.get(str(res.status), "pending"))

    def charge_saved(self, cfg: Config, order: Order, token: str) -> Remote:
        body = self._body(cfg, order)
        body["capture"] = True
        body["payment_method_id"] = token
        res = _call(cfg, lambda: Payment.create(body, order.idempotence_key))
        remote = _remote(res)
        if remote.status == "canceled":
            raise Declined(remote.detail or m.PAYMENT_CANCELED, provider_payment_id=remote.provider_payment_id)
        return remote

    def fetch(self, cfg: Config, provider_payment_id: str, order_id: str) -> Remote:
        try:
            return _remote(_call(cfg, lambda: Payment.find_one(provider_payment_id)))
        except NotFoundError as exc:
            raise Refused("not_found", m.KNOWS_NO_PAYMENT % {"provider": "ЮKassa", "id": provider_payment_id}) from exc

    def refund(self, cfg: Config, provider_payment_id: str, amount: Money, key: str,
               receipt: Receipt | None = None) -> str:
        body: dict[str, Any] = {"payment_id": provider_payment_id,
                                "amount": {"value": amount_text(amount), "currency": amount.currency.code}}
        if receipt is not None:
            body["receipt"] = for_yookassa(receipt)
        res = _call(cfg, lambda: Refund.create(body, key))
        if str(res.status) == "canceled":
            raise Declined(str(_attr(res, "cancellation_details", "reason") or m.REFUND_CANCELED))
        return str(res.id)

    def final_receipt(self, cfg: Config, provider_payment_id: str, receipt: Receipt, key: str) -> str:
        body = for_yookassa_final(receipt, payment_id=provider_payment_id)
        return str(_call(cfg, lambda: ReceiptApi.create(body, key)).id)

    def verify(self, cfg: Config, incoming: Incoming) -> Verified:
        if not _allowed(cfg, incoming.remote_addr):
            raise Refused("ip", m.NOT_IN_RANGES % {"address": incoming.remote_addr, "provider": "ЮKassa"})
        try:
            data = json.loads(incoming.body)
            event = str(data["event"])
            obj = data["object"]
            object_id = str(obj["id"])
        except (ValueError, KeyError, TypeError) as exc:
            raise Refused("malformed", m.NOT_A_NOTIFICATION % {"provider": "ЮKassa", "error": exc}) from exc
        if event.startswith("refund."):
            return Verified(transaction_id=object_id, event=event, order_id="", outcome="other",
                            provider_payment_id=str(obj.get("payment_id") or ""))
        if not event.startswith("payment."):
            return Verified(transaction_id=object_id, event=event, order_id="", outcome="other")
        # the body proves nothing: the object as ЮKassa's API returns it is what counts — fetched by the
        # settlement worker (confirm), so ЮKassa is answered at once and a slow API delays no answer
        return Verified(transaction_id=object_id, event=event, order_id="", outcome="deferred",
                        provider_payment_id=object_id)

    def confirm(self, cfg: Config, verified: Verified) -> Verified:
        remote = self.fetch(cfg, verified.provider_payment_id, "")
        outcome = {"succeeded": "paid", "authorized": "authorized", "canceled": "failed"}.get(remote.status, "other")
        return Verified(transaction_id=verified.transaction_id, event=verified.event, order_id=remote.order_id,
                        outcome=outcome, amount=remote.amount, currency=remote.currency, is_test=remote.is_test,
                        provider_payment_id=verified.provider_payment_id, saved=remote.saved)
