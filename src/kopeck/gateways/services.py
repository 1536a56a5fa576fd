"""Writes of gateways: settings, online payments, notifications and their verdicts, settlement
(the one path to crediting), refunds and reconciliation. Autopayments: kopeck.gateways.autopay.

Money is credited only from a verified server-to-server notification or an API fetch, never from a
browser return; the order, amount and currency are checked against the GatewayPayment; every
notification is stored before it is checked; one transaction of the provider is accepted once."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from kopeck.audit.services import audit_record
from kopeck.common import secrets
from kopeck.common.actor import Actor
from kopeck.common.clock import now
from kopeck.common.errors import Conflict, KopeckError, ValidationFailed
from kopeck.core.money import Money, MoneyError, from_minor, to_minor
from kopeck.gateways import crediting
from kopeck.gateways import messages as m
from kopeck.gateways.models import (
    AutopayCharge,
    GatewayPayment,
    GatewayRefund,
    GatewaySetting,
    Notification,
    PaymentStatus,
    ProviderCode,
    Reason,
    RefundStatus,
    SavedMethod,
    Verdict,
)
from kopeck.gateways.providers import provider
from kopeck.gateways.providers.base import (
    Config,
    Declined,
    Order,
    ProviderError,
    Refused,
    Remote,
    SavedToken,
    Verified,
)
from kopeck.gateways.receipts import Receipt, ReceiptError, receipt_advance, receipt_build

SYSTEM = Actor.system("gateways")
FINAL = (PaymentStatus.SUCCEEDED, PaymentStatus.CANCELED, PaymentStatus.FAILED)


class GatewayUnavailable(KopeckError):
    status = 502
    code = "gateway-unavailable"
    title = gettext_noop("Payment gateway unavailable")


# ---------------------------------------------------------------- settings


def config_of(setting: GatewaySetting) -> Config:
    creds: dict[str, str] = json.loads(secrets.decrypt(setting.credentials_encrypted)) \
        if setting.credentials_encrypted else {}
    return Config(setting_id=setting.pk, is_live=setting.is_live, options=dict(setting.options or {}),
                  credentials=creds)


def setting_save(*, actor: Actor, setting: GatewaySetting, credentials: Mapping[str, str] | None = None) -> GatewaySetting:
    """Create or update a gateway setting; ``credentials`` (when given) replace the stored ones, blank
    values keep the stored value of that name."""
    if setting.provider not in ProviderCode.values:
        raise ValidationFailed.field("provider", _("Unknown provider."))
    if not str(setting.name or "").strip():
        raise ValidationFailed.field("name", _("A name is required."))
    with transaction.atomic():
        at = now()
        if credentials is not None:
            merged = dict(config_of(setting).credentials) if setting.credentials_encrypted else {}
            merged.update({k: str(v) for k, v in credentials.items() if str(v or "").strip()})
            setting.credentials_encrypted = secrets.encrypt(json.dumps(merged))
        if setting.pk is None:
            setting.created_at = at
        setting.updated_at = at
        setting.save()
        audit_record(actor=actor, action="gateway_setting.save", object_type="gateway_setting", object_id=setting.pk,
                     after={"provider": setting.provider, "name": setting.name, "is_live": setting.is_live,
                            "is_enabled": setting.is_enabled, "options": setting.options,
                            "credentials": sorted(config_of(setting).credentials)})
    return setting


# ---------------------------------------------------------------- receipts


def client_contact(client: Any) -> tuple[str, str]:
    email = phone = ""
    for contact in client.contacts.all():
        if contact.kind == "email" and not email:
            email = contact.value
        elif contact.kind == "phone" and not phone:
            phone = contact.value
    return email, phone


def invoice_shipped(invoice: Any) -> bool:
    """Whether an act or УПД already closes the charges the invoice bills (the service was delivered
    before it is paid): then the payment is no prepayment."""
    from kopeck.documents.models import Document, DocumentType
    from kopeck.documents.services import ISSUED_STATES

    link = Document.transactions.through.objects
    charges = link.filter(document_id=invoice.pk).values("journaltransaction_id")
    return link.filter(journaltransaction_id__in=charges, document__type__in=(DocumentType.ACT, DocumentType.UPD),
                       document__status__in=ISSUED_STATES).exists()


def receipt_for(setting: GatewaySetting, client: Any, invoice: Any, money: Money) -> Receipt | None:
    """The 54-ФЗ receipt of a payment where the provider fiscalises (option ``receipts`` on): the
    invoice's lines as full prepayment (or full payment with option ``receipt_mode=full_payment``),
    or one advance line for money paid with no invoice. An invoice whose services an act or УПД already
    delivered is paid in full payment (``full_payment`` at the plain rate): no advance, so no offset
    receipt later."""
    if not provider(setting.provider).fiscalises or not setting.options.get("receipts", False):
        return None
    email, phone = client_contact(client)
    tax_system = str(setting.options.get("tax_system") or "osn")
    try:
        lines = (invoice.data or {}).get("lines") if invoice is not None else None
        shipped = invoice is not None and invoice_shipped(invoice)
        if lines and to_minor(money) == invoice.amount_minor:
            method = "full_payment" if shipped or setting.options.get("receipt_mode") == "full_payment" \
                else "full_prepayment"
            return receipt_build(lines=lines, currency=money.currency.code, payment_method=method, email=email,
                                 phone=phone, tax_system=tax_system)
        vat = str(setting.options.get("advance_vat") or "22")
        if shipped:  # a part of a delivered invoice: paid in full payment, one line
            return receipt_build(lines=[{"name": f"Оплата услуг по счёту № {invoice.number}"[:128], "quantity": "1",
                                         "price": str(money.amount), "gross": str(money.amount), "rate": vat,
                                         "exempt": vat == "none"}], currency=money.currency.code,
                                 payment_method="full_payment", email=email, phone=phone, tax_system=tax_system)
        return receipt_advance(amount=money.amount, currency=money.currency.code, vat=vat, email=email, phone=phone,
                               tax_system=tax_system)
    except ReceiptError as exc:
        raise ValidationFailed.field("receipt", receipt_problem(exc)) from exc


def receipt_problem(exc: ReceiptError) -> str:
    """A receipt's problem (kopeck.gateways.receipts, which knows no Django) in the active language."""
    return _(exc.template) % exc.params


