"""Receipts under 54-ФЗ: the receipt's lines (the invoice's lines), the payment-method sign and the
provider's codes. Pure: no Django, no I/O.

A prepaid period is receipted as ``full_prepayment`` (an invoice paid before the service) and money
with no invoice as ``advance``; a later offset of that advance is ``full_payment``. Prepayment lines
carry the calculated VAT rate (22/122, 10/110…), a full payment the plain rate (22 %, 10 %)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

PREPAYMENT_METHODS = frozenset({"full_prepayment", "prepayment", "advance"})
PAYMENT_METHODS = frozenset({"full_prepayment", "prepayment", "advance", "full_payment", "partial_payment",
                             "credit", "credit_payment"})
TAX_SYSTEMS = ("osn", "usn_income", "usn_income_outcome", "envd", "esn", "patent")
RATES = ("none", "0", "5", "7", "10", "20", "22")

# ЮKassa vat_code (yookassa.ru/developers/54fz/parameters-values): (plain, calculated)
_YOOKASSA_VAT = {"none": (1, 1), "0": (2, 2), "10": (3, 5), "20": (4, 6), "5": (7, 9), "7": (8, 10),
                 "22": (11, 12)}
_YOOKASSA_TAX_SYSTEM = {name: n for n, name in enumerate(TAX_SYSTEMS, start=1)}
# CloudPayments' cash register: taxationSystem 0..5 in the same order; vat as the rate number
_CLOUDPAYMENTS_TAX_SYSTEM = {name: n for n, name in enumerate(TAX_SYSTEMS)}


# the problems of a receipt, in English with their values (told in the operator's language at the Django
# edge: kopeck.gateways.services.receipt_problem; kopeck.gateways.messages.RECEIPT_PROBLEMS lists them)
NO_VAT_CODE = "No receipt VAT code for the rate %(rate)s."
UNKNOWN_METHOD = "Unknown payment method sign %(method)s."
UNKNOWN_TAX_SYSTEM = "Unknown tax system %(tax_system)s."
NO_CONTACT = "A receipt needs the client's e-mail or phone."
NO_LINES = "A receipt needs at least one line."
PROBLEMS = (NO_VAT_CODE, UNKNOWN_METHOD, UNKNOWN_TAX_SYSTEM, NO_CONTACT, NO_LINES)


class ReceiptError(ValueError):
    """A receipt that cannot be made: ``template`` (one of :data:`PROBLEMS`) with its ``params``."""

    def __init__(self, template: str, **params: Any) -> None:
        super().__init__(template % params)
        self.template = template
        self.params = params


@dataclass(frozen=True)
class ReceiptItem:
    name: str
    quantity: Decimal
    price: Decimal  # the unit price with VAT
    amount: Decimal  # the line total with VAT
    vat: str  # one of RATES ("none" when exempt)
    payment_method: str = "full_prepayment"
    payment_subject: str = "service"

    def calculated(self) -> bool:
        return self.payment_method in PREPAYMENT_METHODS


@dataclass(frozen=True)
class Receipt:
    items: tuple[ReceiptItem, ...]
    currency: str
    email: str = ""
    phone: str = ""
    tax_system: str = "osn"

    def total(self) -> Decimal:
        return sum((i.amount for i in self.items), Decimal("0"))


def _rate(value: Any, exempt: bool) -> str:
    text = str(value or "").strip().rstrip("%")
    if exempt or text in ("", "exempt", "none", "без НДС"):
        return "none"
    if text not in RATES:
        raise ReceiptError(NO_VAT_CODE, rate=repr(value))
    return text


def receipt_build(*, lines: Sequence[Mapping[str, Any]], currency: str, payment_method: str, email: str = "",
                  phone: str = "", tax_system: str = "osn", payment_subject: str = "service") -> Receipt:
    """A receipt from document lines (``name``, ``quantity``, ``price``, ``gross``, ``rate``,
    ``exempt`` as kopeck.core.documents writes them)."""
    if payment_method not in PAYMENT_METHODS:
        raise ReceiptError(UNKNOWN_METHOD, method=repr(payment_method))
    if tax_system not in TAX_SYSTEMS:
        raise ReceiptError(UNKNOWN_TAX_SYSTEM, tax_system=repr(tax_system))
    if not (email or phone):
        raise ReceiptError(NO_CONTACT)
    items = tuple(ReceiptItem(
        name=str(ln["name"])[:128], quantity=Decimal(str(ln.get("quantity") or "1")),
        price=Decimal(str(ln.get("price") or ln["gross"])), amount=Decimal(str(ln["gross"])),
        vat=_rate(ln.get("rate"), bool(ln.get("exempt"))), payment_method=payment_method,
        payment_subject=payment_subject) for ln in lines)
    if not items:
        raise ReceiptError(NO_LINES)
    return Receipt(items=items, currency=currency, email=email, phone=phone, tax_system=tax_system)


def receipt_advance(*, amount: Decimal, currency: str, vat: str, email: str = "", phone: str = "",
                    tax_system: str = "osn", name: str = "Предоплата за услуги") -> Receipt:
    """The receipt of money paid with no invoice (a top-up): one ``advance`` line."""
    return receipt_build(lines=[{"name": name, "quantity": "1", "price": str(amount), "gross": str(amount),
                                 "rate": vat, "exempt": vat == "none"}],
                         currency=currency, payment_method="advance", email=email, phone=phone,
                         tax_system=tax_system)


def _money(value: Decimal) -> str:
    return f"{value.quantize(Decimal('0.01')):f}"


def _qty(value: Decimal) -> str:
    text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def yookassa_vat_code(item: ReceiptItem) -> int:
    plain, calculated = _YOOKASSA_VAT[item.vat]
    return calculated if item.calculated() else plain


def for_yookassa(receipt: Receipt) -> dict[str, Any]:
    customer = {k: v for k, v in (("email", receipt.email), ("phone", receipt.phone)) if v}
    return {
        "customer": customer,
        "tax_system_code": _YOOKASSA_TAX_SYSTEM[receipt.tax_system],
        "items": [{"description": i.name, "quantity": _qty(i.quantity),
                   "amount": {"value": _money(i.price), "currency": receipt.currency},
                   "vat_code": yookassa_vat_code(i), "payment_mode": i.payment_method,
                   "payment_subject": i.payment_subject} for i in receipt.items],
    }


def robokassa_tax(item: ReceiptItem) -> str:
    if item.vat == "none":
        return "none"
    if item.vat == "0":
        return "vat0"
    return f"vat1{item.vat.zfill(2)}" if item.calculated() else f"vat{item.vat}"


def for_robokassa(receipt: Receipt) -> dict[str, Any]:
    return {"sno": receipt.tax_system,
            "items": [{"name": i.name, "quantity": float(i.quantity), "sum": float(i.amount), "tax": robokassa_tax(i),
                       "payment_method": i.payment_method, "payment_object": i.payment_subject}
                      for i in receipt.items]}


def cloudpayments_vat(item: ReceiptItem) -> int | None:
    if item.vat == "none":
        return None
    if item.vat == "0":
        return 0
    return int(f"1{item.vat.zfill(2)}") if item.calculated() else int(item.vat)


_CP_METHOD = {"full_prepayment": 1, "prepayment": 2, "advance": 3, "full_payment": 4, "partial_payment": 5,
              "credit": 6, "credit_payment": 7}
_CP_OBJECT = {"commodity": 1, "service": 4, "payment": 10}


def for_cloudpayments(receipt: Receipt) -> dict[str, Any]:
    return {"Items": [{"label": i.name, "price": float(i.price), "quantity": float(i.quantity),
                       "amount": float(i.amount), "vat": cloudpayments_vat(i),
                       "method": _CP_METHOD[i.payment_method], "object": _CP_OBJECT.get(i.payment_subject, 4)}
                      for i in receipt.items],
            "taxationSystem": _CLOUDPAYMENTS_TAX_SYSTEM[receipt.tax_system],
            "email": receipt.email, "phone": receipt.phone, "isBso": False,
            "amounts": {"electronic": float(receipt.total())}}


def for_yookassa_final(receipt: Receipt, *, payment_id: str) -> dict[str, Any]:
    """ЮKassa's second receipt (``POST /receipts``): the service delivered against the prepayment of
    ``payment_id`` — items ``full_payment`` at the plain rate, the settlement is the prepayment."""
    body = for_yookassa(receipt)
    body.update({"type": "payment", "payment_id": payment_id, "send": True,
                 "settlements": [{"type": "prepayment", "amount": {"value": _money(receipt.total()),
                                                                    "currency": receipt.currency}}]})
    return body


def _vat_in(item: ReceiptItem) -> Decimal:
    """The VAT inside a line's total: total × rate / (100 + rate), half-up to kopecks (none, 0: zero)."""
    if item.vat in ("none", "0"):
        return Decimal("0.00")
    rate = Decimal(item.vat)
    return (item.amount * rate / (100 + rate)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def for_robokassa_final(receipt: Receipt, *, merchant: str, receipt_id: str, origin_id: str,
                        url: str) -> dict[str, Any]:
    """Robokassa's second receipt (``RoboFiscal/Receipt/Attach``): the items as the first receipt's
    ``Receipt`` writes them, against the operation ``origin_id`` (its InvId), paid by the prepayment
    (``payments`` type 2), with the VAT sums per rate (``vats``)."""
    vats: dict[str, Decimal] = {}
    for item in receipt.items:
        tax = robokassa_tax(item)
        vats[tax] = vats.get(tax, Decimal("0.00")) + _vat_in(item)
    client = {k: v for k, v in (("email", receipt.email), ("phone", receipt.phone)) if v}
    return {"merchantId": merchant, "id": receipt_id, "originId": origin_id, "operation": "sell",
            "sno": receipt.tax_system, "url": url, "total": float(receipt.total()),
            "items": for_robokassa(receipt)["items"], "client": client,
            "payments": [{"type": 2, "sum": float(receipt.total())}],
            "vats": [{"type": tax, "sum": float(total)} for tax, total in sorted(vats.items())]}


def for_cloudpayments_final(receipt: Receipt) -> dict[str, Any]:
    """CloudPayments' ``CustomerReceipt`` of the offset receipt (``kkt/receipt``, type Income): the
    items as ``full_payment``, the whole amount paid by the earlier prepayment (``advancePayment``)."""
    body = for_cloudpayments(receipt)
    body["amounts"] = {"electronic": 0.0, "advancePayment": float(receipt.total()), "credit": 0.0, "provision": 0.0}
    return body
