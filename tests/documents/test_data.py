"""Document data built before numbering, then numbered, equals data built with the number."""

from __future__ import annotations

import datetime as dt

import pytest

from kopeck.core.documents import LineSpec, compute_document
from kopeck.core.money import Money
from kopeck.core.vat import VatRate
from kopeck.documents.data import SAMPLE_PROVIDER, build_data, set_number
from kopeck.documents.models import DocumentType


@pytest.mark.parametrize("doc_type", [DocumentType.INVOICE, DocumentType.ACT, DocumentType.UPD])
@pytest.mark.parametrize("language", ["ru", "en"])
def test_set_number_equals_building_with_the_number(doc_type: str, language: str) -> None:
    calc = compute_document([LineSpec("VPS", Money("1220.00", "RUB"), VatRate.VAT_22)], currency="RUB",
                            inclusive=True)

    def build(number: str | None) -> dict[str, object]:
        return build_data(type=doc_type, language=language, currency="RUB", calc=calc, provider=SAMPLE_PROVIDER,
                          client={"name": "ООО «Ромашка»"}, variables={}, number=number,
                          issue_date=dt.date(2026, 11, 25))

    later = build(None)
    set_number(later, "СЧ-000042")
    assert later == build("СЧ-000042")
    if doc_type == DocumentType.INVOICE and language == "ru":
        assert later["document"]["payment_purpose"] == "Оплата по счёту № СЧ-000042 от 25.11.2026"  # type: ignore[index]
