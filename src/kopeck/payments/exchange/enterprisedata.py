"""Export of a period to 1С:Бухгалтерия предприятия 8 as an EnterpriseData message (russia.md §2):
the provider's organisations, the clients (Контрагенты with their requisites), the services
(Номенклатура with the ОКЕИ unit and the VAT rate), the sales documents (Реализация товаров и услуг
for acts and УПД, with the advances they offset — ЗачетАвансов), the счета-фактуры (shipment and
advance, with the payment order an advance one was issued on) and the payments received
(Поступление безналичных денежных средств) — in a zip with a ``manifest.json``, as 1C's data
transfer takes it.

The format version is configurable (``version``; the namespace is
``http://v8.1c.ru/edi/edi_stnd/EnterpriseData/<version>``): the target base accepts only the versions
its release supports. Object references are stable UUIDs (uuid5 of the object's kind and id), so
exporting a period again updates the same objects in 1C instead of creating copies. The enumeration
values of the VAT rates for 2026 (22 %, 22/122) are **unverified** (russia.md §2) — see
:data:`VAT_RATES`."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import uuid
import zipfile
from collections.abc import Iterable
from typing import Any
from xml.etree import ElementTree as ET

from django.utils.translation import gettext as _

from kopeck.clients.models import Client
from kopeck.common import clock
from kopeck.common.errors import ValidationFailed
from kopeck.documents.models import Document, DocumentStatus, DocumentType, LegalEntity
from kopeck.ledger.amounts import from_minor
from kopeck.payments.models import AdvanceOffset, Payment, PaymentAdvance, PaymentStatus

MESSAGE_NS = "http://www.1c.ru/SSL/Exchange/Message"
DEFAULT_VERSION = "1.17"
_REF_NS = uuid.UUID("6b6f7065-636b-4500-9000-000000000015")
# Kopeck's VAT rate → the EnterpriseData enumeration value (unverified for 2026: check the base's release).
VAT_RATES = {"22": "НДС22", "10": "НДС10", "0": "НДС0", "5": "НДС5", "7": "НДС7", "20": "НДС20",
             "exempt": "БезНДС"}
# the estimated rates of an advance (22/122…), same caveat
ADVANCE_VAT_RATES = {"22": "НДС22_122", "10": "НДС10_110", "5": "НДС5_105", "7": "НДС7_107", "20": "НДС20_120"}
SALES = (DocumentType.ACT, DocumentType.UPD)
FACTURAS = (DocumentType.INVOICE_FACTURA, DocumentType.ADVANCE_INVOICE_FACTURA)
LIVE = (DocumentStatus.ISSUED, DocumentStatus.PARTLY_PAID, DocumentStatus.PAID)


def ref(kind: str, key: object) -> str:
    return str(uuid.uuid5(_REF_NS, f"{kind}:{key}"))


def _sub(parent: ET.Element, tag: str, text: object = None) -> ET.Element:
    """A child in its parent's namespace (every element of the body is in the format's namespace)."""
    ns = parent.tag[:parent.tag.index("}") + 1] if parent.tag.startswith("{") else ""
    el = ET.SubElement(parent, ns + tag)
    if text is not None:
        el.text = str(text)
    return el


def _org(parent: ET.Element, entity: LegalEntity, tag: str = "Организация") -> None:
    org = _sub(parent, tag)
    _sub(org, "Ссылка", ref("org", entity.pk))
    _sub(org, "Наименование", entity.name)
    _sub(org, "ИНН", entity.inn)
    if entity.kpp:
        _sub(org, "КПП", entity.kpp)


def _counterparty_keys(parent: ET.Element, client: Client, tag: str = "Контрагент") -> None:
    fields = client.fields or {}
    el = _sub(parent, tag)
    _sub(el, "Ссылка", ref("client", client.pk))
    _sub(el, "Наименование", client.name)
    if fields.get("inn"):
        _sub(el, "ИНН", fields["inn"])
    if fields.get("kpp"):
        _sub(el, "КПП", fields["kpp"])


def _kind(client: Client) -> str:
    return "ЮридическоеЛицо" if client.type == "legal" else "ФизическоеЛицо"


def enterprisedata_export(*, date_from: dt.date, date_to: dt.date, version: str = DEFAULT_VERSION) -> bytes:
    """The zip (``Message.xml`` and ``manifest.json``) of the period's objects."""
    if date_to < date_from:
        raise ValidationFailed.field("date_to", _("The end is before the start."))
    if not version or not all(part.isdigit() for part in version.split(".")):
        raise ValidationFailed.field("version", _("A format version like 1.17."))
    ns = f"http://v8.1c.ru/edi/edi_stnd/EnterpriseData/{version}"
    ET.register_namespace("msg", MESSAGE_NS)
    ET.register_namespace("", ns)
    docs = list(Document.objects.filter(issue_date__gte=date_from, issue_date__lte=date_to, status__in=LIVE,
                                        type__in=(*SALES, *FACTURAS)).select_related("client", "legal_entity")
                .order_by("issue_date", "id"))
    payments = list(Payment.objects.filter(date__gte=date_from, date__lte=date_to, client__isnull=False,
                                           status__in=(PaymentStatus.CREDITED, PaymentStatus.PARTLY_REFUNDED,
                                                       PaymentStatus.REFUNDED)).select_related("client")
                    .order_by("date", "id"))
    clients = {d.client_id: d.client for d in docs} | {p.client_id: p.client for p in payments if p.client}
    entities = {d.legal_entity_id: d.legal_entity for d in docs}
    default = LegalEntity.objects.order_by("id").first()
    if payments and default is not None:
        entities.setdefault(default.pk, default)

    root = ET.Element(f"{{{MESSAGE_NS}}}Message")
    header = ET.SubElement(root, f"{{{MESSAGE_NS}}}Header")
    ET.SubElement(header, f"{{{MESSAGE_NS}}}Format").text = ns
    ET.SubElement(header, f"{{{MESSAGE_NS}}}CreationDate").text = clock.now().strftime("%Y-%m-%dT%H:%M:%S")
    ET.SubElement(header, f"{{{MESSAGE_NS}}}AvailableVersion").text = version
    body = ET.SubElement(root, f"{{{ns}}}Body")

    def obj(tag: str) -> ET.Element:
        return ET.SubElement(body, f"{{{ns}}}{tag}")

    for entity in sorted(entities.values(), key=lambda e: e.pk):
        el = obj("Справочник.Организации")
        keys = _sub(el, "КлючевыеСвойства")
        _sub(keys, "Ссылка", ref("org", entity.pk))
        _sub(keys, "Наименование", entity.name)
        _sub(keys, "НаименованиеПолное", entity.full_name or entity.name)
        _sub(keys, "ИНН", entity.inn)
        if entity.kpp:
            _sub(keys, "КПП", entity.kpp)
    for client in sorted(clients.values(), key=lambda c: c.pk):
        fields = client.fields or {}
        el = obj("Справочник.Контрагенты")
        keys = _sub(el, "КлючевыеСвойства")
        _sub(keys, "Ссылка", ref("client", client.pk))
        _sub(keys, "Наименование", client.name)
        _sub(keys, "НаименованиеПолное", fields.get("full_name") or client.name)
        _sub(keys, "ЮридическоеФизическоеЛицо", _kind(client))
        if fields.get("inn"):
            _sub(keys, "ИНН", fields["inn"])
        if fields.get("kpp"):
            _sub(keys, "КПП", fields["kpp"])
        _sub(keys, "СтранаРегистрации", "РОССИЯ")
        if fields.get("ogrn"):
            _sub(el, "РегистрационныйНомер", fields["ogrn"])
        contract = _sub(obj("Справочник.Договоры"), "КлючевыеСвойства")
        _sub(contract, "Ссылка", ref("contract", client.pk))
        _sub(contract, "ВидДоговора", "СПокупателем")
        _sub(contract, "Наименование", f"Основной договор ({client.name})")
        _sub(contract, "ВалютаВзаиморасчетов", client.currency)
        _counterparty_keys(contract, client)
    services: dict[str, dict[str, Any]] = {}
    for doc in docs:
        for line in doc.data.get("lines") or []:
            services.setdefault(str(line.get("name")), line)
    for name, line in sorted(services.items()):
        el = obj("Справочник.Номенклатура")
        keys = _sub(el, "КлючевыеСвойства")
        _sub(keys, "Ссылка", ref("service", name))
        _sub(keys, "Наименование", name)
        _sub(el, "ЭтоУслуга", "true")
        unit = _sub(el, "ЕдиницаИзмерения")
        _sub(unit, "Код", line.get("unit_code") or "")
        _sub(unit, "Наименование", line.get("unit") or "")
        _sub(el, "СтавкаНДС", VAT_RATES.get(str(line.get("rate")), str(line.get("rate"))))
    advances = {a.document_id: a for a in PaymentAdvance.objects.filter(document__in=docs).select_related("payment")}
    offsets: dict[int, list[AdvanceOffset]] = {}
    for off in AdvanceOffset.objects.filter(shipment__in=docs, cancelled_at__isnull=True).select_related("advance__document").order_by("id"):
        offsets.setdefault(off.shipment_id or 0, []).append(off)
    for doc in docs:
        _document(obj, doc, advance=advances.get(doc.pk), offsets=offsets.get(doc.pk, []))
    for pay in payments:
        assert pay.client is not None
        el = obj("Документ.ПоступлениеБезналичныхДенежныхСредств")
        keys = _sub(el, "КлючевыеСвойства")
        _sub(keys, "Ссылка", ref("payment", pay.pk))
        _sub(keys, "Дата", f"{pay.date:%Y-%m-%d}T00:00:00")
        _sub(keys, "Номер", str(pay.pk))
        if default is not None:
            _org(keys, default)
        _sub(el, "ВидОперации", "ОплатаПокупателя")
        _counterparty_keys(el, pay.client, "Плательщик")
        _sub(el, "Сумма", from_minor(pay.amount_minor, pay.currency).to_str())
        _sub(el, "Валюта", pay.currency)
        _sub(el, "НазначениеПлатежа", pay.purpose)
        _sub(el, "НомерВходящегоДокумента", pay.external_id)

    xml = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    counts = {"organisations": len(entities), "counterparties": len(clients), "services": len(services),
              "documents": len(docs), "payments": len(payments)}
    manifest = {"format": "EnterpriseData", "namespace": ns, "version": version, "message_namespace": MESSAGE_NS,
                "created": clock.now().isoformat(), "period": {"from": date_from.isoformat(),
                                                               "to": date_to.isoformat()},
                "files": [{"name": "Message.xml", "sha256": hashlib.sha256(xml).hexdigest(), "size": len(xml)}],
                "counts": counts}
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("Message.xml", xml)
        zf.writestr("manifest.json", json.dumps(manifest, ensure_ascii=False, indent=2))
    return out.getvalue()


