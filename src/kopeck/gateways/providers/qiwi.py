"""Qiwi P2P bills — shipped disabled: the Bank of Russia revoked QIWI Bank's licence on 21 February
2024 and the service stopped. Kept for the record and for anyone with a surviving contract: bills by
``PUT /partner/bill/v1/bills/{billId}``, notifications signed by ``X-Api-Signature-SHA256`` =
HMAC-SHA256(secret, ``amount.currency|amount.value|billId|siteId|status.value``). Options: ``api_url``,
``site_id``; credentials: ``secret_key``."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from decimal import Decimal, InvalidOperation
from typing import Any

import httpx
from django.utils.translation import gettext_lazy

from kopeck.gateways import messages as m
from kopeck.gateways.providers.base import (
    Answer,
    Config,
    Created,
    Incoming,
    Order,
    Provider,
    ProviderError,
    Refused,
    Remote,
    Verified,
    amount_text,
    same,
)

API_URL = "https://api.qiwi.com"
LICENCE_NOTE = gettext_lazy("QIWI Bank lost its licence on 21 February 2024 (Bank of Russia order); Qiwi "
                            "payments do not work. The integration is kept disabled.")
_STATUS = {"WAITING": "pending", "PAID": "succeeded", "REJECTED": "canceled", "EXPIRED": "canceled"}


def signature(secret: str, bill: dict[str, Any]) -> str:
    base = "|".join([str(bill["amount"]["currency"]), str(bill["amount"]["value"]), str(bill["billId"]),
                     str(bill["siteId"]), str(bill["status"]["value"])])
    return hmac.new(secret.encode(), base.encode(), hashlib.sha256).hexdigest()


def _call(cfg: Config, method: str, bill_id: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    url = str(cfg.option("api_url", API_URL)).rstrip("/") + f"/partner/bill/v1/bills/{bill_id}"
    try:
        res = httpx.request(method, url, json=body, timeout=10,
                            headers={"Authorization": f"Bearer {cfg.secret('secret_key')}", "Accept": "application/json"})
    except httpx.HTTPError as exc:
        raise ProviderError(m.CALL_FAILED % {"provider": "Qiwi", "call": "/partner/bill/v1/bills", "error": exc}) \
            from exc
    if res.status_code == 404:
        raise Refused("not_found", m.KNOWS_NO_PAYMENT % {"provider": "Qiwi", "id": bill_id})
    if res.status_code >= 300:
        raise ProviderError(m.CALL_ANSWERED % {"provider": "Qiwi", "call": "/partner/bill/v1/bills",
                                               "code": res.status_code, "error": res.text[:200]})
    data = res.json()
    return data if isinstance(data, dict) else {}


class Qiwi(Provider):
    code = "qiwi"
    disabled_reason = LICENCE_NOTE

    def create(self, cfg: Config, order: Order) -> Created:
        from kopeck.common.clock import now

        expires = (now() + dt.timedelta(days=3)).strftime("%Y-%m-%dT%H:%M:%S+00:00")
        data = _call(cfg, "PUT", order.order_id, {
            "amount": {"currency": order.amount.currency.code, "value": amount_text(order.amount)},
            "comment": order.description[:255], "expirationDateTime": expires})
        return Created(provider_payment_id=order.order_id, redirect_url=str(data.get("payUrl") or ""))

    def fetch(self, cfg: Config, provider_payment_id: str, order_id: str) -> Remote:
        bill = _call(cfg, "GET", order_id or provider_payment_id)
        return Remote(provider_payment_id=str(bill.get("billId")),
                      status=_STATUS.get(str((bill.get("status") or {}).get("value")), "pending"),
                      amount=Decimal(str(bill["amount"]["value"])), currency=str(bill["amount"]["currency"]),
                      order_id=str(bill.get("billId")))

    def verify(self, cfg: Config, incoming: Incoming) -> Verified:
        try:
            bill = json.loads(incoming.body)["bill"]
            expected = signature(cfg.secret("secret_key"), bill)
            amount = Decimal(str(bill["amount"]["value"]))
            status = str(bill["status"]["value"])
        except (ValueError, KeyError, TypeError, InvalidOperation) as exc:
            raise Refused("malformed", m.NOT_A_NOTIFICATION % {"provider": "Qiwi", "error": exc}) from exc
        if not same(expected, incoming.header("x-api-signature-sha256").lower()):
            raise Refused("signature", m.QIWI_SIGNATURE)
        outcome = {"PAID": "paid", "REJECTED": "failed", "EXPIRED": "failed"}.get(status, "other")
        return Verified(transaction_id=f"{bill['billId']}:{status}", event=status, order_id=str(bill["billId"]),
                        outcome=outcome, amount=amount, currency=str(bill["amount"]["currency"]),
                        provider_payment_id=str(bill["billId"]))

    def answer(self, cfg: Config, incoming: Incoming, verified: Verified | None, verdict: str, reason: str) -> Answer:
        if verdict == "refused" and reason in ("signature", "malformed"):
            return Answer(400, json.dumps({"error": "1"}), "application/json")
        return Answer(200, json.dumps({"error": "0"}), "application/json")