# ---------------------------------------------------------------- online payments


def _order(payment: GatewayPayment, *, return_url: str = "", receipt: Receipt | None = None) -> Order:
    email, phone = client_contact(payment.client)
    return Order(order_id=payment.order_id, amount=from_minor(payment.amount_minor, payment.currency),
                 description=payment.description, return_url=return_url, client_id=payment.client_id, email=email,
                 phone=phone, receipt=receipt, save_method=payment.save_method, idempotence_key=payment.order_id,
                 number=payment.pk)


def _choose_setting(setting: GatewaySetting | None, client: Any) -> GatewaySetting:
    if setting is not None:
        if not setting.is_enabled:
            raise ValidationFailed.field("gateway", _("This gateway is disabled."))
        return setting
    found = GatewaySetting.objects.filter(is_enabled=True).order_by("id").first()
    if found is None:
        raise ValidationFailed.field("gateway", _("No payment gateway is enabled."))
    return found


def online_payment_create(*, actor: Actor, client: Any, setting: GatewaySetting | None = None, invoice: Any = None,
                          amount: object = None, currency: str | None = None, return_url: str = "",
                          save_method: bool = False, description: str = "") -> GatewayPayment:
    """Create Kopeck's order record and the provider's payment; the record carries where to send the
    payer (``confirmation_url`` or ``widget``). Nothing is credited here."""
    setting = _choose_setting(setting, client)
    prov = provider(setting.provider)
    if prov.disabled_reason and not setting.options.get("legacy_override"):
        raise ValidationFailed.field("gateway", str(prov.disabled_reason))
    if invoice is not None and invoice.client_id != client.pk:
        raise ValidationFailed.field("invoice", _("The invoice belongs to another client."))
    if invoice is not None and invoice.status not in ("issued", "partly_paid"):
        raise ValidationFailed.field("invoice", _("Only an issued, unpaid invoice can be paid online."))
    code = (currency or (invoice.currency if invoice is not None else client.currency)).upper()
    try:
        if amount in (None, ""):
            if invoice is None:
                raise ValidationFailed.field("amount", _("An amount or an invoice is required."))
            money = from_minor(invoice.amount_minor - invoice.paid_minor, code)
        else:
            money = Money(amount, code)
        if not money.is_positive() or not money.is_rounded():
            raise ValidationFailed.field("amount", _("The amount must be positive, in whole minor units."))
    except MoneyError as exc:
        raise money_problem(exc, code) from exc
    if code != client.currency:
        raise ValidationFailed.field("currency", _("The client's account is in %(currency)s.")
                                     % {"currency": client.currency})
    if invoice is not None and code != invoice.currency:
        raise ValidationFailed.field("currency", _("The invoice is in another currency."))
    if save_method and not prov.saves_methods:
        raise ValidationFailed.field("save_method", _("This gateway cannot save payment methods."))
    receipt = receipt_for(setting, client, invoice, money)
    text = description or (f"Оплата счёта № {invoice.number}" if invoice is not None else "Пополнение баланса")
    at = now()
    with transaction.atomic():
        payment = GatewayPayment.objects.create(
            setting=setting, client=client, invoice=invoice, order_id=uuid.uuid4().hex, amount_minor=to_minor(money),
            currency=code, description=text[:250], is_test=not setting.is_live, save_method=save_method,
            receipt=_receipt_json(receipt), created_by=str(actor), created_at=at, updated_at=at)
        audit_record(actor=actor, action="gateway_payment.create", object_type="gateway_payment", object_id=payment.pk,
                     after={"order_id": payment.order_id, "amount": money.to_str(), "currency": code,
                            "invoice": invoice.pk if invoice is not None else None, "gateway": setting.pk})
    try:
        created = prov.create(config_of(setting), _order(payment, return_url=return_url, receipt=receipt))
    except (ProviderError, Declined, Refused) as exc:
        GatewayPayment.objects.filter(pk=payment.pk).update(status=PaymentStatus.FAILED, failure_reason=str(exc)[:500],
                                                            updated_at=now())
        raise GatewayUnavailable(_("The gateway did not create the payment: %(message)s")
                                 % {"message": m.told(str(exc))}) from exc
    GatewayPayment.objects.filter(pk=payment.pk, status=PaymentStatus.CREATED).update(
        status=PaymentStatus.PENDING, provider_payment_id=created.provider_payment_id,
        confirmation_url=created.redirect_url, widget=created.widget, updated_at=now())
    payment.refresh_from_db()
    return payment


