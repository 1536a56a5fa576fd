"""Status and kind labels say the Russian that agrees with their model's noun, and the merged catalogue
cannot silently give one msgid two Russian texts.

Django merges every catalogue (the project's ``kopeck/locale`` first, then the apps' in INSTALLED_APPS
order) into one, so a msgid without a context has ONE Russian text everywhere: "Cancelled" cannot be
«Отменён» for a billing run and «Аннулирован» for a document. Where the Russian differs, the label
has a context (``pgettext_lazy("document status", "Cancelled")``); the check below fails when two
catalogues translate the same msgid without a context differently (the second text would never show).
"""

from __future__ import annotations

from pathlib import Path

import polib
import pytest
from django.db import models
from django.utils import translation

from kopeck.billing.admin import LINE_KIND_LABELS
from kopeck.billing.models import BillingRun, RunChunk, RunItem
from kopeck.catalog.models import PlanVersion
from kopeck.clients.models import Client
from kopeck.credit.models import Block, Debt, Promise, StepRun
from kopeck.documents.models import Document, DocumentDelivery, DocumentSettings, DocumentTemplate
from kopeck.gateways.models import AutopayCharge, GatewayPayment, GatewayRefund, Notification, SavedMethod
from kopeck.outbox.models import OutboxMessage
from kopeck.payments.models import BankStatement, Payment, StatementLine
from kopeck.subscriptions.admin import TIMELINE_KINDS
from kopeck.subscriptions.admin_actions import ITEM_KINDS
from kopeck.subscriptions.models import ScheduledChange, Subscription

SRC = Path(__file__).resolve().parents[2] / "src" / "kopeck"

# Every status field of a model, value → the exact Russian label (the noun it agrees with in brackets).
STATUS_LABELS: dict[tuple[type[models.Model], str], dict[str, str]] = {
    (Client, "status"): {"active": "Активен", "blocked": "Заблокирован", "closed": "Закрыт"},  # клиент
    (PlanVersion, "status"): {"draft": "Черновик", "published": "Опубликована"},  # версия тарифа
    (Subscription, "status"): {  # подписка
        "pending": "Ожидает начала", "trial": "Пробный период", "active": "Активна",
        "suspended": "Приостановлена", "cancelling": "Отменяется в конце периода", "ended": "Завершена"},
    (ScheduledChange, "status"): {  # запланированное изменение
        "pending": "Ожидает", "applied": "Применено", "cancelled": "Отменено", "replaced": "Заменено"},
    (BillingRun, "status"): {  # запуск биллинга
        "pending": "Ожидает", "computing": "Расчёт", "awaiting_confirmation": "Ожидает подтверждения",
        "applying": "Проведение", "completed": "Завершён", "failed": "Ошибка выполнения",
        "cancelled": "Отменён", "rejected": "Отклонён"},
    (RunItem, "status"): {"ok": "Успешно", "error": "Ошибка"},
    (RunChunk, "phase"): {"compute": "Расчёт", "bill": "Расчёт и проводка", "apply": "Проводка проверенного"},
    (Document, "status"): {  # документ
        "draft": "Черновик", "issued": "Выставлен", "partly_paid": "Частично оплачен", "paid": "Оплачен",
        "cancelled": "Аннулирован"},
    (Document, "upd_status"): {"1": "1", "2": "2"},  # the УПД's status code is a number on the form
    (DocumentSettings, "upd_status"): {"1": "1", "2": "2"},
    (DocumentDelivery, "status"): {  # отправка документа
        "queued": "В очереди", "sent": "Отправлена", "failed": "Ошибка", "no_mail": "Почта не настроена"},
    (Payment, "status"): {  # платёж
        "unidentified": "Невыясненный", "credited": "Зачислен", "partly_refunded": "Частично возвращён",
        "refunded": "Возвращён", "reversed": "Сторнирован"},
    (BankStatement, "status"): {"preview": "Предпросмотр", "applied": "Применена"},  # выписка
    (StatementLine, "outcome"): {  # документ выписки
        "matched": "Опознан", "unidentified": "Невыясненный", "duplicate": "Повтор", "ignored": "Пропущен"},
    (OutboxMessage, "status"): {"pending": "ожидает отправки", "delivered": "доставлено",
                                "dead": "попытки исчерпаны"},  # сообщение
    (Debt, "status"): {"open": "Открыта", "paid": "Погашена"},  # задолженность
    (StepRun, "status"): {"done": "Выполнен",
                          "skipped": "Пропущен: в тот же день наступил срок более позднего уведомления"},  # шаг
    (Promise, "status"): {"active": "Действует", "kept": "Исполнен: оплачено в срок",
                          "expired": "Просрочен"},  # обещанный платёж
    (GatewayPayment, "status"): {  # онлайн-платёж
        "created": "создан", "pending": "ожидает оплаты", "authorized": "авторизован, ожидает списания",
        "succeeded": "оплачен", "canceled": "отменён", "failed": "отклонён"},
    (GatewayRefund, "status"): {  # возврат онлайн-платежа
        "pending": "ожидает ответа агрегатора", "succeeded": "проведён", "failed": "не проведён"},
    (AutopayCharge, "status"): {  # списание автоплатежа
        "scheduled": "запланировано", "succeeded": "проведено", "failed": "отклонено", "gave_up": "попытки прекращены"},
}
# Other choices whose Russian agrees with their noun: field → value → label.
OTHER_LABELS: dict[tuple[type[models.Model], str], dict[str, str]] = {
    (Notification, "verdict"): {  # уведомление агрегатора
        "received": "получено, ещё не проверено", "queued": "принято, ожидает зачисления", "accepted": "принято",
        "duplicate": "повтор", "ignored": "не требует действий", "refused": "отклонено"},
}
# The apps other work is rewriting now; their status labels are theirs to pin.
NOT_IN_TABLE = {"rules", "events", "webhooks"}


