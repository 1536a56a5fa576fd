"""PayPal, REST Orders v2 (for providers with a foreign legal entity: PayPal has not served Russia since
March 2022). An order is created with ``PayPal-Request-Id`` and the payer approves it; webhooks are
verified with ``POST /v1/notifications/verify-webhook-signature`` (the ``PAYPAL-*`` transmission headers,
the setting's ``webhook_id``), and an approved order is captured server to server. Options:
``api_url`` (sandbox https://api-m.sandbox.paypal.com, live https://api-m.paypal.com), ``webhook_id``;
credentials: ``client_id``, ``client_secret``."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal, InvalidOperation
from typing import Any

import httpx

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
    Verified,
    amount_text,
)
from kopeck.gateways.receipts import Receipt

SANDBOX = "https://api-m.sandbox.paypal.com"
LIVE = "https://api-m.paypal.com"
_STATUS = {"CREATED": "pending", "SAVED": "pending", "APPROVED": "authorized", "PAYER_ACTION_REQUIRED": "pending",
           "COMPLETED": "succeeded", "VOIDED": "canceled"}


def _base(cfg: Config) -> str:
    return str(cfg.option("api_url", LIVE if cfg.is_live else SANDBOX)).rstrip("/")


def _token(cfg: Config) -> str:
    try:
        res = httpx.post(_base(cfg) + "/v1/oauth2/token", data={"grant_type": "client_credentials"},
                         auth=(cfg.secret("client_id"), cfg.secret("client_secret")), timeout=10)
        res.raise_for_status()
        return str(res.json()["access_token"])
    except (httpx.HTTPError, ValueError, KeyError) as exc:
        raise ProviderError(m.CALL_FAILED % {"provider": "PayPal", "call": "/v1/oauth2/token", "error": exc}) from exc


def _call(cfg: Config, method: str, path: str, body: dict[str, Any] | None = None,
          request_id: str = "") -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {_token(cfg)}"}
    if request_id:
        headers["PayPal-Request-Id"] = request_id
    try:
        res = httpx.request(method, _base(cfg) + path, json=body, headers=headers, timeout=10)
    except httpx.HTTPError as exc:
        raise ProviderError(m.CALL_FAILED % {"provider": "PayPal", "call": path, "error": exc}) from exc
    if res.status_code == 404:
        raise Refused("not_found", m.KNOWS_NO_PAYMENT % {"provider": "PayPal", "id": path})
    if res.status_code == 422:
        raise Declined(res.text[:300])
    if res.status_code >= 300:
        raise ProviderError(m.CALL_ANSWERED % {"provider": "PayPal", "call": path, "code": res.status_code,
                                               "error": res.text[:300]})
    data = res.json()
    return data if isinstance(data, dict) else {}


def _unit(order: dict[str, Any]) -> dict[str, Any]:
    units = order.get("purchase_units") or [{}]
    return units[0] if isinstance(units[0], dict) else {}


def _remote(order: dict[str, Any]) -> Remote:
    unit = _unit(order)
    captures = ((unit.get("payments") or {}).get("captures")) or []
    capture = captures[0] if captures else {}
    amount = capture.get("amount") or unit.get("amount") or {}
    status = _STATUS.get(str(order.get("status")), "pending")
    if capture and capture.get("status") == "DECLINED":
        status = "failed"
    return Remote(provider_payment_id=str(order.get("id") or ""), status=status,
                  amount=Decimal(str(amount["value"])) if amount.get("value") else None,
                  currency=str(amount.get("currency_code") or ""),
                  order_id=str(capture.get("invoice_id") or unit.get("invoice_id") or ""))


class PayPal(Provider):
    code = "paypal"

    def create(self, cfg: Config, order: Order) -> Created:
        body = {"intent": "CAPTURE",
                "purchase_units": [{"invoice_id": order.order_id, "custom_id": order.order_id,
                                    "description": order.description[:127],
                                    "amount": {"currency_code": order.amount.currency.code,
                                               "value": amount_text(order.amount)}}],
                "application_context": {"return_url": order.return_url or "https://example.invalid/",
                                        "user_action": "PAY_NOW"}}
        data = _call(cfg, "POST", "/v2/checkout/orders", body, request_id=order.idempotence_key)
        approve = next((link["href"] for link in data.get("links", []) if link.get("rel") in ("approve", "payer-action")),
                       "")
        return Created(provider_payment_id=str(data.get("id")), redirect_url=approve, status="pending")

    def fetch(self, cfg: Config, provider_payment_id: str, order_id: str) -> Remote:
        remote = _remote(_call(cfg, "GET", f"/v2/checkout/orders/{provider_payment_id}"))
        if remote.status == "authorized":  # approved by the payer: capture it (idempotent by the order id)
            remote = _remote(_call(cfg, "POST", f"/v2/checkout/orders/{provider_payment_id}/capture", {},
                                   request_id=f"capture-{provider_payment_id}"))
        return remote

    def refund(self, cfg: Config, provider_payment_id: str, amount: Money, key: str,
               receipt: Receipt | None = None) -> str:
        order = _call(cfg, "GET", f"/v2/checkout/orders/{provider_payment_id}")
        captures = ((_unit(order).get("payments") or {}).get("captures")) or []
        if not captures:
            raise Declined(m.NO_CAPTURE)
        data = _call(cfg, "POST", f"/v2/payments/captures/{captures[0]['id']}/refund",
                     {"amount": {"value": amount_text(amount), "currency_code": amount.currency.code}}, request_id=key)
        return str(data.get("id"))

    def verify(self, cfg: Config, incoming: Incoming) -> Verified:
        try:
            event = json.loads(incoming.body)
            event_type = str(event["event_type"])
            resource = event["resource"]
            stamp = incoming.header("paypal-transmission-time")
            occurred = dt.datetime.fromisoformat(stamp.replace("Z", "+00:00")) if stamp else None
        except (ValueError, KeyError, TypeError) as exc:
            raise Refused("malformed", m.NOT_A_NOTIFICATION % {"provider": "PayPal", "error": exc}) from exc
        check = {"auth_algo": incoming.header("paypal-auth-algo"), "cert_url": incoming.header("paypal-cert-url"),
                 "transmission_id": incoming.header("paypal-transmission-id"),
                 "transmission_sig": incoming.header("paypal-transmission-sig"),
                 "transmission_time": stamp, "webhook_id": str(cfg.option("webhook_id")), "webhook_event": event}
        if not all(check.values()):
            raise Refused("signature", m.PAYPAL_HEADERS)
        result = _call(cfg, "POST", "/v1/notifications/verify-webhook-signature", check)
        if result.get("verification_status") != "SUCCESS":
            raise Refused("signature", m.PAYPAL_SAYS % {"status": result.get("verification_status")})
        if event_type == "CHECKOUT.ORDER.APPROVED":
            remote = self.fetch(cfg, str(resource.get("id")), "")  # captures it
            outcome = {"succeeded": "paid", "failed": "failed"}.get(remote.status, "other")
            return Verified(transaction_id=str(event.get("id")), event=event_type, order_id=remote.order_id,
                            outcome=outcome, amount=remote.amount, currency=remote.currency,
                            is_test=not cfg.is_live, occurred_at=occurred, provider_payment_id=remote.provider_payment_id)
        if event_type in ("PAYMENT.CAPTURE.COMPLETED", "PAYMENT.CAPTURE.DENIED"):
            try:
                amount = Decimal(str(resource["amount"]["value"]))
            except (KeyError, TypeError, InvalidOperation) as exc:
                raise Refused("malformed", m.NO_CAPTURE_AMOUNT % {"error": exc}) from exc
            order_ref = ((resource.get("supplementary_data") or {}).get("related_ids") or {}).get("order_id", "")
            return Verified(transaction_id=str(resource.get("id")), event=event_type,
                            order_id=str(resource.get("invoice_id") or resource.get("custom_id") or ""),
                            outcome="paid" if event_type.endswith("COMPLETED") else "failed", amount=amount,
                            currency=str(resource["amount"].get("currency_code") or ""), is_test=not cfg.is_live,
                            occurred_at=occurred, provider_payment_id=str(order_ref))
        return Verified(transaction_id=str(event.get("id")), event=event_type, order_id="", outcome="other",
                        occurred_at=occurred)