def money_problem(exc: MoneyError, code: str, field: str = "amount") -> ValidationFailed:
    """An amount that is no amount of ``code`` (the core's MoneyError), told in the active language."""
    if "currency" in str(exc):
        return ValidationFailed.field("currency", _("unknown currency %(code)r") % {"code": code})
    return ValidationFailed.field(field, _("Give the amount as a decimal number."))


def _receipt_json(receipt: Receipt | None) -> dict[str, Any]:
    if receipt is None:
        return {}
    return {"email": receipt.email, "phone": receipt.phone, "tax_system": receipt.tax_system,
            "items": [{"name": i.name, "quantity": str(i.quantity), "price": str(i.price), "amount": str(i.amount),
                       "vat": i.vat, "payment_method": i.payment_method, "payment_subject": i.payment_subject}
                      for i in receipt.items]}


# ---------------------------------------------------------------- settlement


@dataclass(frozen=True)
class Outcome:
    verdict: str
    reason: str
    detail: str = ""
    payment_id: int | None = None


def _saved_method(payment: GatewayPayment, saved: SavedToken | None) -> SavedMethod | None:
    if saved is None or not payment.save_method or payment.saved_method_id:
        return None
    return SavedMethod.objects.create(client=payment.client, setting=payment.setting,
                                      token_encrypted=secrets.encrypt(saved.token), title=saved.title[:100],
                                      created_at=now())