def _status_fields() -> set[tuple[type[models.Model], str]]:
    from django.apps import apps

    return {(m, f.name) for m in apps.get_models() if m.__module__.startswith("kopeck.")
            and m._meta.app_label not in NOT_IN_TABLE for f in m._meta.concrete_fields
            if f.choices and (f.name in {"status", "outcome", "phase"} or f.name.endswith("_status"))}


def test_every_status_field_is_in_the_table() -> None:
    assert _status_fields() == set(STATUS_LABELS)


@pytest.mark.parametrize(("model", "field"), [*STATUS_LABELS, *OTHER_LABELS],
                         ids=lambda v: getattr(v, "__name__", v))
def test_a_status_label_agrees_with_its_noun(model: type[models.Model], field: str) -> None:
    choices = model._meta.get_field(field).flatchoices
    with translation.override("ru"):
        assert {str(value): str(label) for value, label in choices} == {**STATUS_LABELS, **OTHER_LABELS}[(model, field)]


def test_the_same_english_label_says_what_its_model_needs() -> None:
    """"Cancelled", "Paid", "Active", "Applied", "Failed", "Sent", "English": one English word, the
    Russian of each model."""
    with translation.override("ru"):
        assert [str(x) for x in (
            dict(BillingRun._meta.get_field("status").flatchoices)["cancelled"],
            dict(ScheduledChange._meta.get_field("status").flatchoices)["cancelled"],
            dict(Document._meta.get_field("status").flatchoices)["cancelled"],
            dict(Debt._meta.get_field("status").flatchoices)["paid"],
            dict(Document._meta.get_field("status").flatchoices)["paid"],
            dict(Promise._meta.get_field("status").flatchoices)["active"],
            dict(Client._meta.get_field("status").flatchoices)["active"],
            dict(BankStatement._meta.get_field("status").flatchoices)["applied"],
            dict(ScheduledChange._meta.get_field("status").flatchoices)["applied"],
            dict(DocumentDelivery._meta.get_field("status").flatchoices)["failed"],
            dict(BillingRun._meta.get_field("status").flatchoices)["failed"],
            dict(Document._meta.get_field("language").flatchoices)["en"],
            dict(DocumentTemplate._meta.get_field("language").flatchoices)["en"],
            dict(GatewayPayment._meta.get_field("status").flatchoices)["succeeded"],
            dict(AutopayCharge._meta.get_field("status").flatchoices)["succeeded"],
            dict(GatewayPayment._meta.get_field("status").flatchoices)["failed"],
            dict(AutopayCharge._meta.get_field("status").flatchoices)["failed"],
            dict(GatewayRefund._meta.get_field("status").flatchoices)["failed"],
        )] == ["Отменён", "Отменено", "Аннулирован", "Погашена", "Оплачен", "Действует", "Активен",
               "Применена", "Применено", "Ошибка", "Ошибка выполнения", "Английский", "Английский",
               "оплачен", "проведено", "отклонён", "отклонено", "не проведён"]
    with translation.override("en"):
        assert str(dict(Document._meta.get_field("status").flatchoices)["cancelled"]) == "Cancelled"
        assert str(dict(Debt._meta.get_field("status").flatchoices)["paid"]) == "Paid"


