"""E-mail notices of billing runs to the addresses of the billing settings (through the outbox)."""

from __future__ import annotations

from typing import Any

import pytest

from kopeck.billing import services
from kopeck.billing.models import BillingRun, RunMode, RunStatus
from kopeck.billing.selectors import run_fingerprint
from kopeck.billing.services import dispatch
from kopeck.common.actor import Actor
from kopeck.common.errors import ValidationFailed
from kopeck.configuration.selectors import billing_settings
from kopeck.configuration.services import billing_settings_update
from kopeck.outbox.models import OutboxMessage
from kopeck.outbox.services import outbox_deliver
from tests.billing.conftest import TODAY, Book
from tests.smtp import SmtpServer

pytestmark = pytest.mark.django_db
TO = ["ops@kopeck.test", "boss@kopeck.test"]


@pytest.fixture
def reports(actor: Actor) -> None:
    billing_settings_update(actor=actor, run_report_to="ops@kopeck.test; boss@kopeck.test")


def run(actor: Actor, mode: str) -> BillingRun:
    created = services.billing_run_create(actor=actor, billing_date=TODAY, mode=mode)
    return services.billing_run_execute(actor=actor, run=created)


def notices() -> list[dict[str, Any]]:
    return [m.payload for m in OutboxMessage.objects.filter(topic="email.send").order_by("id")]


@pytest.mark.usefixtures("installation_language")
def test_a_completed_automatic_run_is_reported_and_the_mail_arrives(book: Book, actor: Actor, reports: None,
                                                                    mail_configured: SmtpServer) -> None:
    r = run(actor, RunMode.AUTO)
    s = r.summary
    [notice] = notices()
    assert notice["to"] == TO
    assert notice["subject"] == f"Kopeck: запуск биллинга №{r.pk} завершён / billing run #{r.pk} completed"
    ru, en = notice["body"].split("\n\n")
    total = s["totals_by_currency"]["RUB"]
    whole, frac = total.split(".")
    assert ru.splitlines() == [
        f"Запуск биллинга №{r.pk} (автоматический) на 2026-11-25 завершён.",
        f"Подписок: {s['subscriptions']}, клиентов: {s['clients']}, начислений: {s['charges']}, возвратов: 0, "
        f"ошибок: 0.",
        "Документов выпущено: 0.",
        "Сумма: " + f"{int(whole):,}".replace(",", "\u00a0") + f",{frac} RUB",  # 1 234,50: Russian style
        f"Страница запуска: /admin/billing/billingrun/{r.pk}/change/"]
    assert en.splitlines() == [
        f"Billing run #{r.pk} (automatic) for 2026-11-25 completed.",
        f"Subscriptions: {s['subscriptions']}, clients: {s['clients']}, charges: {s['charges']}, credits: 0, "
        f"errors: 0.",
        "Documents issued: 0.",
        f"Total: {int(whole):,}.{frac} RUB",
        f"The run's page: /admin/billing/billingrun/{r.pk}/change/"]
    assert s["subscriptions"] == 4 and s["charges"] > 0 and int(whole) > 0
    assert outbox_deliver() == {"delivered": 1, "failed": 0, "dead": 0}
    [mail] = mail_configured.messages
    # a long non-ASCII subject is folded (a leading space once parsed)
    assert mail["Subject"].strip() == notice["subject"] and sorted(mail_configured.envelopes[0].rcpt_tos) == sorted(TO)
    assert f"Billing run #{r.pk} (automatic)" in mail.get_content()


def test_a_confirmation_run_is_reported_when_it_awaits_and_when_it_completes(book: Book, actor: Actor,
                                                                              reports: None) -> None:
    r = run(actor, RunMode.CONFIRM)
    assert r.status == RunStatus.AWAITING_CONFIRMATION
    [awaiting] = notices()
    assert awaiting["subject"].endswith(f"billing run #{r.pk} awaits confirmation")
    assert "Review the result, then confirm or reject the run on its page." in awaiting["body"]
    services.billing_run_confirm(actor=actor, run=r, fingerprint=run_fingerprint(r))
    assert [n["subject"].rsplit(" ", 1)[-1] for n in notices()] == ["confirmation", "completed"]


def test_a_failed_run_is_reported_with_how_to_resume_it(book: Book, actor: Actor, reports: None,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(**kwargs: Any) -> int:
        raise RuntimeError("worker lost")

    monkeypatch.setattr(dispatch, "process_chunk", broken)
    created = services.billing_run_create(actor=actor, billing_date=TODAY, mode=RunMode.AUTO)
    with pytest.raises(RuntimeError, match="worker lost"):
        services.billing_run_execute(actor=actor, run=created)
    assert BillingRun.objects.get(pk=created.pk).status == RunStatus.FAILED
    [failed] = notices()
    assert failed["subject"].endswith(f"billing run #{created.pk} failed")
    assert f"Resume it: kopeck billing resume {created.pk}" in failed["body"]
    assert "Subscriptions processed: 0 of 4." in failed["body"]


def test_no_notice_for_a_sandbox_or_without_addresses(book: Book, actor: Actor, reports: None) -> None:
    run(actor, RunMode.SANDBOX)
    assert notices() == []
    billing_settings_update(actor=actor, run_report_to="")
    run(actor, RunMode.AUTO)
    assert notices() == []


def test_the_addresses_are_checked_and_normalised(actor: Actor, db: object) -> None:
    billing_settings_update(actor=actor, run_report_to=" ops@kopeck.test,\nboss@kopeck.test, ops@kopeck.test ")
    assert billing_settings().run_report_to == "ops@kopeck.test, boss@kopeck.test"
    with pytest.raises(ValidationFailed) as refused:
        billing_settings_update(actor=actor, run_report_to="ops@kopeck.test, not-an-address")
    assert refused.value.errors == {"run_report_to": ["Not an e-mail address: 'not-an-address'."]}
    assert billing_settings().run_report_to == "ops@kopeck.test, boss@kopeck.test"  # nothing written