def settle(*, payment_id: int, outcome: str, amount: Decimal | None, currency: str, is_test: bool,
           transaction_id: str, provider_payment_id: str = "", saved: SavedToken | None = None,
           detail: str = "", actor: Actor = SYSTEM) -> Outcome:
    """Apply what a provider proved about a payment (a verified notification or an API fetch) to
    Kopeck's record, in one transaction with the payment row locked: checks, then credit once."""
    with transaction.atomic():
        payment = _locked(GatewayPayment.objects.filter(pk=payment_id)).get()
        return _settle_locked(payment, outcome=outcome, amount=amount, currency=currency, is_test=is_test,
                              transaction_id=transaction_id, provider_payment_id=provider_payment_id, saved=saved,
                              detail=detail, actor=actor)


def _locked(qs: QuerySet[GatewayPayment]) -> QuerySet[GatewayPayment]:
    """The payment rows of ``qs`` locked for this transaction, with their setting and client read in
    the same statement. Only the payment's row is locked (``OF self``), and ``NO KEY UPDATE`` lets rows
    that refer to it (notifications, refunds) be written meanwhile: locking the joined setting row too
    would queue every notification of a gateway behind the one being credited."""
    charged = Exists(AutopayCharge.objects.filter(payment=OuterRef("pk")))  # an autopayment's charge?
    return qs.select_for_update(of=("self",), no_key=True).select_related("setting", "client").annotate(
        autopay=charged)


def _autopay_settled(payment: GatewayPayment) -> None:
    if getattr(payment, "autopay", True):  # only a payment made for an autopayment's charge has one to update
        from kopeck.gateways.autopay import on_payment_settled

        on_payment_settled(payment)


def settle_checks(payment: GatewayPayment, *, outcome: str, amount: Decimal | None, currency: str, is_test: bool,
                  provider_payment_id: str = "") -> Outcome | None:
    """What a locked order refuses or has already had (test on live, amount, currency, Check's answer,
    already paid or credited); ``None``: apply ``outcome``."""
    setting = payment.setting
    if is_test and setting.is_live:
        return Outcome(Verdict.REFUSED, Reason.TEST_ON_LIVE, m.TEST_PAYMENT_ON_LIVE, payment.pk)
    expected = from_minor(payment.amount_minor, payment.currency)
    if outcome in ("paid", "authorized", "check"):
        if currency and currency.upper() != payment.currency:
            return Outcome(Verdict.REFUSED, Reason.CURRENCY,
                           m.INSTEAD % {"got": currency, "expected": payment.currency}, payment.pk)
        if amount is None or amount != expected.amount:
            return Outcome(Verdict.REFUSED, Reason.AMOUNT, amount_differs(amount, expected.amount), payment.pk)
    if outcome == "check":
        if payment.status == PaymentStatus.SUCCEEDED:
            return Outcome(Verdict.REFUSED, Reason.ALREADY_PAID, m.ALREADY_PAID, payment.pk)
        return Outcome(Verdict.ACCEPTED, Reason.STATUS, m.MAY_PROCEED, payment.pk)
    if payment.status == PaymentStatus.SUCCEEDED:
        if outcome == "paid" and provider_payment_id and payment.provider_payment_id \
                and provider_payment_id != payment.provider_payment_id:
            return Outcome(Verdict.REFUSED, Reason.ALREADY_PAID,
                           m.PAID_BY_ANOTHER % {"paid": payment.provider_payment_id, "this": provider_payment_id},
                           payment.pk)
        return Outcome(Verdict.DUPLICATE, Reason.NONE, m.ALREADY_CREDITED, payment.pk)
    return None


def amount_differs(amount: Decimal | None, expected: Decimal) -> str:
    """The stored detail of an amount that is not the order's (none given, or another)."""
    if amount is None:
        return m.NO_AMOUNT % {"expected": expected}
    return m.INSTEAD % {"got": amount, "expected": expected}


