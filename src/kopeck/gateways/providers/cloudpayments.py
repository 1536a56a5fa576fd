"""CloudPayments. Check / Pay / Fail / Confirm / Refund / Recurrent / Cancel notifications (one URL
each) are verified by ``Content-HMAC`` = base64(HMAC-SHA256(raw body, API secret)), compared in
constant time, and answered ``{"code":0}`` (Check may refuse: 10 unknown order, 11 unknown account,
12 wrong amount, 13 cannot be accepted, 20 expired). Payments are taken by the widget; saved cards
are charged with ``payments/tokens/charge``; the offset receipt of a prepayment is ``kkt/receipt`` (type
Income, paid by ``advancePayment``, ``X-Request-ID`` for idempotence). Options: ``public_id``, ``api_url``,
``inn`` (the cash register owner's ИНН, else the setting's legal entity's); credentials: ``api_secret``."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import urllib.parse
from decimal import Decimal, InvalidOperation
from typing import Any

import httpx

from kopeck.core.money import Money
from kopeck.gateways import messages as m
from kopeck.gateways.providers.base import (
    Answer,
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
    same,
)
from kopeck.gateways.receipts import Receipt, for_cloudpayments, for_cloudpayments_final

API_URL = "https://api.cloudpayments.ru"
KINDS = ("check", "pay", "fail", "confirm", "refund", "recurrent", "cancel")
_CHECK_CODES = {"unknown_order": 10, "amount": 12, "currency": 12, "replay": 20}
_STATUS = {"Completed": "succeeded", "Authorized": "authorized", "Declined": "failed", "Cancelled": "canceled",
           "AwaitingAuthentication": "pending"}


def content_hmac(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def _api(cfg: Config, path: str, body: dict[str, Any], *, request_id: str = "") -> dict[str, Any]:
    url = str(cfg.option("api_url", API_URL)).rstrip("/") + path
    headers = {"X-Request-ID": request_id} if request_id else {}
    try:
        res = httpx.post(url, json=body, auth=(str(cfg.option("public_id")), cfg.secret("api_secret")),
                         headers=headers, timeout=10)
        res.raise_for_status()
        data = res.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise ProviderError(m.CALL_FAILED % {"provider": "CloudPayments", "call": path, "error": exc}) from exc
    if not isinstance(data, dict):
        raise ProviderError(m.CALL_UNEXPECTED % {"provider": "CloudPayments", "call": path})
    return data


def _truthy(value: Any) -> bool:
    return str(value).strip().lower() in ("1", "true", "yes")


def _saved(model: dict[str, Any]) -> SavedToken | None:
    token = model.get("Token")
    if not token:
        return None
    kind = model.get("CardType") or "card"
    return SavedToken(token=str(token), title=f"{kind} •••• {model.get('CardLastFour') or '????'}")


def _remote(model: dict[str, Any]) -> Remote:
    return Remote(provider_payment_id=str(model.get("TransactionId") or ""),
                  status=_STATUS.get(str(model.get("Status")), "pending"),
                  amount=Decimal(str(model["Amount"])) if model.get("Amount") is not None else None,
                  currency=str(model.get("Currency") or ""), order_id=str(model.get("InvoiceId") or ""),
                  is_test=_truthy(model.get("TestMode")), saved=_saved(model),
                  detail=str(model.get("CardHolderMessage") or model.get("Reason") or ""))


class CloudPayments(Provider):
    code = "cloudpayments"
    fiscalises = True
    saves_methods = True

    def _data(self, order: Order) -> dict[str, Any]:
        data: dict[str, Any] = {}
        if order.receipt is not None:
            data["CloudPayments"] = {"CustomerReceipt": for_cloudpayments(order.receipt)}
        return data

    def create(self, cfg: Config, order: Order) -> Created:
        widget = {"publicId": cfg.option("public_id"), "description": order.description,
                  "amount": float(order.amount.amount), "currency": order.amount.currency.code,
                  "invoiceId": order.order_id, "accountId": str(order.client_id), "email": order.email,
                  "skin": "classic", "data": self._data(order)}
        return Created(widget=widget, status="pending")

    def verify(self, cfg: Config, incoming: Incoming) -> Verified:
        if incoming.kind not in KINDS:
            raise Refused("malformed", m.UNKNOWN_KIND % {"provider": "CloudPayments", "kind": repr(incoming.kind)})
        given = incoming.header("content-hmac")
        if not given or not same(content_hmac(cfg.secret("api_secret"), incoming.body), given):
            raise Refused("signature", m.CLOUDPAYMENTS_SIGNATURE)
        try:
            text = incoming.body.decode("utf-8")
            if text.lstrip().startswith("{"):
                fields = json.loads(text)
            else:
                fields = dict(urllib.parse.parse_qsl(text, keep_blank_values=True, strict_parsing=True))
            txn = str(fields["TransactionId"])
            amount = Decimal(str(fields["Amount"]))
            currency = str(fields["Currency"])
            stamp = str(fields.get("DateTime") or "")
            occurred = dt.datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S").replace(tzinfo=dt.UTC) if stamp else None
        except (UnicodeDecodeError, ValueError, KeyError, TypeError, InvalidOperation) as exc:
            raise Refused("malformed", m.NOT_A_NOTIFICATION % {"provider": "CloudPayments", "error": exc}) from exc
        status = str(fields.get("Status") or "")
        outcome = {"check": "check", "pay": "paid" if status != "Authorized" else "authorized", "fail": "failed",
                   "confirm": "paid", "refund": "refunded"}.get(incoming.kind, "other")
        return Verified(transaction_id=txn, event=incoming.kind, order_id=str(fields.get("InvoiceId") or ""),
                        outcome=outcome, amount=amount, currency=currency, is_test=_truthy(fields.get("TestMode")),
                        occurred_at=occurred, provider_payment_id=txn,
                        saved=_saved(fields) if incoming.kind == "pay" else None)

    def answer(self, cfg: Config, incoming: Incoming, verified: Verified | None, verdict: str, reason: str) -> Answer:
        if verdict == "refused" and reason in ("signature", "malformed"):
            return Answer(400, json.dumps({"code": 13}), "application/json")
        code = 0
        if incoming.kind == "check" and verdict == "refused":
            code = _CHECK_CODES.get(reason, 13)
        return Answer(200, json.dumps({"code": code}), "application/json")

    def fetch(self, cfg: Config, provider_payment_id: str, order_id: str) -> Remote:
        if provider_payment_id:
            data = _api(cfg, "/payments/get", {"TransactionId": int(provider_payment_id)})
        else:
            data = _api(cfg, "/payments/find", {"InvoiceId": order_id})
        if not data.get("Success") and not data.get("Model"):
            raise Refused("not_found", str(data.get("Message") or m.KNOWS_NO_SUCH_PAYMENT % {
                "provider": "CloudPayments"}))
        return _remote(data.get("Model") or {})

    def refund(self, cfg: Config, provider_payment_id: str, amount: Money, key: str,
               receipt: Receipt | None = None) -> str:
        data = _api(cfg, "/payments/refund", {"TransactionId": int(provider_payment_id),
                                              "Amount": float(amount.amount)})
        if not data.get("Success"):
            raise Declined(str(data.get("Message") or m.PROVIDER_REFUSED))
        return str((data.get("Model") or {}).get("TransactionId") or provider_payment_id)

    def charge_saved(self, cfg: Config, order: Order, token: str) -> Remote:
        body = {"Amount": float(order.amount.amount), "Currency": order.amount.currency.code,
                "AccountId": str(order.client_id), "Token": token, "InvoiceId": order.order_id,
                "Description": order.description, "Email": order.email, "JsonData": self._data(order)}
        data = _api(cfg, "/payments/tokens/charge", body)
        model = data.get("Model") or {}
        if not data.get("Success"):
            raise Declined(str(model.get("CardHolderMessage") or data.get("Message") or m.CHARGE_DECLINED),
                           provider_payment_id=str(model.get("TransactionId") or ""))
        return _remote(model)

    def final_receipt(self, cfg: Config, provider_payment_id: str, receipt: Receipt, key: str) -> str:
        inn = str(cfg.option("inn"))
        if not inn:
            raise Declined(m.CASH_REGISTER_INN)
        data = _api(cfg, "/kkt/receipt", {"Inn": inn, "Type": "Income",
                                          "CustomerReceipt": for_cloudpayments_final(receipt)}, request_id=key)
        if not data.get("Success"):
            raise Declined(str(data.get("Message") or m.PROVIDER_REFUSED))
        return str((data.get("Model") or {}).get("Id") or key)