def test_kind_labels_in_russian() -> None:
    with translation.override("ru"):
        assert {k: str(v) for k, v in LINE_KIND_LABELS.items()} == {"charge": "списание", "credit": "возврат"}
        assert {k: str(v) for k, v in ITEM_KINDS.items()} == {"charge": "списание", "credit": "возврат"}
        assert {k: str(v) for k, v in TIMELINE_KINDS.items()} == {
            "created": "оформлена", "charge": "списание", "credit": "возврат", "status": "смена статуса"}
        assert str(Block._meta.get_field("automatic").verbose_name) == "автоматическая"
        assert str(SavedMethod._meta.get_field("is_active").verbose_name) == "действует"  # способ оплаты
        assert str(AutopayCharge._meta.get_field("created_at").verbose_name) == "создано"  # списание


# --- one msgid, one Russian text ------------------------------------------------------------------


def catalogues() -> dict[str, polib.POFile]:
    return {str(p.relative_to(SRC)): polib.pofile(str(p)) for p in sorted(SRC.rglob("locale/ru/LC_MESSAGES/*.po"))}


def disagreements(cats: dict[str, polib.POFile]) -> dict[str, dict[str, str]]:
    """The msgids without a context that two catalogues translate differently: msgid → {catalogue: text}."""
    seen: dict[str, dict[str, str]] = {}
    for name, po in cats.items():
        for entry in po:
            if entry.obsolete or entry.msgctxt is not None:
                continue
            text = entry.msgstr if not entry.msgid_plural else " | ".join(
                entry.msgstr_plural[i] for i in sorted(entry.msgstr_plural))
            if text:
                seen.setdefault(entry.msgid, {})[name] = text
    return {msgid: texts for msgid, texts in seen.items() if len(set(texts.values())) > 1}


def test_no_msgid_has_two_russian_texts() -> None:
    cats = catalogues()
    assert len(cats) >= 10
    assert disagreements(cats) == {}


def _po(*entries: tuple[str | None, str, str]) -> polib.POFile:
    po = polib.POFile()
    for ctx, msgid, msgstr in entries:
        po.append(polib.POEntry(msgctxt=ctx, msgid=msgid, msgstr=msgstr))
    return po


def test_the_check_finds_a_collision_and_lets_contexts_pass() -> None:
    assert disagreements({"a": _po((None, "Cancelled", "Отменено")),
                          "b": _po((None, "Cancelled", "Аннулирован"))}) == {
        "Cancelled": {"a": "Отменено", "b": "Аннулирован"}}
    assert disagreements({"a": _po(("billing run status", "Cancelled", "Отменён")),
                          "b": _po(("document status", "Cancelled", "Аннулирован"), (None, "Paid", "Оплачен")),
                          "c": _po((None, "Paid", "Оплачен"))}) == {}
