"""The notices of the dunning ladder and of a low balance: e-mail through the outbox (the channels
of the notifications issue take over later), to the client's e-mail contacts, in Russian with the
English text below. Each is keyed, so a notice is queued once however often the job runs."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence

from kopeck.clients.models import Client, Contact, ContactKind
from kopeck.common.display import date_text, minor_text
from kopeck.credit.models import StepAction
from kopeck.outbox.services import outbox_enqueue_many

SUBJECTS = {
    StepAction.REMIND: ("Напоминание об оплате", "Payment reminder"),
    StepAction.WARN: ("Предупреждение о блокировке", "Warning: services will be suspended"),
    StepAction.BLOCK_SUBSCRIPTIONS: ("Услуги приостановлены за неуплату", "Services suspended for non-payment"),
    StepAction.BLOCK_CLIENT: ("Обслуживание приостановлено за неуплату", "Account blocked for non-payment"),
    StepAction.TERMINATE: ("Услуги отключены за неуплату", "Services terminated for non-payment"),
}

TEXTS = {
    StepAction.REMIND: ("Напоминаем: задолженность {debt} не оплачена{since}. Пожалуйста, оплатите её.",
                        "A reminder: {debt_en} is unpaid{since_en}. Please pay it."),
    StepAction.WARN: ("Задолженность {debt} не оплачена{since}. Если она не будет оплачена, услуги будут "
                      "приостановлены{next}.",
                      "{debt_en} is unpaid{since_en}. Unless it is paid, the services will be suspended{next_en}."),
    StepAction.BLOCK_SUBSCRIPTIONS: ("Из-за задолженности {debt} услуги приостановлены. Они возобновятся "
                                     "автоматически после оплаты.",
                                     "Because of the unpaid {debt_en} the services are suspended. They resume by "
                                     "themselves once it is paid."),
    StepAction.BLOCK_CLIENT: ("Из-за задолженности {debt} обслуживание приостановлено. Оно возобновится "
                              "автоматически после оплаты.",
                              "Because of the unpaid {debt_en} the account is blocked. It is unblocked by itself "
                              "once the debt is paid."),
    StepAction.TERMINATE: ("Из-за задолженности {debt} услуги отключены.",
                           "Because of the unpaid {debt_en} the services are terminated."),
}


def recipients(client: Client) -> list[str]:
    return sorted({c.value for c in client.contacts.all() if c.kind == ContactKind.EMAIL})


def recipients_of(client_ids: Sequence[int]) -> dict[int, list[str]]:
    """The e-mail addresses of many clients (sorted, each once), in one query."""
    found: dict[int, set[str]] = defaultdict(set)
    for cid, value in Contact.objects.filter(client_id__any_of=client_ids, kind=ContactKind.EMAIL) \
            .values_list("client_id", "value"):
        found[cid].add(value)
    return {cid: sorted(values) for cid, values in found.items()}


def step_notice(client: Client, action: str, debt_minor: int, currency: str, due: dt.date | None,
                next_date: dt.date | None) -> tuple[str, str] | None:
    """(subject, body) of the notice of a step; None for an action without a notice."""
    if action not in SUBJECTS:
        return None
    subject_ru, subject_en = SUBJECTS[StepAction(action)]
    ru, en = TEXTS[StepAction(action)]
    values = {
        "debt": minor_text(debt_minor, currency, language="ru"),
        "debt_en": minor_text(debt_minor, currency, language="en"),
        "since": f" с {date_text(due, language='ru')}" if due else "",
        "since_en": f" since {date_text(due, language='en')}" if due else "",
        "next": f" {date_text(next_date, language='ru')}" if next_date else "",
        "next_en": f" on {date_text(next_date, language='en')}" if next_date else "",
    }
    body = f"{client.name},\n\n{ru.format(**values)}\n\n—\n\n{en.format(**values)}\n"
    return f"{subject_ru} / {subject_en}", body


def low_balance_notice(client: Client, balance_minor: int, currency: str, days_left: int | None) -> tuple[str, str]:
    left_ru = f" — этого хватит примерно на {days_left} дн." if days_left is not None else ""
    left_en = f" — about {days_left} days of service" if days_left is not None else ""
    balance_ru = minor_text(balance_minor, currency, language="ru")
    balance_en = minor_text(balance_minor, currency, language="en")
    body = (f"{client.name},\n\nНа вашем счёте {balance_ru}{left_ru}. Пополните баланс, чтобы услуги не были "
            f"приостановлены.\n\n—\n\nYour balance is {balance_en}{left_en}. Please top it up to keep the services "
            "running.\n")
    return "Заканчиваются средства на счёте / Your balance is running low", body


def enqueue(messages: list[tuple[list[str], str, str, str]], *, new: bool = False) -> None:
    """Queue ``(to, subject, body, key)`` e-mails (topic email.send) in the caller's transaction.
    ``new``: the keys name records created in this transaction (a step run, unique per debt and
    step), so none can be queued yet — no lookup (the outbox's unique key still guards)."""
    outbox_enqueue_many(messages=[("email.send", {"to": to, "subject": subject, "body": body}, key)
                                  for to, subject, body, key in messages if to], new=new)
