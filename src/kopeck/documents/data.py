"""The frozen data of a document — exactly the plain context its template gets: the document's
header, the provider's and the client's requisites as issued, the lines, totals and amount in
words, the variables, and (by type) the reconciliation or the correction. Also the sample data the
template editor and the template validation render with."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any, Final

from kopeck.clients.models import Client
from kopeck.core.documents import DocumentCalc, LineSpec, compute_document
from kopeck.core.money import Money
from kopeck.core.vat import VatRate
from kopeck.core.words import amount_in_words
from kopeck.documents.models import DocumentType, LegalEntity, TemplateForm

REQUISITE_FIELDS: Final = ("name", "full_name", "inn", "kpp", "ogrn", "legal_address", "postal_address", "phone",
                           "email", "bank_name", "bik", "settlement_account", "correspondent_account",
                           "director_title", "director_name", "accountant_name")

TITLES: Final[dict[str, tuple[str, str]]] = {
    DocumentType.INVOICE: ("Счёт на оплату", "Invoice"),
    DocumentType.ACT: ("Акт оказанных услуг", "Act of services rendered"),
    DocumentType.INVOICE_FACTURA: ("Счёт-фактура", "VAT invoice"),
    DocumentType.ADVANCE_INVOICE_FACTURA: ("Счёт-фактура на аванс", "Advance VAT invoice"),
    DocumentType.CORRECTIVE_INVOICE_FACTURA: ("Корректировочный счёт-фактура", "Corrective VAT invoice"),
    DocumentType.CORRECTED: ("Исправленный документ", "Corrected document"),
    DocumentType.UPD: ("Универсальный передаточный документ", "Universal transfer document"),
    DocumentType.RECONCILIATION: ("Акт сверки взаимных расчётов", "Reconciliation statement"),
}

# ОКВ: the currency's name and numeric code (the счёт-фактура's "Валюта: наименование, код").
CURRENCIES: Final[dict[str, tuple[str, str, str]]] = {
    "RUB": ("Российский рубль", "Russian rouble", "643"),
    "USD": ("Доллар США", "US dollar", "840"),
    "EUR": ("Евро", "Euro", "978"),
    "KZT": ("Тенге", "Tenge", "398"),
    "BYN": ("Белорусский рубль", "Belarusian rouble", "933"),
    "CNY": ("Юань", "Yuan renminbi", "156"),
}
# How an amount's currency is written after it in Russian ("на сумму 1 990,00 руб."); English: the code.
CURRENCY_SHORT_RU: Final[dict[str, str]] = {
    "RUB": "руб.", "USD": "долл. США", "EUR": "евро", "KZT": "тенге", "BYN": "бел. руб.", "CNY": "юаней",
}


def provider_requisites(entity: LegalEntity) -> dict[str, str]:
    return {f: str(getattr(entity, f) or "") for f in REQUISITE_FIELDS}


def client_requisites(client: Client) -> dict[str, Any]:
    f = client.fields or {}

    def get(*keys: str) -> str:
        for key in keys:
            if f.get(key):
                return str(f[key])
        return ""

    return {
        "id": client.pk, "type": client.type, "name": client.name, "full_name": get("full_name") or client.name,
        "inn": get("inn"), "kpp": get("kpp"), "ogrn": get("ogrn", "ogrnip"),
        "address": get("legal_address", "address", "postal_address"), "postal_address": get("postal_address"),
        "bank_name": get("bank_name"), "bik": get("bik"), "settlement_account": get("settlement_account"),
        "correspondent_account": get("correspondent_account"), "director": get("director"),
    }


def entity_variables(entity: LegalEntity) -> dict[str, str]:
    """The legal entity's requisites as variables (reserved codes: a Variable cannot take them)."""
    return {f"entity_{k}": v for k, v in provider_requisites(entity).items()}


