"""Advances for VAT and the advance счёт-фактура (russia.md §3; п. 1 ст. 154, п. 3 ст. 168, п. 8 ст. 171,
п. 6 ст. 172 НК). See docs/payments.md, "Advances and the advance счёт-фактура".

For VAT a payment is an advance as far as it was received before the services were shipped: before
the client's acts and УПД (a счёт на оплату ships nothing). Where the payments setting
``advance_invoice_factura`` says so:

* :func:`advance_invoices_issue` — the daily job: for every payment of the last five days (dated
  before today) not decided yet, the part of it that is an advance — the client's money received
  beyond what was shipped, not yet covered by an advance счёт-фактура — gets one advance
  счёт-фактура per payment (estimated rate 22/122, the payment order's number and date), dated the
  job's day: within the five calendar days of п. 3 ст. 168. A part shipped in those days needs none.
  The decision is recorded once per payment (:class:`~kopeck.payments.models.PaymentAdvance`), so
  running the job again issues nothing new;
* :func:`payment_advance_invoice_issue` — the same for one payment, by hand (a late one);
* :func:`advances_offset_shipments` — issuing an act or УПД offsets the client's advances (зачёт
  аванса), the oldest first, each up to what is left of it: the VAT of the part offset is accepted
  for deduction (:class:`~kopeck.payments.models.AdvanceOffset`);
* :func:`advance_offset_refund` — a refund of a payment offsets its advance by what was returned
  (п. 5 ст. 171);
* :func:`advance_release_for_reversal` — a payment posted by mistake: its advance счёт-фактура is
  cancelled (refused once a shipment or refund offset it).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from typing import Any

from django.db import transaction
from django.db.models import F, Q, Sum
from django.utils.translation import gettext as _

from kopeck.audit.services import audit_record
from kopeck.clients.models import Client
from kopeck.common import clock
from kopeck.common.actor import Actor
from kopeck.common.errors import Conflict, ValidationFailed
from kopeck.configuration.selectors import provider_today, vat_policy
from kopeck.core.money import to_minor
from kopeck.core.vat import VatRate, vat_inclusive
from kopeck.documents.models import Document, DocumentType
from kopeck.documents.selectors import default_legal_entity
from kopeck.documents.services import ISSUED_STATES, document_cancel, document_create_draft, document_issue
from kopeck.payments.models import AdvanceOffset, Payment, PaymentAdvance, PaymentStatus, Refund
from kopeck.payments.selectors import HOLDING_STATES, payment_settings
from kopeck.payments.services.common import money

log = logging.getLogger("kopeck.payments")

ADVANCE_DAYS = 5  # п. 3 ст. 168 НК: within five calendar days of receiving the advance
SHIPMENTS = (DocumentType.ACT, DocumentType.UPD)
RECEIVED_STATES = (*HOLDING_STATES, PaymentStatus.REFUNDED)
ADVANCE_LINE = "Оплата, частичная оплата в счёт предстоящего оказания услуг"


def advance_rate() -> VatRate | None:
    """The rate of an advance: the provider's default rate (estimated as R/(100 + R) on the advance);
    ``None`` when advances carry no VAT (a regime without VAT, or 0 %)."""
    rate = vat_policy().rate_for(None)
    return rate if rate.percent else None


def order_reference(pay: Payment) -> dict[str, str]:
    """Line 5 of the счёт-фактура, "К платёжно-расчётному документу": the payment order's number and
    date — from the bank statement (the dedupe key ``account:date:number:payer account:amount``), else
    the source's id (a gateway's) or Kopeck's payment number, and the payment's date."""
    parts = pay.external_id.split(":") if pay.method == "bank" else []
    if len(parts) == 5 and parts[2]:
        return {"number": parts[2], "date": parts[1]}
    return {"number": pay.external_id[:50] or str(pay.pk), "date": pay.date.isoformat()}


def _vat(units: int, rate: VatRate, currency: str) -> int:
    return to_minor(vat_inclusive(money(units, currency), rate).vat)


def _sum(qs: Any, expr: Any) -> int:
    return int(qs.aggregate(s=Sum(expr))["s"] or 0)


def _outstanding(client_id: int, currency: str, upto: dt.date) -> int:
    """The client's money received (by ``upto``, less refunds) beyond what was shipped (acts and
    УПД), not yet covered by an advance счёт-фактура: what new advance счета-фактуры must cover."""
    received = _sum(Payment.objects.filter(client_id=client_id, currency=currency, status__in=RECEIVED_STATES,
                                           date__lte=upto), F("amount_minor") - F("refunded_minor"))
    shipped = _sum(Document.objects.filter(client_id=client_id, currency=currency, type__in=SHIPMENTS,
                                           status__in=ISSUED_STATES), "amount_minor")
    covered = _sum(PaymentAdvance.objects.filter(client_id=client_id, currency=currency,
                                                 document__status__in=ISSUED_STATES),
                   F("amount_minor") - F("offset_minor"))
    return max(0, max(0, received - shipped) - covered)


def _decide(actor: Actor, client: Client, currency: str, candidates: Sequence[Payment], *, on: dt.date,
            upto: dt.date, rate: VatRate) -> list[PaymentAdvance]:
    """Decide the advance of each candidate payment of one client (locked), the newest first: what is
    still uncovered is the newest money (older money was taken by the shipments first)."""
    left = _outstanding(client.pk, currency, upto)
    made = []
    for pay in sorted(candidates, key=lambda p: (p.date, p.pk), reverse=True):
        take = min(pay.amount_minor - pay.refunded_minor, left)
        doc = None
        if take > 0:
            draft = document_create_draft(
                actor=actor, type=DocumentType.ADVANCE_INVOICE_FACTURA, client=client, currency=currency,
                lines=[{"name": ADVANCE_LINE, "price": money(take, currency).to_str(), "vat_rate": rate.value,
                        "unit": "—", "unit_code": "—"}],
                prices_include_vat=True, payment_documents=[order_reference(pay)],
                notes=f"Аванс: платёж № {pay.pk} от {pay.date:%d.%m.%Y}")
            doc = document_issue(actor=actor, document=draft, issue_date=on)
            left -= take
        note = ("" if take > 0 else "Возвращён: аванса нет" if pay.amount_minor == pay.refunded_minor
                else "Оплата оказанных услуг: аванса нет")
        adv = PaymentAdvance.objects.create(
            payment=pay, client=client, currency=currency, amount_minor=max(take, 0), rate=rate.value,
            vat_minor=doc.vat_minor if doc is not None else 0, document=doc, note=note, created_by=actor.label,
            created_at=clock.now())
        audit_record(actor=actor, action="payment.advance", object_type="payment", object_id=pay.pk,
                     after={"advance": money(adv.amount_minor, currency).to_str(),
                            "vat": money(adv.vat_minor, currency).to_str(), "document": doc.pk if doc else None})
        made.append(adv)
    return made


def _undecided(qs: Any) -> Any:
    return qs.filter(client__isnull=False, status__in=RECEIVED_STATES, advance__isnull=True)


def advance_invoices_issue(*, actor: Actor, on: dt.date | None = None) -> list[PaymentAdvance]:
    """The daily job: decide the advance of the payments of the last five days dated before ``on``
    (default today) and issue their advance счета-фактуры, dated ``on``. Does nothing unless the
    payments setting ``advance_invoice_factura`` is on. Idempotent; one transaction per client."""
    if not payment_settings().advance_invoice_factura:
        return []
    day = on or provider_today()
    rate = advance_rate()
    if rate is None:
        return []
    if default_legal_entity() is None:
        log.warning("advance invoices-factura are due but no legal entity is the default one")
        return []
    upto = day - dt.timedelta(days=1)
    keys = list(_undecided(Payment.objects.filter(date__gte=day - dt.timedelta(days=ADVANCE_DAYS), date__lte=upto))
                .values_list("client_id", "currency").distinct().order_by("client_id", "currency"))
    made: list[PaymentAdvance] = []
    for client_id, currency in keys:
        with transaction.atomic():
            client = Client.objects.select_for_update().get(pk=client_id)
            candidates = list(_undecided(Payment.objects.select_for_update(of=("self",)).filter(
                client_id=client_id, currency=currency, date__gte=day - dt.timedelta(days=ADVANCE_DAYS),
                date__lte=upto)))
            made += _decide(actor, client, currency, candidates, on=day, upto=upto, rate=rate)
    return made


def payment_advance_invoice_issue(*, actor: Actor, payment: Payment, on: dt.date | None = None) -> PaymentAdvance:
    """Decide one payment's advance now and issue its advance счёт-фактура (a payment the job did not
    take: identified late, or older than five days). Refused for a payment decided already."""
    day = on or provider_today()
    rate = advance_rate()
    if rate is None:
        raise Conflict(_("Advances carry no VAT under the provider's VAT regime: no advance invoice-factura."),
                       errors={"payment": [_("No VAT on advances.")]})
    with transaction.atomic():
        client_id = Payment.objects.filter(pk=payment.pk).values_list("client_id", flat=True).first()
        if client_id is not None:  # the client's row first, as the job locks them (no deadlock)
            Client.objects.select_for_update().filter(pk=client_id).first()
        pay = Payment.objects.select_for_update().filter(pk=payment.pk).first()
        if pay is None or pay.client_id is None or pay.client_id != client_id or pay.status not in RECEIVED_STATES:
            raise Conflict(_("Only a payment credited to a client has an advance."),
                           errors={"payment": [_("Not credited to a client.")]})
        if PaymentAdvance.objects.filter(payment=pay).exists():
            raise Conflict(_("The advance of payment %(id)s is decided already.") % {"id": pay.pk},
                           errors={"payment": [_("Decided already.")]})
        if pay.date > day:
            raise ValidationFailed.field("on", _("The payment's date is after this day."))
        client = Client.objects.get(pk=pay.client_id)
        (adv,) = _decide(actor, client, pay.currency, [pay], on=day, upto=day, rate=rate)
    return adv


def _offset(advance: PaymentAdvance, units: int) -> tuple[int, int]:
    """What of ``units`` the advance takes, and its VAT (the last part takes the VAT that is left)."""
    take = min(units, advance.remaining_minor)
    if take <= 0:
        return 0, 0
    if take == advance.remaining_minor:
        return take, advance.vat_minor - advance.offset_vat_minor
    vat = _vat(take, VatRate.parse(advance.rate), advance.currency)
    return take, min(vat, advance.vat_minor - advance.offset_vat_minor)


def advances_offset_shipments(*, actor: Actor, documents: Sequence[Document]) -> list[AdvanceOffset]:
    """Зачёт аванса, in the issuing transaction of acts and УПД (the documents app's
    :class:`~kopeck.documents.ports.ShipmentListener`): each shipment takes the client's advances
    with an advance счёт-фактура issued by its date, the oldest first, up to its total."""
    ships = sorted((d for d in documents if d.type in SHIPMENTS and d.amount_minor > 0 and d.issue_date),
                   key=lambda d: (d.issue_date, d.pk))
    if not ships:
        return []
    open_advances = list(PaymentAdvance.objects.select_for_update(of=("self",)).select_related("document").filter(
        client_id__in={d.client_id for d in ships}, offset_minor__lt=F("amount_minor"),
        document__status__in=ISSUED_STATES).order_by("document__issue_date", "document_id"))
    if not open_advances:
        return []
    now = clock.now()
    offsets: list[AdvanceOffset] = []
    changed: dict[int, PaymentAdvance] = {}
    for ship in ships:
        assert ship.issue_date is not None
        left = ship.amount_minor
        for adv in open_advances:
            assert adv.document is not None and adv.document.issue_date is not None
            if left <= 0:
                break
            if (adv.client_id, adv.currency) != (ship.client_id, ship.currency) or \
                    adv.document.issue_date > ship.issue_date:
                continue
            take, vat = _offset(adv, left)
            if take <= 0:
                continue
            offsets.append(AdvanceOffset(advance=adv, shipment=ship, date=ship.issue_date, currency=adv.currency,
                                         amount_minor=take, vat_minor=vat, created_by=actor.label, created_at=now))
            adv.offset_minor += take
            adv.offset_vat_minor += vat
            changed[adv.pk] = adv
            left -= take
    if not offsets:
        return []
    AdvanceOffset.objects.bulk_create(offsets)
    PaymentAdvance.objects.bulk_update(list(changed.values()), ["offset_minor", "offset_vat_minor"])
    for off in offsets:
        audit_record(actor=actor, action="payment.advance_offset", object_type="payment",
                     object_id=off.advance.payment_id,
                     after={"shipment": off.shipment_id, "amount": money(off.amount_minor, off.currency).to_str(),
                            "vat": money(off.vat_minor, off.currency).to_str(), "date": off.date})
    return offsets


def advances_release_cancelled_shipments(*, actor: Actor, documents: Sequence[Document]) -> int:
    """An act or УПД cancelled: the offsets it made are cancelled (kept, with ``cancelled_at``) and
    their advances are open again by as much (the documents app's cancel port). How many."""
    ids = [d.pk for d in documents if d.type in SHIPMENTS]
    if not ids:
        return 0
    offsets = list(AdvanceOffset.objects.select_for_update().filter(shipment_id__in=ids, cancelled_at__isnull=True)
                   .order_by("id"))
    if not offsets:
        return 0
    advances = {a.pk: a for a in PaymentAdvance.objects.select_for_update().filter(
        pk__in={o.advance_id for o in offsets}).order_by("id")}
    now = clock.now()
    for off in offsets:
        adv = advances[off.advance_id]
        adv.offset_minor -= off.amount_minor
        adv.offset_vat_minor -= off.vat_minor
        off.cancelled_at = now
        audit_record(actor=actor, action="payment.advance_offset_cancel", object_type="payment",
                     object_id=adv.payment_id, after={"shipment": off.shipment_id,
                                                      "amount": money(off.amount_minor, off.currency).to_str(),
                                                      "vat": money(off.vat_minor, off.currency).to_str()})
    AdvanceOffset.objects.bulk_update(offsets, ["cancelled_at"])
    PaymentAdvance.objects.bulk_update(list(advances.values()), ["offset_minor", "offset_vat_minor"])
    return len(offsets)


def advance_offset_refund(actor: Actor, pay: Payment, refund: Refund) -> AdvanceOffset | None:
    """A refund of a payment returns its advance first (п. 5 ст. 171 НК: the VAT of the advance
    returned is accepted for deduction). Called by ``payment_refund`` with the payment locked."""
    adv = PaymentAdvance.objects.select_for_update(of=("self",)).filter(
        payment=pay, offset_minor__lt=F("amount_minor"), document__status__in=ISSUED_STATES).first()
    if adv is None:
        return None
    take, vat = _offset(adv, refund.amount_minor)
    off = AdvanceOffset.objects.create(advance=adv, refund=refund, date=refund.date, currency=adv.currency,
                                       amount_minor=take, vat_minor=vat, created_by=actor.label,
                                       created_at=clock.now())
    adv.offset_minor += take
    adv.offset_vat_minor += vat
    adv.save(update_fields=["offset_minor", "offset_vat_minor"])
    audit_record(actor=actor, action="payment.advance_offset", object_type="payment", object_id=pay.pk,
                 after={"refund": refund.pk, "amount": money(take, adv.currency).to_str(),
                        "vat": money(vat, adv.currency).to_str(), "date": refund.date})
    return off


def advance_release_for_reversal(actor: Actor, pay: Payment, reason: str) -> None:
    """A payment posted by mistake had no advance: its advance счёт-фактура is cancelled. Refused
    (nothing changed) once a shipment or a refund offset it — correct those first."""
    adv = (PaymentAdvance.objects.select_for_update(of=("self",)).filter(payment=pay).select_related("document")
           .first())
    if adv is None or adv.document is None or adv.document.status not in ISSUED_STATES:
        return
    if adv.offset_minor:
        shipments = sorted({n for n in adv.offsets.filter(~Q(shipment=None), cancelled_at__isnull=True).values_list("shipment__number",
                                                                                          flat=True) if n})
        number = adv.document.number
        raise Conflict(_("The advance invoice-factura %(number)s of this payment is offset already against %(shipments)s: "
                         "the payment cannot be reversed.") % {"number": number, "shipments": ", ".join(shipments)}
                       if shipments else _("The advance invoice-factura %(number)s of this payment is offset already: "
                                           "the payment cannot be reversed.") % {"number": number},
                       errors={"status": [_("Its advance is offset.")]})
    document_cancel(actor=actor, document=adv.document, reason=f"Сторно платежа № {pay.pk}: {reason}")
