"""PDFs of every document type carry the Cyrillic text (extracted with pypdf and compared), use the
bundled DejaVu Sans, and load nothing from outside."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from pypdf import PdfReader

from kopeck.clients.models import Client
from kopeck.common.actor import Actor
from kopeck.core.clock import FixedClock
from kopeck.documents import services
from kopeck.documents.models import Document, DocumentPdf, DocumentType, LegalEntity
from kopeck.documents.pdf import BundledFontsOnly, FetchRefused, html_to_pdf
from kopeck.ledger.services import ledger_operation_post
from tests.documents.test_services import LINES, draft

pytestmark = pytest.mark.django_db


def text_of(pdf: bytes) -> str:
    reader = PdfReader(io.BytesIO(pdf))
    return " ".join(" ".join((page.extract_text() or "").split()) for page in reader.pages)


def fonts_of(pdf: bytes) -> set[str]:
    reader = PdfReader(io.BytesIO(pdf))
    names = set()
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():
            names.add(str(font.get_object()["/BaseFont"]).split("+")[-1])
    return names


def issued(actor: Actor, buyer: Client, type: str, **kwargs: object) -> Document:
    return services.document_issue(actor=actor, document=draft(actor, buyer, type, **kwargs))


EXPECTED = {
    DocumentType.INVOICE: "Счёт на оплату № 1 от 25 ноября 2026 г.",
    DocumentType.ACT: "Акт № 1 от 25 ноября 2026 г.",
    DocumentType.INVOICE_FACTURA: "Счёт-фактура № 1 от 25.11.2026",
    DocumentType.ADVANCE_INVOICE_FACTURA: "Счёт-фактура № 1 от 25.11.2026",
    DocumentType.UPD: "Статус: 1",
}


@pytest.mark.parametrize("doc_type", list(EXPECTED))
def test_each_type_renders_cyrillic_text(entity: LegalEntity, buyer: Client, actor: Actor, doc_type: str) -> None:
    doc = issued(actor, buyer, doc_type)
    pdf = services.document_pdf(doc)
    text = text_of(pdf)
    assert pdf.startswith(b"%PDF-")
    assert EXPECTED[doc_type] in text
    assert "ООО «Ромашка»" in text
    assert fonts_of(pdf) == {"Kopeck-DejaVu-Sans", "Kopeck-DejaVu-Sans-Bold"}  # the bundled files
    if doc_type in (DocumentType.INVOICE, DocumentType.ACT, DocumentType.UPD):
        assert "Две тысячи двести двадцать рублей 00 копеек" in text
    if doc_type == DocumentType.INVOICE:
        assert "Всего к оплате: 2 220,00" in text and "В том числе НДС (22%): 220,00" in text
    # cached: the same bytes again, stored once
    assert services.document_pdf(doc) == pdf and DocumentPdf.objects.get(document=doc).content == pdf


def test_corrected_corrective_and_reconciliation(entity: LegalEntity, buyer: Client, actor: Actor,
                                                 clock: FixedClock) -> None:
    sf = issued(actor, buyer, DocumentType.INVOICE_FACTURA)
    fixed = issued(actor, buyer, DocumentType.CORRECTED, corrects=sf, lines=[])
    assert "Исправление № 1 от 25.11.2026" in text_of(services.document_pdf(fixed))
    kf = issued(actor, buyer, DocumentType.CORRECTIVE_INVOICE_FACTURA, corrects=sf,
                lines=[{**LINES[0], "price": "610.00"}, LINES[1]])
    text = text_of(services.document_pdf(kf))
    assert "Корректировочный счёт-фактура № 2 от 25.11.2026" in text
    assert "к счёту-фактуре (счетам-фактурам) № 1 от 25.11.2026" in text
    ledger_operation_post(actor=actor, client=buyer, operation="charge", amount="1500.00", reason="VPS",
                          vat_rate="22")
    rec = services.document_reconciliation_create(actor=actor, client=buyer, start=dt.date(2026, 11, 1),
                                                  end=dt.date(2026, 11, 30))
    text = text_of(services.document_pdf(rec))
    assert "Акт сверки взаимных расчётов № 1" in text
    assert "Одна тысяча пятьсот рублей 00 копеек" in text


def test_english_invoice(entity: LegalEntity, buyer: Client, actor: Actor) -> None:
    doc = issued(actor, buyer, DocumentType.INVOICE, language="en")
    text = text_of(services.document_pdf(doc))
    assert "Invoice No. 1 of 25 November 2026" in text
    assert "Two thousand two hundred twenty roubles 00 kopecks" in text


def test_a_draft_renders_without_being_cached(entity: LegalEntity, buyer: Client, actor: Actor) -> None:
    doc = draft(actor, buyer)
    assert "Счёт на оплату №" in text_of(services.document_pdf(doc))
    assert DocumentPdf.objects.count() == 0


def test_the_bundled_fonts_are_loaded_through_the_fetcher(monkeypatch: pytest.MonkeyPatch) -> None:
    from kopeck.documents import pdf as pdf_module

    served: list[str] = []
    real = pdf_module.font_bytes

    def spy(name: str) -> bytes:
        served.append(name)
        return real(name)

    monkeypatch.setattr(pdf_module, "font_bytes", spy)
    html_to_pdf("<p>Привет, <b>мир</b></p>")
    assert sorted(set(served)) == ["DejaVuSans-Bold.ttf", "DejaVuSans.ttf"]


def test_external_resources_are_refused() -> None:
    fetcher = BundledFontsOnly()
    for url in ("http://127.0.0.1:1/x.png", "file:///etc/passwd", "data:text/plain,hi", "kopeck-font:../../x"):
        with pytest.raises(FetchRefused):
            fetcher.fetch(url)
    pdf = html_to_pdf('<p>Текст</p><img src="file:///etc/hostname"><link rel="stylesheet" href="http://x/y.css">')
    assert "Текст" in text_of(pdf)


WRITTEN = ("Съешь же ещё этих мягких французских булок, да выпей чаю. Ґанок, їжак, єнот, і; Ғалам, қазақ, "
           "әже, өрік, ұя, үй, һ, ң; Ў; Ä ß É ñ Ł ő; Ωμέγα; № 1 — 990,00 ₽ «итого» − 5 × 2 ≤ 10 € $ % … “quoted”")


def test_the_cut_down_fonts_keep_every_sign_documents_are_written_in() -> None:
    from importlib import resources

    from fontTools.ttLib import TTFont

    from kopeck.documents.pdf import FONT_FILES, font_bytes

    for name in FONT_FILES:
        full = TTFont(io.BytesIO((resources.files("kopeck.documents") / "fonts" / name).read_bytes()))
        small = TTFont(io.BytesIO(font_bytes(name)))
        assert sorted({c for c in WRITTEN if ord(c) not in small.getBestCmap()}) == [], name
        assert len(small.getGlyphOrder()) < len(full.getGlyphOrder()) / 2  # cut down: under half the glyphs
    pdf = html_to_pdf(f"<p>{WRITTEN}</p><p><b>{WRITTEN}</b></p>")
    assert " ".join(WRITTEN.split()) in text_of(pdf)