def build_data(
    *, type: str, language: str, currency: str, calc: DocumentCalc | None, provider: Mapping[str, Any],
    client: Mapping[str, Any], variables: Mapping[str, str], number: str | None = None,
    issue_date: dt.date | None = None, due_date: dt.date | None = None, period_start: dt.date | None = None,
    period_end: dt.date | None = None, upd_status: int | None = None, correction_number: int | None = None,
    corrects: Mapping[str, Any] | None = None, notes: str = "", reconciliation: Mapping[str, Any] | None = None,
    correction: Mapping[str, Any] | None = None, payment_documents: Sequence[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    ru, en = TITLES[type]
    name_ru, name_en, code = CURRENCIES.get(currency, (currency, currency, ""))
    words = ""
    if calc is not None:
        words = amount_in_words(calc.totals.gross, language)
    elif reconciliation is not None:
        words = amount_in_words(abs(Money(reconciliation["closing"], currency)), language)
    purpose = _purpose(type, number, issue_date, language)
    data: dict[str, Any] = {
        "document": {
            "type": type, "title": ru if language == "ru" else en, "title_ru": ru, "title_en": en,
            "number": number or "", "date": issue_date.isoformat() if issue_date else "",
            "due_date": due_date.isoformat() if due_date else "",
            "period_start": period_start.isoformat() if period_start else "",
            "period_end": period_end.isoformat() if period_end else "",
            "currency": currency, "currency_name": name_ru if language == "ru" else name_en,
            "currency_short": CURRENCY_SHORT_RU.get(currency, currency) if language == "ru" else currency,
            "currency_code": code, "upd_status": upd_status, "correction_number": correction_number,
            "corrects": dict(corrects) if corrects else None, "language": language, "notes": notes,
            "payment_purpose": purpose, "payment_documents": [dict(p) for p in payment_documents],
            "advance": type == DocumentType.ADVANCE_INVOICE_FACTURA,
        },
        "provider": dict(provider),
        "client": dict(client),
        "lines": [ln.as_dict() for ln in calc.lines] if calc else [],
        "totals": calc.totals.as_dict() if calc else {"net": "0.00", "vat": "0.00", "gross": "0.00", "exempt": True,
                                                      "by_rate": [], "explanation": {}},
        "prices_include_vat": calc.inclusive if calc else True,
        "amount_in_words": words,
        "vars": dict(variables),
        "reconciliation": dict(reconciliation) if reconciliation else None,
        "correction": dict(correction) if correction else None,
    }
    return data


def _purpose(type: str, number: str | None, issue_date: dt.date | None, language: str) -> str:
    if type != DocumentType.INVOICE:
        return ""
    return (f"Оплата по счёту № {number or '—'} от {issue_date.strftime('%d.%m.%Y') if issue_date else '—'}"
            if language == "ru" else f"Payment of invoice No. {number or '—'}")


def set_number(data: dict[str, Any], number: str) -> None:
    """Put the number assigned at issue into data built without it (the same as building it with
    the number): the document's number and the payment purpose that quotes it."""
    doc = data["document"]
    doc["number"] = number
    issue_date = dt.date.fromisoformat(doc["date"]) if doc["date"] else None
    doc["payment_purpose"] = _purpose(doc["type"], number, issue_date, doc["language"])


SAMPLE_PROVIDER: Final = {
    "name": "ООО «Копейка»", "full_name": "Общество с ограниченной ответственностью «Копейка»",
    "inn": "7707083893", "kpp": "770701001", "ogrn": "1027700132195",
    "legal_address": "125009, г. Москва, ул. Тверская, д. 1", "postal_address": "125009, г. Москва, а/я 1",
    "phone": "+74951234567", "email": "billing@example.ru", "bank_name": "ПАО Сбербанк, г. Москва",
    "bik": "044525225", "settlement_account": "40702810938000000001", "correspondent_account": "30101810400000000225",
    "director_title": "Генеральный директор", "director_name": "Иванов И. И.", "accountant_name": "Петрова П. П.",
}
SAMPLE_CLIENT: Final = {
    "id": 0, "type": "legal", "name": "ООО «Ромашка»", "full_name": "Общество с ограниченной ответственностью «Ромашка»",
    "inn": "5001000001", "kpp": "500101001", "ogrn": "", "address": "141000, Московская обл., г. Мытищи, ул. Мира, д. 2",
    "postal_address": "", "bank_name": "", "bik": "", "settlement_account": "", "correspondent_account": "",
    "director": "Сидоров С. С.",
}


def sample_data(form: str, language: str, variables: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Plain sample data of ``form`` (two lines: 22 % and exempt) for the editor and validation."""
    doc_type = str(form)
    calc: DocumentCalc | None = compute_document([
        LineSpec("Виртуальный сервер VPS-2, ноябрь 2026", Money("1490.00", "RUB"), VatRate.VAT_22,
                 period_start="2026-11-01", period_end="2026-11-30"),
        LineSpec("Лицензия ПО «Копейка» (реестр российского ПО)", Money("300.00", "RUB"), VatRate.EXEMPT,
                 quantity=Decimal(2)),
    ], currency="RUB", inclusive=True)
    day = dt.date(2026, 11, 30)
    reconciliation = correction = None
    if form == TemplateForm.RECONCILIATION:
        reconciliation = {
            "start": "2026-10-01", "end": "2026-11-30", "opening": "-1000.00", "closing": "-190.00",
            "opening_debit": "1000.00", "opening_credit": "0.00", "closing_debit": "190.00", "closing_credit": "0.00",
            "total_debit": "2090.00", "total_credit": "2900.00", "owed_by": "client",
            "rows": [{"date": "2026-10-05", "text": "Оплата (п/п № 12)", "debit": "0.00", "credit": "2900.00"},
                     {"date": "2026-11-01", "text": "Реализация: акт № 15", "debit": "2090.00", "credit": "0.00"}],
        }
        calc = None
    if form == TemplateForm.CORRECTIVE_INVOICE_FACTURA and calc is not None:
        after = compute_document([
            LineSpec("Виртуальный сервер VPS-2, ноябрь 2026", Money("1190.00", "RUB"), VatRate.VAT_22),
            LineSpec("Лицензия ПО «Копейка» (реестр российского ПО)", Money("300.00", "RUB"), VatRate.EXEMPT,
                     quantity=Decimal(2)),
        ], currency="RUB", inclusive=True)
        from kopeck.documents.corrections import correction_data

        correction = correction_data(calc, after, original={"number": "41", "date": "2026-11-30"})
        calc = after
    return build_data(
        type=doc_type, language=language, currency="RUB", calc=calc, provider=SAMPLE_PROVIDER, client=SAMPLE_CLIENT,
        variables={**{f"entity_{k}": v for k, v in SAMPLE_PROVIDER.items()}, **(variables or {})}, number="42",
        issue_date=day, due_date=day + dt.timedelta(days=5), period_start=dt.date(2026, 11, 1), period_end=day,
        upd_status=1 if form == TemplateForm.UPD else None, reconciliation=reconciliation, correction=correction,
    )