def _settle_locked(payment: GatewayPayment, *, outcome: str, amount: Decimal | None, currency: str, is_test: bool,
                   transaction_id: str, provider_payment_id: str = "", saved: SavedToken | None = None,
                   detail: str = "", actor: Actor = SYSTEM) -> Outcome:
    """:func:`settle` of a payment row the caller locked in its transaction."""
    refused = settle_checks(payment, outcome=outcome, amount=amount, currency=currency, is_test=is_test,
                            provider_payment_id=provider_payment_id)
    if refused is not None:
        return refused
    at = now()
    if outcome == "paid":
        method = _saved_method(payment, saved)
        payment.status = PaymentStatus.SUCCEEDED
        payment.provider_payment_id = provider_payment_id or payment.provider_payment_id
        payment.credited_at = at
        payment.credit_ref = crediting.credit(payment, actor=actor)
        if method is not None:
            payment.saved_method = method
        payment.updated_at = at
        payment.save(update_fields=["status", "provider_payment_id", "credited_at", "credit_ref", "saved_method",
                                    "updated_at"])
        audit_record(actor=actor, action="gateway_payment.credit", object_type="gateway_payment", object_id=payment.pk,
                     after={"transaction": transaction_id, "credit": payment.credit_ref})
        _autopay_settled(payment)
        return Outcome(Verdict.ACCEPTED, Reason.CREDITED, "", payment.pk)
    if outcome == "authorized":
        payment.status = PaymentStatus.AUTHORIZED
    elif outcome == "failed":
        payment.status = PaymentStatus.FAILED
        payment.failure_reason = detail[:500]
    else:
        return Outcome(Verdict.IGNORED, Reason.STATUS, detail, payment.pk)
    payment.provider_payment_id = provider_payment_id or payment.provider_payment_id
    payment.updated_at = at
    payment.save(update_fields=["status", "provider_payment_id", "failure_reason", "updated_at"])
    if payment.status == PaymentStatus.FAILED:
        _autopay_settled(payment)
    return Outcome(Verdict.ACCEPTED, Reason.STATUS, "", payment.pk)


# ---------------------------------------------------------------- notifications


def _payment_locked(setting: GatewaySetting, verified: Verified) -> tuple[GatewayPayment | None, bool]:
    """The order a verified notification names, locked, and whether its transaction and event were
    already accepted — in one statement."""
    qs = GatewayPayment.objects.filter(setting=setting)
    if verified.order_id:  # the order named is the order checked: no fallback to another key
        qs = qs.filter(order_id=verified.order_id)
    elif verified.provider_payment_id:
        qs = qs.filter(provider_payment_id=verified.provider_payment_id)
    else:
        return None, False
    if verified.transaction_id:
        qs = qs.annotate(taken=Exists(Notification.objects.filter(
            setting=setting, transaction_id=verified.transaction_id, event=verified.event, verdict=Verdict.ACCEPTED)))
    payment = _locked(qs).order_by("pk").first()
    return payment, bool(getattr(payment, "taken", False))



# ---------------------------------------------------------------- fetch, reconcile, refund


def payment_fetch(*, payment: GatewayPayment, actor: Actor = SYSTEM) -> Outcome:
    """Ask the provider for the payment's status and settle what it says (the reconciliation of one
    payment; also how an autopayment's charge is settled)."""
    setting = payment.setting
    prov = provider(setting.provider)
    try:
        remote = prov.fetch(config_of(setting), payment.provider_payment_id, payment.order_id)
    except NotImplementedError:
        return Outcome(Verdict.IGNORED, Reason.STATUS, m.NO_STATUS_API, payment.pk)
    except Refused as exc:
        return Outcome(Verdict.REFUSED, exc.reason, exc.detail, payment.pk)
    except ProviderError as exc:
        return Outcome(Verdict.RECEIVED, Reason.PROVIDER_ERROR, str(exc), payment.pk)
    return settle_remote(payment=payment, remote=remote, actor=actor)


