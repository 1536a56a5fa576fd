"""Robokassa. The payment link is signed with Password #1 (``MerchantLogin:OutSum:InvId[:Receipt]:Password#1``
then the ``Shp_`` parameters sorted), ResultURL with Password #2 over the exact ``OutSum`` string
received (``OutSum:InvId:Password#2`` then the sorted ``Shp_``), answered ``OK{InvId}``. ``IsTest=1``
payments are signed with the separate test passwords. Status by the XML interface ``OpStateExt``.
The second (offset) receipt goes to ``RoboFiscal/Receipt/Attach``: base64url(JSON) "." base64url(hex of
hash(base64url(JSON) + Password #1)). Options: ``login``, ``hash`` (md5, sha1, sha256, sha384, sha512,
ripemd160), ``pay_url``, ``xml_url``, ``recurring_url``, ``fiscal_url``, ``site_url``; credentials: ``password1``, ``password2``, ``test_password1``, ``test_password2``."""

from __future__ import annotations

import base64
import hashlib
import json
import urllib.parse
import xml.etree.ElementTree as ET
from decimal import Decimal, InvalidOperation

import httpx

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
    amount_text,
    same,
)
from kopeck.gateways.receipts import Receipt, for_robokassa, for_robokassa_final

PAY_URL = "https://auth.robokassa.ru/Merchant/Index.aspx"
XML_URL = "https://auth.robokassa.ru/Merchant/WebService/Service.asmx"
RECURRING_URL = "https://auth.robokassa.ru/Merchant/Recurring"
FISCAL_URL = "https://ws.roboxchange.com/RoboFiscal/Receipt/Attach"
# The second receipt's own order number (``id``): Robokassa wants an integer from 1 to 2^63 − 1 that is not
# the operation's InvId. InvIds are GatewayPayment ids, far below this base, so ``base + InvId`` never
# meets one and is the same on every retry of the same payment's receipt.
FINAL_RECEIPT_ID_BASE = 10**18
ALGORITHMS = ("md5", "sha1", "sha256", "sha384", "sha512", "ripemd160")
# OpStateExt State/Code: 5 initiated, 10 cancelled, 20 on hold, 50 received, 60 returned, 80 suspended, 100 paid
_STATE = {"5": "pending", "10": "canceled", "20": "authorized", "50": "pending", "60": "canceled",
          "80": "pending", "100": "succeeded"}


def digest(cfg: Config, base: str) -> str:
    algo = str(cfg.option("hash", "md5")).lower()
    if algo not in ALGORITHMS:
        raise ProviderError(m.UNKNOWN_HASH % {"provider": "Robokassa", "algorithm": repr(algo)})
    return hashlib.new(algo, base.encode()).hexdigest()


def _shp(params: dict[str, str]) -> str:
    pairs = sorted((k, v) for k, v in params.items() if k.lower().startswith("shp_"))
    return "".join(f":{k}={v}" for k, v in pairs)


def _password(cfg: Config, number: int, test: bool) -> str:
    return cfg.secret(f"test_password{number}" if test else f"password{number}")


def link_signature(cfg: Config, *, out_sum: str, inv_id: str, receipt: str, shp: dict[str, str], test: bool) -> str:
    parts = [str(cfg.option("login")), out_sum, inv_id]
    if receipt:
        parts.append(receipt)
    parts.append(_password(cfg, 1, test))
    return digest(cfg, ":".join(parts) + _shp(shp))


def result_signature(cfg: Config, *, out_sum: str, inv_id: str, shp: dict[str, str], test: bool) -> str:
    return digest(cfg, f"{out_sum}:{inv_id}:{_password(cfg, 2, test)}" + _shp(shp))


