"""The EnterpriseData export for 1С:Бухгалтерия: a zip with the manifest, well-formed XML in the
configured namespace; read back, it holds every client, document and amount of the period."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import zipfile
from xml.etree import ElementTree as ET

import pytest

from kopeck.clients.models import Client
from kopeck.common.actor import Actor
from kopeck.core.clock import FixedClock
from kopeck.documents import services as documents
from kopeck.payments import services
from kopeck.payments.exchange.enterprisedata import MESSAGE_NS, enterprisedata_export, ref
from tests.factories import ClientFactory, valid_inn

pytestmark = pytest.mark.django_db

LINES = [{"name": "Виртуальный сервер VPS-2", "price": "1220.00", "vat_rate": "22", "unit": "мес", "unit_code": "362"},
         {"name": "Лицензия ПО (реестр)", "price": "500.00", "quantity": "2", "vat_rate": "exempt"}]


def q(path: str) -> str:
    """A path of the body's elements, each in the format's namespace ("d:")."""
    return "/".join(f"d:{step}" for step in path.split("/"))


def test_the_export_reads_back_with_every_client_document_and_amount(entity: object, buyer: Client, actor: Actor,
                                                                      clock: FixedClock) -> None:
    other = ClientFactory(name="ИП Сидоров", fields={"inn": valid_inn(9, legal=False)}, type="sole_proprietor")
    act = documents.document_issue(actor=actor, document=documents.document_create_draft(
        actor=actor, type="act", client=buyer, lines=LINES, period_start=dt.date(2026, 11, 1),
        period_end=dt.date(2026, 11, 25)))
    facture = documents.document_issue(actor=actor, document=documents.document_create_draft(
        actor=actor, type="advance_invoice_factura", client=other, lines=[LINES[0]]))
    pay = services.payment_record(actor=actor, client=other, amount="1220.00", method="bank",
                                  purpose="Аванс за декабрь", external_id="pp-9")
    services.payment_record(actor=actor, client=buyer, amount="5.00", date=dt.date(2026, 10, 1))  # another period
    data = enterprisedata_export(date_from=dt.date(2026, 11, 1), date_to=dt.date(2026, 11, 30), version="1.17")

    zf = zipfile.ZipFile(io.BytesIO(data))
    assert sorted(zf.namelist()) == ["Message.xml", "manifest.json"]
    manifest = json.loads(zf.read("manifest.json"))
    xml = zf.read("Message.xml")
    assert manifest["namespace"] == "http://v8.1c.ru/edi/edi_stnd/EnterpriseData/1.17"
    assert manifest["files"] == [{"name": "Message.xml", "sha256": hashlib.sha256(xml).hexdigest(), "size": len(xml)}]
    assert manifest["counts"] == {"organisations": 1, "counterparties": 2, "services": 2, "documents": 2,
                                  "payments": 1}
    root = ET.fromstring(xml)  # well-formed
    ns = {"m": MESSAGE_NS, "d": manifest["namespace"]}
    assert root.tag == f"{{{MESSAGE_NS}}}Message"
    assert root.findtext("m:Header/m:Format", namespaces=ns) == manifest["namespace"]
    body = root.find("d:Body", ns)
    assert body is not None
    inns = sorted(el.findtext(q("КлючевыеСвойства/ИНН"), namespaces=ns) or "" for el in body.findall("d:Справочник.Контрагенты", ns))
    assert inns == sorted([buyer.fields["inn"], other.fields["inn"]])
    kinds = {el.findtext(q("КлючевыеСвойства/Наименование"), namespaces=ns): el.findtext(q("КлючевыеСвойства/ЮридическоеФизическоеЛицо"), namespaces=ns)
             for el in body.findall("d:Справочник.Контрагенты", ns)}
    assert kinds == {"ООО «Ромашка»": "ЮридическоеЛицо", "ИП Сидоров": "ФизическоеЛицо"}
    sale = body.find("d:Документ.РеализацияТоваровУслуг", ns)
    assert sale is not None
    assert (sale.findtext(q("КлючевыеСвойства/Номер"), namespaces=ns), sale.findtext(q("Сумма"), namespaces=ns),
            sale.findtext(q("Контрагент/ИНН"), namespaces=ns)) == (act.number, "2220.00", buyer.fields["inn"])
    assert [(r.findtext(q("Содержание"), namespaces=ns), r.findtext(q("Количество"), namespaces=ns), r.findtext(q("Сумма"), namespaces=ns), r.findtext(q("СтавкаНДС"), namespaces=ns),
             r.findtext(q("СуммаНДС"), namespaces=ns)) for r in sale.findall(q("Услуги/Строка"), ns)] == [
        ("Виртуальный сервер VPS-2", "1", "1220.00", "НДС22", "220.00"),
        ("Лицензия ПО (реестр)", "2", "1000.00", "БезНДС", "0.00")]
    invoice = body.find("d:Документ.СчетФактураВыданный", ns)
    assert invoice is not None
    assert (invoice.findtext(q("КлючевыеСвойства/Номер"), namespaces=ns), invoice.findtext(q("ВидСчетаФактуры"), namespaces=ns),
            invoice.findtext(q("Сумма"), namespaces=ns), invoice.findtext(q("СуммаНДС"), namespaces=ns)) == (facture.number, "НаАванс", "1220.00", "220.00")
    received = body.findall("d:Документ.ПоступлениеБезналичныхДенежныхСредств", ns)
    assert [(r.findtext(q("КлючевыеСвойства/Ссылка"), namespaces=ns), r.findtext(q("Сумма"), namespaces=ns), r.findtext(q("Плательщик/ИНН"), namespaces=ns))
            for r in received] == [(ref("payment", pay.pk), "1220.00", other.fields["inn"])]
    units = {el.findtext(q("КлючевыеСвойства/Наименование"), namespaces=ns): el.findtext(q("ЕдиницаИзмерения/Код"), namespaces=ns)
             for el in body.findall("d:Справочник.Номенклатура", ns)}
    assert units["Виртуальный сервер VPS-2"] == "362"
    # the same period again: the same references (1C updates its objects, no copies)
    again = zipfile.ZipFile(io.BytesIO(enterprisedata_export(date_from=dt.date(2026, 11, 1),
                                                             date_to=dt.date(2026, 11, 30))))
    assert ref("document", act.pk) in again.read("Message.xml").decode()


def test_api_and_cli(api: object, tmp_path: object, entity: object, buyer: Client, actor: Actor,
                     clock: FixedClock) -> None:
    from pathlib import Path

    from django.core.management import call_command
    from rest_framework.test import APIClient

    assert isinstance(api, APIClient) and isinstance(tmp_path, Path)
    services.payment_record(actor=actor, client=buyer, amount="100.00")
    r = api.get("/api/v1/exchange/enterprisedata/?date_from=2026-11-01&date_to=2026-11-30&version=1.8")
    assert r.status_code == 200 and r["Content-Type"] == "application/zip"
    manifest = json.loads(zipfile.ZipFile(io.BytesIO(r.content)).read("manifest.json"))
    assert (manifest["version"], manifest["counts"]["payments"]) == ("1.8", 1)
    assert api.get("/api/v1/exchange/enterprisedata/?date_from=2026-11-30&date_to=2026-11-01").status_code == 400
    assert api.get("/api/v1/exchange/enterprisedata/?date_from=2026-11-01").status_code == 400
    r = api.get("/api/v1/refund-orders/?date_from=2026-11-01&date_to=2026-11-30")
    assert r.status_code == 200 and r.content.startswith(b"1CClientBankExchange\r\n")
    out = tmp_path / "period.zip"
    call_command("bank", "export-1c", "--from", "2026-11-01", "--to", "2026-11-30", "--out", str(out),
                 stdout=io.StringIO())
    assert zipfile.ZipFile(out).namelist() == ["Message.xml", "manifest.json"]
