"""Two payments allocated to one invoice at the same moment never over-allocate it (PostgreSQL):
the invoice's row is locked and its rest computed from its allocations under the lock."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connections

from kopeck.common.actor import Actor
from kopeck.core.clock import FixedClock
from kopeck.documents import services as documents
from kopeck.documents.models import Document, DocumentStatus
from kopeck.payments import services
from kopeck.payments.models import Allocation, Payment, PaymentSettings
from tests.documents.conftest import ENTITY
from tests.factories import ClientFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]

ROUNDS = 10


def _race(*jobs: Any) -> list[BaseException]:
    barrier = threading.Barrier(len(jobs))
    errors: list[BaseException] = []

    def run(job: Any) -> None:
        try:
            barrier.wait()
            job()
        except BaseException as exc:  # reported to the test
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


def test_two_payments_never_over_allocate_one_invoice(clock: FixedClock, actor: Actor) -> None:
    documents.legal_entity_create(actor=actor, **ENTITY)
    PaymentSettings.objects.update_or_create(pk=1, defaults={"auto_allocate": False})
    client = ClientFactory()
    for _ in range(ROUNDS):
        draft = documents.document_create_draft(actor=actor, type="invoice", client=client,
                                                lines=[{"name": "Хостинг", "price": "1000.00", "vat_rate": "exempt"}])
        doc = documents.document_issue(actor=actor, document=draft)
        a = services.payment_record(actor=actor, client=client, amount="700.00")
        b = services.payment_record(actor=actor, client=client, amount="700.00")
        target = Document(pk=doc.pk)
        errors = _race(lambda p=a, d=target: services.payment_allocate(actor=actor, payment=p, document=d),
                       lambda p=b, d=target: services.payment_allocate(actor=actor, payment=p, document=d))
        assert errors == []
        doc.refresh_from_db()
        allocated = sorted(Allocation.objects.filter(document=doc).values_list("amount_minor", flat=True))
        assert allocated == [30000, 70000]
        assert (doc.status, doc.paid_minor) == (DocumentStatus.PAID, 100000)
        assert sorted(Payment.objects.filter(pk__in=[a.pk, b.pk]).values_list("allocated_minor", flat=True)) == [
            30000, 70000]


def test_automatic_allocations_of_one_client_at_once_never_over_allocate(clock: FixedClock, actor: Actor) -> None:
    documents.legal_entity_create(actor=actor, **ENTITY)
    client = ClientFactory()
    docs = []
    for _ in range(3):
        draft = documents.document_create_draft(actor=actor, type="invoice", client=client,
                                                lines=[{"name": "Хостинг", "price": "500.00", "vat_rate": "exempt"}])
        docs.append(documents.document_issue(actor=actor, document=draft))
    errors = _race(*[lambda: services.payment_record(actor=actor, client=client, amount="400.00")
                     for _ in range(5)])
    assert errors == []
    paid = [Document.objects.get(pk=d.pk).paid_minor for d in docs]
    assert paid == [50000, 50000, 50000]
    assert sum(Allocation.objects.values_list("amount_minor", flat=True)) == 150000
    assert sum(p.unallocated_minor for p in Payment.objects.all()) == 50000
