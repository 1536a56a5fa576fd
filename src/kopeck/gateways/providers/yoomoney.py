"""ЮMoney quickpay (a wallet's payment form). The HTTP notification is verified by ``sha1_hash`` =
SHA-1 of ``notification_type&operation_id&amount&currency&datetime&sender&codepro&notification_secret&label``;
a payment under a protection code (``codepro=true``) or not yet accepted (``unaccepted=true``) is
refused. ЮMoney redelivers three times (now, +10 min, +1 h) until HTTP 200. The payer's payment is
``withdraw_amount`` (``amount`` is what the wallet received after the fee). There is no status API for
quickpay: reconciliation cannot fetch these payments. Options: ``receiver`` (the wallet), ``form_url``,
``payment_type`` (AC card, PC wallet); credentials: ``notification_secret``."""

from __future__ import annotations

import datetime as dt
import hashlib
import urllib.parse
from decimal import Decimal, InvalidOperation

from kopeck.gateways import messages as m
from kopeck.gateways.providers.base import (
    Config,
    Created,
    Incoming,
    Order,
    Provider,
    Refused,
    Verified,
    amount_text,
    same,
)

FORM_URL = "https://yoomoney.ru/quickpay/confirm"
_FIELDS = ("notification_type", "operation_id", "amount", "currency", "datetime", "sender", "codepro")


def sha1_hash(fields: dict[str, str], secret: str) -> str:
    parts = [fields.get(name, "") for name in _FIELDS] + [secret, fields.get("label", "")]
    return hashlib.sha1("&".join(parts).encode()).hexdigest()  # noqa: S324  (the provider's scheme)


class YooMoney(Provider):
    code = "yoomoney"

    def create(self, cfg: Config, order: Order) -> Created:
        fields = {"receiver": str(cfg.option("receiver")), "quickpay-form": "button",
                  "paymentType": str(cfg.option("payment_type", "AC")), "sum": amount_text(order.amount),
                  "label": order.order_id, "targets": order.description[:150]}
        if order.return_url:
            fields["successURL"] = order.return_url
        url = str(cfg.option("form_url", FORM_URL))
        return Created(redirect_url=url + "?" + urllib.parse.urlencode(fields),
                       widget={"action": url, "method": "POST", "fields": fields})

    def verify(self, cfg: Config, incoming: Incoming) -> Verified:
        try:
            text = incoming.body.decode("utf-8")
            fields = dict(urllib.parse.parse_qsl(text, keep_blank_values=True, strict_parsing=True))
            given = fields["sha1_hash"]
            txn = fields["operation_id"]
        except (UnicodeDecodeError, ValueError, KeyError) as exc:
            raise Refused("malformed", m.NOT_A_NOTIFICATION % {"provider": "ЮMoney", "error": exc}) from exc
        if not same(sha1_hash(fields, cfg.secret("notification_secret")), given.lower()):
            raise Refused("signature", m.YOOMONEY_SIGNATURE, transaction_id=txn)
        if fields.get("codepro", "false") != "false":
            raise Refused("protection", m.PROTECTED, transaction_id=txn)
        if fields.get("unaccepted", "false") == "true":
            raise Refused("unaccepted", m.UNACCEPTED, transaction_id=txn)
        try:
            amount = Decimal(fields.get("withdraw_amount") or fields["amount"])
            occurred = dt.datetime.fromisoformat(fields["datetime"].replace("Z", "+00:00"))
        except (KeyError, ValueError, InvalidOperation) as exc:
            raise Refused("malformed", m.BAD_AMOUNT_OR_DATE % {"error": exc}, transaction_id=txn) from exc
        currency = "RUB" if fields.get("currency") == "643" else fields.get("currency", "")
        return Verified(transaction_id=txn, event=fields.get("notification_type", ""), order_id=fields.get("label", ""),
                        outcome="paid", amount=amount, currency=currency,
                        is_test=fields.get("test_notification", "false") == "true", occurred_at=occurred,
                        provider_payment_id=txn)