def settle_remote(*, payment: GatewayPayment, remote: Remote, actor: Actor = SYSTEM) -> Outcome:
    outcome = {PaymentStatus.SUCCEEDED: "paid", PaymentStatus.AUTHORIZED: "authorized",
               PaymentStatus.CANCELED: "failed", PaymentStatus.FAILED: "failed"}.get(PaymentStatus(remote.status), "other")
    if remote.order_id and remote.order_id != payment.order_id:
        return Outcome(Verdict.REFUSED, Reason.UNKNOWN_ORDER, m.FOR_ANOTHER_ORDER % {"order": remote.order_id},
                       payment.pk)
    return settle(payment_id=payment.pk, outcome=outcome, amount=remote.amount, currency=remote.currency,
                  is_test=remote.is_test, transaction_id=remote.provider_payment_id,
                  provider_payment_id=remote.provider_payment_id, saved=remote.saved, detail=remote.detail, actor=actor)


def gateways_reconcile(*, older_than: dt.timedelta | None = None, limit: int = 500) -> dict[str, int]:
    """Fetch the status of payments still pending after ``older_than`` (default: the setting's
    ``reconcile_after_minutes``, else 15 minutes), so a lost notification loses no money."""
    counts: dict[str, int] = {}
    cutoff = now() - (older_than or dt.timedelta(minutes=15))
    pending = GatewayPayment.objects.filter(
        status__in=[PaymentStatus.PENDING, PaymentStatus.AUTHORIZED], created_at__lte=cutoff,
        setting__is_enabled=True).select_related("setting", "client").order_by("id")[:limit]
    for payment in pending:
        outcome = payment_fetch(payment=payment)
        key = outcome.reason or outcome.verdict
        counts[key] = counts.get(key, 0) + 1
    return counts


def online_refund(*, actor: Actor, payment: GatewayPayment, amount: object, reason: str) -> GatewayRefund:
    """Refund (part of) a paid online payment through its provider; the money leaves the client's account
    when the provider accepts it. A refusal changes nothing in the books; the attempt stays as a failed
    GatewayRefund."""
    return online_refund_recorded(actor=actor, payment=payment, amount=amount, reason=reason)[0]


def online_refund_recorded(*, actor: Actor, payment: GatewayPayment, amount: object, reason: str,
                           date: dt.date | None = None) -> tuple[GatewayRefund, Any]:
    """:func:`online_refund`, returning also the refund recorded in kopeck.payments."""
    if payment.status != PaymentStatus.SUCCEEDED:
        raise Conflict(_("Only a paid online payment can be refunded."))
    if not str(reason or "").strip():
        raise ValidationFailed.field("reason", _("A reason is required."))
    try:
        money = Money(amount, payment.currency)
    except MoneyError as exc:
        raise money_problem(exc, payment.currency) from exc
    refunded = sum(r.amount_minor for r in payment.refunds.exclude(status=RefundStatus.FAILED))
    if not money.is_positive() or not money.is_rounded() or to_minor(money) > payment.amount_minor - refunded:
        raise ValidationFailed.field("amount", _("The amount must be positive and at most what is left to refund."))
    with transaction.atomic():
        refund = GatewayRefund.objects.create(payment=payment, amount_minor=to_minor(money), reason=reason.strip(),
                                              created_by=str(actor), created_at=now())
    try:
        ref = provider(payment.setting.provider).refund(config_of(payment.setting), payment.provider_payment_id,
                                                        money, f"refund-{refund.pk}")
    except NotImplementedError as exc:
        refund.status = RefundStatus.FAILED
        refund.save(update_fields=["status"])
        raise ValidationFailed.field("payment", _("This provider refunds from its own dashboard only.")) from exc
    except (ProviderError, Declined, Refused) as exc:
        refund.status = RefundStatus.FAILED
        refund.save(update_fields=["status"])
        raise GatewayUnavailable(_("The refund was not made: %(message)s") % {"message": m.told(str(exc))}) from exc
    with transaction.atomic():
        from kopeck.payments.models import Payment
        from kopeck.payments.services import payment_refund

        refund.status, refund.provider_refund_id = RefundStatus.SUCCEEDED, ref
        refund.save(update_fields=["status", "provider_refund_id"])
        recorded = Payment.objects.get(pk=int(payment.credit_ref.split(":", 1)[1]))
        booked = payment_refund(actor=actor, payment=recorded, reason=reason.strip(), amount=money.amount,
                                date=date, external_id=f"{payment.setting.provider}:{ref}")
        audit_record(actor=actor, action="gateway_payment.refund", object_type="gateway_payment", object_id=payment.pk,
                     after={"refund": refund.pk, "amount": money.to_str(), "provider_refund_id": ref})
    return refund, booked