class Robokassa(Provider):
    code = "robokassa"
    fiscalises = True
    saves_methods = True

    def _params(self, cfg: Config, order: Order, inv_id: str) -> dict[str, str]:
        test = not cfg.is_live
        out_sum = amount_text(order.amount)
        receipt = urllib.parse.quote(json.dumps(for_robokassa(order.receipt), ensure_ascii=False)) \
            if order.receipt is not None else ""
        shp = {"Shp_order": order.order_id}
        if order.save_method:
            shp["Shp_recurring"] = "1"
        params = {"MerchantLogin": str(cfg.option("login")), "OutSum": out_sum, "InvId": inv_id,
                  "Description": order.description[:100], "Culture": "ru", **shp}
        if receipt:
            params["Receipt"] = receipt
        if order.email:
            params["Email"] = order.email
        if order.save_method:
            params["Recurring"] = "true"
        if test:
            params["IsTest"] = "1"
        params["SignatureValue"] = link_signature(cfg, out_sum=out_sum, inv_id=inv_id, receipt=receipt, shp=shp,
                                                  test=test)
        return params

    def create(self, cfg: Config, order: Order) -> Created:
        inv_id = str(order.number)  # the numeric InvId: the GatewayPayment's id
        params = self._params(cfg, order, inv_id)
        url = str(cfg.option("pay_url", PAY_URL)) + "?" + urllib.parse.urlencode(params)
        return Created(provider_payment_id=inv_id, redirect_url=url, widget={"action": cfg.option("pay_url", PAY_URL),
                                                                               "method": "POST", "fields": params})

    def verify(self, cfg: Config, incoming: Incoming) -> Verified:
        try:
            text = incoming.body.decode("utf-8")
            fields = dict(urllib.parse.parse_qsl(text, keep_blank_values=True, strict_parsing=bool(text)))
            out_sum, inv_id, given = fields["OutSum"], fields["InvId"], fields["SignatureValue"]
        except (UnicodeDecodeError, ValueError, KeyError) as exc:
            raise Refused("malformed", m.NOT_A_NOTIFICATION % {"provider": "Robokassa", "error": exc}) from exc
        test = fields.get("IsTest", "") == "1"
        expected = result_signature(cfg, out_sum=out_sum, inv_id=inv_id, shp=fields, test=test)
        if not same(expected.lower(), given.lower()):
            raise Refused("signature", m.ROBOKASSA_SIGNATURE, transaction_id=inv_id)
        try:
            amount = Decimal(out_sum)
        except InvalidOperation as exc:
            raise Refused("malformed", m.NOT_AN_AMOUNT % {"field": "OutSum", "value": repr(out_sum)},
                          transaction_id=inv_id) from exc
        saved = SavedToken(token=inv_id, title=f"Robokassa {fields.get('PaymentMethod') or ''} №{inv_id}".strip()) \
            if fields.get("Shp_recurring") == "1" else None
        return Verified(transaction_id=inv_id, event="result", order_id=fields.get("Shp_order", ""), outcome="paid",
                        amount=amount, currency=str(cfg.option("currency", "RUB")), is_test=test,
                        provider_payment_id=inv_id, saved=saved, extra={"inv_id": inv_id})

    def answer(self, cfg: Config, incoming: Incoming, verified: Verified | None, verdict: str, reason: str) -> Answer:
        if verified is not None and verdict in ("accepted", "duplicate"):
            return Answer(200, f"OK{verified.extra['inv_id']}")
        return Answer(400 if reason in ("signature", "malformed") else 200, "bad sign" if reason == "signature"
                      else "refused")

    def fetch(self, cfg: Config, provider_payment_id: str, order_id: str) -> Remote:
        login = str(cfg.option("login"))
        signature = digest(cfg, f"{login}:{provider_payment_id}:{_password(cfg, 2, not cfg.is_live)}")
        url = str(cfg.option("xml_url", XML_URL)).rstrip("/") + "/OpStateExt"
        try:
            res = httpx.get(url, params={"MerchantLogin": login, "InvoiceID": provider_payment_id,
                                         "Signature": signature}, timeout=10)
            res.raise_for_status()
            if b"<!DOCTYPE" in res.content or b"<!ENTITY" in res.content:
                raise ProviderError(m.CALL_DTD % {"provider": "Robokassa", "call": "OpStateExt"})
            root = ET.fromstring(res.content)  # noqa: S314  (no DTD, so no entity expansion)
        except (httpx.HTTPError, ET.ParseError) as exc:
            raise ProviderError(m.CALL_FAILED % {"provider": "Robokassa", "call": "OpStateExt", "error": exc}) from exc

        def find(path: str) -> str:
            node: ET.Element | None = root
            for name in path.split("/"):
                node = next((c for c in node if c.tag.rsplit("}", 1)[-1] == name), None) if node is not None else None
            return (node.text or "").strip() if node is not None else ""

        code = find("Result/Code")
        if code == "3":
            raise Refused("not_found", m.KNOWS_NO_PAYMENT % {"provider": "Robokassa", "id": provider_payment_id})
        if code != "0":
            raise ProviderError(m.CALL_ANSWERED % {"provider": "Robokassa", "call": "OpStateExt", "code": code,
                                                   "error": find("Result/Description")})
        out_sum = find("Info/OutSum")
        return Remote(provider_payment_id=provider_payment_id, status=_STATE.get(find("State/Code"), "pending"),
                      amount=Decimal(out_sum) if out_sum else None, currency=str(cfg.option("currency", "RUB")),
                      order_id=order_id, is_test=not cfg.is_live)

    def charge_saved(self, cfg: Config, order: Order, token: str) -> Remote:
        inv_id = str(order.number)
        params = self._params(cfg, order, inv_id)
        params.pop("Recurring", None)
        params["PreviousInvoiceID"] = token
        try:
            res = httpx.post(str(cfg.option("recurring_url", RECURRING_URL)), data=params, timeout=10)
        except httpx.HTTPError as exc:
            raise ProviderError(m.CALL_FAILED % {"provider": "Robokassa", "call": "Recurring", "error": exc}) from exc
        if res.status_code != 200 or not res.text.startswith("OK"):
            raise ProviderError(m.CALL_ANSWERED % {"provider": "Robokassa", "call": "Recurring",
                                                   "code": res.status_code, "error": res.text[:200]})
        # accepted for processing: the money is credited by ResultURL or the reconciliation job
        return Remote(provider_payment_id=inv_id, status="pending", order_id=order.order_id)

    def final_receipt(self, cfg: Config, provider_payment_id: str, receipt: Receipt, key: str) -> str:
        receipt_id = str(FINAL_RECEIPT_ID_BASE + int(provider_payment_id))
        payload = for_robokassa_final(receipt, merchant=str(cfg.option("login")), receipt_id=receipt_id,
                                      origin_id=provider_payment_id, url=str(cfg.option("site_url", "")))
        body = fiscal_body(cfg, payload)
        try:
            res = httpx.post(str(cfg.option("fiscal_url", FISCAL_URL)), content=body.encode(),
                             headers={"Content-Type": "text/plain"}, timeout=10)
            res.raise_for_status()
            data = res.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise ProviderError(m.CALL_FAILED % {"provider": "Robokassa", "call": "RoboFiscal/Receipt/Attach",
                                                 "error": exc}) from exc
        if str(data.get("ResultCode")) != "0":
            raise Declined(str(data.get("ResultDescription") or m.PROVIDER_REFUSED))
        return str(data.get("OpKey") or receipt_id)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def fiscal_body(cfg: Config, payload: dict[str, object]) -> str:
    """The signed body of Robokassa's fiscal interface (second receipts)."""
    encoded = b64url(json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode())
    signature = b64url(digest(cfg, encoded + _password(cfg, 1, not cfg.is_live)).encode())
    return f"{encoded}.{signature}"
