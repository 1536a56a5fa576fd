"""E-mail notices of billing runs to the operators (billing settings ``run_report_to``).

A run that posts (automatic, or with confirmation) sends one when it completes, when it awaits a
confirmation, and when it fails; sandbox runs send none. The notice goes through the outbox in the
transaction that changes the run's status, so it is sent once the change is committed, and never
for a change that rolled back. The text is Russian, then English (operators read either)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.urls import reverse

from kopeck.billing.models import BillingRun, RunMode
from kopeck.common.actor import Actor
from kopeck.configuration.selectors import billing_settings
from kopeck.core.documents import format_amount
from kopeck.core.money import Currency
from kopeck.events.services import event_record
from kopeck.notifications.services import email_enqueue

MODE = {RunMode.SANDBOX: ("песочница", "sandbox"), RunMode.AUTO: ("автоматический", "automatic"),
        RunMode.CONFIRM: ("с подтверждением", "with confirmation")}
WHAT = {"completed": ("завершён", "completed"), "awaiting_confirmation": ("ждёт подтверждения", "awaits confirmation"),
        "failed": ("остановился с ошибкой", "failed")}


def _ru(n: int) -> str:
    return format_amount(str(n), "ru", 0)  # 1 234: grouped with no-break spaces


def run_notice(run: BillingRun, event: str) -> tuple[str, str]:
    """The subject and the body of the notice of ``event`` (completed, awaiting_confirmation,
    failed) for ``run`` as it is now."""
    mode_ru, mode_en = MODE[RunMode(run.mode)]
    what_ru, what_en = WHAT[event]
    day = run.billing_date.isoformat()
    link = reverse("admin:billing_billingrun_change", args=[run.pk])
    subject = f"Kopeck: запуск биллинга №{run.pk} {what_ru} / billing run #{run.pk} {what_en}"
    s: Mapping[str, Any] = run.summary or {}
    ru = [f"Запуск биллинга №{run.pk} ({mode_ru}) на {day} {what_ru}."]
    en = [f"Billing run #{run.pk} ({mode_en}) for {day} {what_en}."]
    if event == "failed":
        ru.append(f"Обработано подписок: {_ru(run.processed)} из {_ru(run.total)}. Возобновите запуск: "
                  f"kopeck billing resume {run.pk} (или кнопкой на странице запуска) — он закончит работу с тем "
                  f"же результатом, что и без остановки.")
        en.append(f"Subscriptions processed: {run.processed:,} of {run.total:,}. Resume it: kopeck billing resume "
                  f"{run.pk} (or with the button on the run's page) — it finishes with the result of an "
                  f"uninterrupted run.")
    else:
        counts = [int(s.get(k, 0) or 0) for k in ("subscriptions", "clients", "charges", "credits", "errors")]
        ru.append("Подписок: {}, клиентов: {}, начислений: {}, возвратов: {}, ошибок: {}.".format(*map(_ru, counts)))
        en.append("Subscriptions: {:,}, clients: {:,}, charges: {:,}, credits: {:,}, errors: {:,}.".format(*counts))
        if "documents" in s:
            ru.append(f"Документов выпущено: {_ru(int(s['documents']))}.")
            en.append(f"Documents issued: {int(s['documents']):,}.")
        for currency, amount in sorted((s.get("totals_by_currency") or {}).items()):
            units = Currency.of(currency).minor_units
            ru.append(f"Сумма: {format_amount(str(amount), 'ru', units)} {currency}")
            en.append(f"Total: {format_amount(str(amount), 'en', units)} {currency}")
        if event == "awaiting_confirmation":
            ru.append("Проверьте результат и подтвердите или отклоните запуск на его странице.")
            en.append("Review the result, then confirm or reject the run on its page.")
    ru.append(f"Страница запуска: {link}")
    en.append(f"The run's page: {link}")
    return subject, "\n".join(ru) + "\n\n" + "\n".join(en) + "\n"


SUMMARY_COUNTS = ("subscriptions", "clients", "charges", "errors", "changed", "documents")


def run_event_data(run: BillingRun) -> dict[str, Any]:
    """The ``run`` object of the billing-run events (docs/events.md)."""
    summary = {k: run.summary[k] for k in SUMMARY_COUNTS if isinstance(run.summary.get(k), int)}
    return {"id": run.pk, "mode": run.mode, "date": run.billing_date.isoformat(), "status": run.status,
            "summary": summary}


def notify_run(run: BillingRun, event: str) -> None:
    """Record the event ``billing_run.<event>`` and queue its notice (in the caller's transaction),
    unless the run is a sandbox; the notice needs an address in the billing settings."""
    if run.mode == RunMode.SANDBOX:
        return
    extra = {"error": str(run.summary.get("error") or "The run stopped on an unexpected error; resume it.")} \
        if event == "failed" else {}
    event_record(f"billing_run.{event}", actor=Actor.system(f"billing run {run.pk}"), subject_id=run.pk,
                 data={"run": run_event_data(run), **extra})
    to = billing_settings().run_report_addresses
    if not to:
        return
    subject, body = run_notice(run, event)
    email_enqueue(to=to, subject=subject, body=body)