def final_receipt_send(*, actor: Actor, payment: GatewayPayment, lines: Any = None,
                       act: int | None = None) -> GatewayPayment:
    """The second receipt of a prepaid online payment, when the service is delivered (the advance is
    offset): the invoice's lines (or ``lines``) as ``full_payment`` at the plain VAT rate, sent through
    the provider's receipt API. Sent once per payment (idempotence key ``final-<order id>``); ``act``:
    the act or УПД whose issue called for it (kopeck.gateways.offsets), kept with the receipt."""
    if payment.status != PaymentStatus.SUCCEEDED:
        raise Conflict(_("Only a paid online payment gets its final receipt."))
    if (payment.receipt or {}).get("final"):
        raise Conflict(_("The final receipt was already sent."))
    if not payment.receipt or payment.receipt.get("items", [{}])[0].get("payment_method") == "full_payment":
        raise ValidationFailed.field("payment", _("This payment was not receipted as a prepayment."))
    email, phone = client_contact(payment.client)
    source = lines if lines is not None else (payment.invoice.data or {}).get("lines") if payment.invoice else None
    try:
        if source:
            receipt = receipt_build(lines=source, currency=payment.currency, payment_method="full_payment",
                                    email=email, phone=phone, tax_system=payment.receipt.get("tax_system") or "osn")
        else:
            item = payment.receipt["items"][0]
            receipt = receipt_build(lines=[{"name": "Оплата услуг", "quantity": "1", "price": item["amount"],
                                            "gross": item["amount"], "rate": item["vat"], "exempt": item["vat"] == "none"}],
                                    currency=payment.currency, payment_method="full_payment", email=email, phone=phone,
                                    tax_system=payment.receipt.get("tax_system") or "osn")
    except ReceiptError as exc:
        raise ValidationFailed.field("receipt", receipt_problem(exc)) from exc
    cfg = config_of(payment.setting)
    entity = payment.setting.legal_entity
    if entity is not None and not cfg.option("inn"):  # the cash register's owner (CloudPayments asks)
        cfg = Config(setting_id=cfg.setting_id, is_live=cfg.is_live, options={**cfg.options, "inn": entity.inn},
                     credentials=cfg.credentials)
    try:
        receipt_id = provider(payment.setting.provider).final_receipt(
            cfg, payment.provider_payment_id, receipt, f"final-{payment.order_id}")
    except NotImplementedError as exc:
        raise ValidationFailed.field("payment", _("This provider's final receipts are made in its dashboard.")) \
            from exc
    except (ProviderError, Declined) as exc:
        raise GatewayUnavailable(_("The final receipt was not sent: %(message)s")
                                 % {"message": m.told(str(exc))}) from exc
    with transaction.atomic():
        final = {"id": receipt_id, **_receipt_json(receipt), **({"act": act} if act is not None else {})}
        payment.receipt = {**payment.receipt, "final": final}
        payment.updated_at = now()
        payment.save(update_fields=["receipt", "updated_at"])
        audit_record(actor=actor, action="gateway_payment.final_receipt", object_type="gateway_payment",
                     object_id=payment.pk, after={"receipt": receipt_id})
    return payment


def saved_method_remove(*, actor: Actor, method: SavedMethod) -> SavedMethod:
    """Remove a saved method: it is never charged again (autopayments using it are switched off)."""
    with transaction.atomic():
        method.is_active = False
        method.removed_at = now()
        method.token_encrypted = secrets.encrypt("")
        method.save(update_fields=["is_active", "removed_at", "token_encrypted"])
        method.autopays.update(is_enabled=False, updated_at=now())
        audit_record(actor=actor, action="saved_method.remove", object_type="saved_method", object_id=method.pk, after={"title": method.title})
    return method
