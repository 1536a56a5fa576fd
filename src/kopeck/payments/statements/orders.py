"""Refunds as outgoing payment orders: a 1CClientBankExchange file (Windows-1251, CRLF) the
accountant loads into the bank's client program to pay the refunds out. The payer is the provider's
legal entity (its default one); the payee the refunded payment's payer — its requisites as the bank
statement gave them, else the client's own (р/с and БИК in the client's fields)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.utils.translation import gettext as _

from kopeck.common import clock
from kopeck.common.errors import Conflict
from kopeck.documents.selectors import default_legal_entity
from kopeck.ledger.amounts import from_minor
from kopeck.payments.models import Refund
from kopeck.payments.statements.bankfile import write


@dataclass
class RefundOrders:
    data: bytes
    included: list[int]
    skipped: list[int]  # refunds whose payee has no account or БИК


def refund_orders(*, date_from: dt.date, date_to: dt.date) -> RefundOrders:
    entity = default_legal_entity()
    if entity is None or not entity.settlement_account:
        raise Conflict(_("No legal entity with a settlement account: the payer of the orders is unknown."))
    docs: list[dict[str, str]] = []
    included: list[int] = []
    skipped: list[int] = []
    refunds = Refund.objects.filter(date__gte=date_from, date__lte=date_to).select_related(
        "payment", "payment__client").order_by("date", "id")
    for r in refunds:
        pay = r.payment
        fields = pay.client.fields if pay.client is not None else {}
        account = pay.payer_account or str(fields.get("settlement_account") or "")
        bik = pay.payer_bik or str(fields.get("bik") or "")
        if not account or not bik:
            skipped.append(r.pk)
            continue
        name = pay.payer_name or (pay.client.name if pay.client else "")
        inn = pay.payer_inn or str(fields.get("inn") or "")
        kpp = pay.payer_kpp or str(fields.get("kpp") or "")
        amount = from_minor(r.amount_minor, r.currency).to_str()
        docs.append({
            "": "Платежное поручение", "Номер": str(r.pk), "Дата": f"{r.date:%d.%m.%Y}", "Сумма": amount,
            "ПлательщикСчет": entity.settlement_account, "Плательщик": f"ИНН {entity.inn} {entity.name}",
            "ПлательщикИНН": entity.inn, "ПлательщикКПП": entity.kpp, "Плательщик1": entity.name,
            "ПлательщикРасчСчет": entity.settlement_account, "ПлательщикБанк1": entity.bank_name,
            "ПлательщикБИК": entity.bik, "ПлательщикКорсчет": entity.correspondent_account,
            "ПолучательСчет": account, "Получатель": f"ИНН {inn} {name}" if inn else name,
            "ПолучательИНН": inn, "ПолучательКПП": kpp, "Получатель1": name, "ПолучательРасчСчет": account,
            "ПолучательБанк1": pay.payer_bank, "ПолучательБИК": bik,
            "ВидОплаты": "01", "Очередность": "5",
            "НазначениеПлатежа": (f"Возврат денежных средств по платежу № {pay.pk} от {pay.date:%d.%m.%Y}"
                                  f"{f' (п/п от {pay.date:%d.%m.%Y})' if pay.method == 'bank' else ''}. "
                                  f"{r.reason}. Без налога (НДС)"),
        })
        included.append(r.pk)
    data = write(accounts=[entity.settlement_account], date_from=date_from, date_to=date_to, documents=docs,
                 created=clock.now())
    return RefundOrders(data, included, skipped)


def refund_orders_file(*, date_from: dt.date, date_to: dt.date) -> bytes:
    return refund_orders(date_from=date_from, date_to=date_to).data