def _document(obj: Any, doc: Document, *, advance: PaymentAdvance | None, offsets: list[AdvanceOffset]) -> None:
    total = from_minor(doc.amount_minor, doc.currency).to_str()
    if doc.type in SALES:
        el = obj("Документ.РеализацияТоваровУслуг")
        keys = _sub(el, "КлючевыеСвойства")
        _sub(keys, "Ссылка", ref("document", doc.pk))
        _sub(keys, "Дата", f"{doc.issue_date:%Y-%m-%d}T00:00:00")
        _sub(keys, "Номер", doc.number)
        _org(keys, doc.legal_entity)
        _sub(el, "ВидОперации", "Услуги")
        _counterparty_keys(el, doc.client)
        _sub(_sub(el, "Договор"), "Ссылка", ref("contract", doc.client_id))
        _sub(el, "Валюта", doc.currency)
        _sub(el, "СуммаВключаетНДС", "true" if doc.data.get("prices_include_vat", True) else "false")
        _sub(el, "Сумма", total)
        table = _sub(el, "Услуги")
        for line in _lines(doc):
            row = _sub(table, "Строка")
            _sub(_sub(row, "Номенклатура"), "Ссылка", ref("service", line.get("name")))
            _sub(row, "Содержание", line.get("name"))
            _sub(row, "Количество", line.get("quantity"))
            _sub(row, "Цена", line.get("price"))
            _sub(row, "Сумма", line.get("gross"))
            _sub(row, "СтавкаНДС", VAT_RATES.get(str(line.get("rate")), str(line.get("rate"))))
            _sub(row, "СуммаНДС", line.get("vat"))
        if offsets:  # зачёт аванса: the VAT of the advances this shipment took is accepted for deduction
            table = _sub(el, "ЗачетАвансов")
            for off in offsets:
                facture = off.advance.document
                assert facture is not None
                row = _sub(table, "Строка")
                ref_el = _sub(row, "СчетФактураНаАванс")
                _sub(ref_el, "Ссылка", ref("document", facture.pk))
                _sub(ref_el, "Номер", facture.number)
                _sub(ref_el, "Дата", f"{facture.issue_date:%Y-%m-%d}T00:00:00")
                _sub(row, "Сумма", from_minor(off.amount_minor, off.currency).to_str())
                _sub(row, "СуммаНДС", from_minor(off.vat_minor, off.currency).to_str())
        return
    el = obj("Документ.СчетФактураВыданный")
    keys = _sub(el, "КлючевыеСвойства")
    _sub(keys, "Ссылка", ref("document", doc.pk))
    _sub(keys, "Дата", f"{doc.issue_date:%Y-%m-%d}T00:00:00")
    _sub(keys, "Номер", doc.number)
    _org(keys, doc.legal_entity)
    _sub(el, "ВидСчетаФактуры", "НаАванс" if doc.type == DocumentType.ADVANCE_INVOICE_FACTURA else "НаРеализацию")
    _counterparty_keys(el, doc.client)
    _sub(el, "Валюта", doc.currency)
    _sub(el, "Сумма", total)
    _sub(el, "СуммаНДС", from_minor(doc.vat_minor, doc.currency).to_str())
    if doc.type == DocumentType.ADVANCE_INVOICE_FACTURA:
        lines = list(_lines(doc))
        rate = str(lines[0].get("rate")) if lines else ""
        _sub(el, "СтавкаНДС", ADVANCE_VAT_RATES.get(rate, rate))
        for order in (doc.data.get("document") or {}).get("payment_documents") or []:
            paid = _sub(el, "ПлатежноРасчетныйДокумент")
            _sub(paid, "Номер", order.get("number"))
            _sub(paid, "Дата", f"{order.get('date')}T00:00:00")
        if advance is not None:
            _sub(_sub(el, "ДокументОснование"), "Ссылка", ref("payment", advance.payment_id))


def _lines(doc: Document) -> Iterable[dict[str, Any]]:
    return doc.data.get("lines") or []
