"""Notifications of the providers: received fast, settled by a worker.

**Receiving** (:func:`notification_receive`, the request path) verifies the notification by its
provider's scheme, checks what cannot change (the order named is this gateway's, the amount and the
currency are the order's; a test notification on a live gateway, a replay), and stores it with its
verdict — raw body, headers, sender — in **one insert**, then answers the provider. A verified
notification that moves money is stored ``queued`` ("accepted, awaiting settlement") with what the
verification proved (``verified``); the unique index ``gateway_notification_taken_once`` lets one
notification of a (setting, transaction, event) be queued or accepted, so a copy — sequential or
concurrent — is refused by the database and stored as ``duplicate``. Statements per notification:
the setting, the order (a read, no lock), the insert (two when it is a copy). CloudPayments' Check
is judged synchronously (its answer carries the refusal code the payer's charge depends on).

**Settling** (:func:`notifications_settle`, the worker) takes the queued notifications in batches
(``FOR UPDATE SKIP LOCKED``: several workers never take the same one), locks their orders (``FOR NO
KEY UPDATE`` of the payment rows only, in id order) and applies each through the one settlement path
(:func:`kopeck.gateways.services._settle_locked`): credit once, record a status, or refuse what
depends on the order's state now (already paid by another transaction, already credited). The
verdicts are written in the batch's transaction: "accepted" and the credit exist together or not at
all. ЮKassa's notifications carry no signature: their object is re-fetched from ЮKassa's API by the
worker (outside any lock), and only the fetched object is settled.

**Who runs the worker**: with a Celery broker, ``kopeck.gateways.settle`` is sent when a notification
is stored, to run a moment later (at most one task per moment and process: it settles all stored
meanwhile); in the embedded default (no broker) a settlement thread of the receiving process is woken
and gathers a burst into batches — so the money is on the account within about a second either way. The periodic job
``kopeck.gateways.settle`` (every 10 s) takes what is left (a worker that died mid-batch rolled its
batch back: the notifications are still queued), and the reconciliation job fetches the status of
payments still pending."""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import threading
import time
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, NamedTuple

from django.conf import settings
from django.db import close_old_connections, connection, transaction
from django.utils.translation import gettext as _

from kopeck.audit.services import audit_record_many
from kopeck.common import secrets
from kopeck.common.bulk import update_rows
from kopeck.common.clock import now
from kopeck.common.errors import NotFound
from kopeck.common.hot import hot_cursor
from kopeck.core.money import from_minor
from kopeck.gateways import crediting
from kopeck.gateways import messages as m
from kopeck.gateways.models import (
    GatewayPayment,
    GatewaySetting,
    Notification,
    PaymentStatus,
    Reason,
    Verdict,
)
from kopeck.gateways.providers import provider
from kopeck.gateways.providers.base import Answer, Incoming, ProviderError, Refused, SavedToken, Verified
from kopeck.gateways.services import (
    SYSTEM,
    Outcome,
    _locked,
    _payment_locked,
    _settle_locked,
    amount_differs,
    config_of,
    settle_checks,
)

log = logging.getLogger("kopeck.gateways")
HEADER_LIMIT = 4000
BODY_LIMIT = 256 * 1024
DEFAULT_REPLAY_HOURS = 72
BATCH = 100  # a batch of 100 costs 0.58 ms per credit, 200 0.54, 25 1.18 (client and database CPU)
RETRY_AFTER = dt.timedelta(minutes=1)  # a deferred verification whose provider could not be reached
DECIDED = ("verdict", "reason", "detail", "payment_id", "decided_at", "verified", "settle_after")  # the worker's
MOVES_MONEY = ("paid", "authorized", "failed", "deferred")


# ---------------------------------------------------------------- receiving


def _headers(headers: Mapping[str, str]) -> dict[str, str]:
    return {name: str(value)[:HEADER_LIMIT] for name, value in headers.items()
            if name not in ("authorization", "cookie")}


def _precheck(setting: GatewaySetting, verified: Verified) -> Outcome | None:
    """What a verified notification is refused or ignored for whatever the order's state: a test on a
    live gateway, a replay, an event with nothing to do. ``None``: go on."""
    if verified.is_test and setting.is_live:
        return Outcome(Verdict.REFUSED, Reason.TEST_ON_LIVE, m.TEST_NOTIFICATION_ON_LIVE)
    hours = float(setting.options.get("replay_window_hours") or DEFAULT_REPLAY_HOURS)
    if verified.occurred_at is not None and now() - verified.occurred_at > dt.timedelta(hours=hours):
        return Outcome(Verdict.REFUSED, Reason.REPLAY, m.REPLAY % {
            "sent": f"{verified.occurred_at.astimezone(dt.UTC):%Y-%m-%d %H:%M:%S}", "hours": f"{hours:g}"})
    if verified.outcome in ("other", "refunded"):
        return Outcome(Verdict.IGNORED, Reason.STATUS, m.NOTHING_TO_CREDIT % {"event": verified.event})
    return None


_PAYMENTS = GatewayPayment._meta.db_table
_NOTES = Notification._meta.db_table
_STORED = ("setting_id", "provider", "kind", "received_at", "remote_addr", "headers", "body", "transaction_id", "event",
           "payment_id", "verdict", "reason", "detail", "answer_status", "answer", "decided_at", "verified",
           "settle_after")
# ON CONFLICT DO NOTHING: a copy of a queued or accepted transaction is refused by the unique index
# gateway_notification_taken_once, with no error and no read before (PostgreSQL; SQLite ≥ 3.35)
_INSERT = (f"INSERT INTO {_NOTES} ({', '.join(_STORED)}) VALUES ({', '.join(['%s'] * len(_STORED))}) "  # noqa: S608
           "ON CONFLICT DO NOTHING RETURNING id")


_SETTING_FIELDS = ("id", "provider", "name", "legal_entity_id", "is_live", "is_enabled", "options",
                   "credentials_encrypted")  # what receiving uses; the instance is never saved
_SETTING = (f"SELECT {', '.join(_SETTING_FIELDS)} FROM {GatewaySetting._meta.db_table} "  # noqa: S608
            "WHERE id = %s AND provider = %s")


def _setting(setting_id: int, provider_code: str) -> GatewaySetting | None:
    """The gateway setting, read as it is now (no cache: disabling a gateway or making it live takes
    effect at once), with one plain statement."""
    with hot_cursor() as cursor:
        cursor.execute(_SETTING, [setting_id, provider_code])
        row = cursor.fetchone()
    if row is None:
        return None
    values = dict(zip(_SETTING_FIELDS, row, strict=True))
    options = values["options"]
    values["options"] = json.loads(options) if isinstance(options, str | bytes) else options
    values["is_live"], values["is_enabled"] = bool(values["is_live"]), bool(values["is_enabled"])
    return GatewaySetting(**values)


def _store(note: Notification) -> bool:
    """Insert the notification in one statement (autocommit: its own commit); False when the unique
    index refused it (a copy of a transaction already queued or accepted): nothing was written."""
    ops = connection.ops
    values = [note.setting_id, note.provider, note.kind, ops.adapt_datetimefield_value(note.received_at),
              note.remote_addr, ops.adapt_json_value(note.headers, None), note.body, note.transaction_id, note.event,
              note.payment_id, note.verdict, note.reason, note.detail, note.answer_status, note.answer,
              ops.adapt_datetimefield_value(note.decided_at), ops.adapt_json_value(note.verified, None),
              ops.adapt_datetimefield_value(note.settle_after)]
    with hot_cursor() as cursor:
        cursor.execute(_INSERT, values)
        row = cursor.fetchone()
    if row is None:
        return False
    note.pk = int(row[0])
    note._state.adding = False
    return True


_ORDER = f"SELECT id, amount_minor, currency, save_method, setting_id FROM {_PAYMENTS} "  # noqa: S608
_ORDER_BY_ID = _ORDER + "WHERE order_id = %s"
_ORDER_BY_PROVIDER_ID = _ORDER + "WHERE setting_id = %s AND provider_payment_id = %s ORDER BY id LIMIT 1"


def _one_row(sql: str, params: list[Any]) -> tuple[Any, ...] | None:
    with hot_cursor() as cursor:  # a plain statement, prepared: no ORM compile per notification
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return None if row is None else tuple(row)


class _Order(NamedTuple):
    pk: int
    amount_minor: int
    currency: str
    save_method: bool


def _order_check(setting: GatewaySetting, verified: Verified) -> tuple[Outcome | None, _Order | None]:
    """The order a verified notification names, read (not locked: what is checked here never changes
    once the order exists), and the refusals it calls for: an unknown order, another currency or
    amount. ``(None, order)``: queue it."""
    row = None
    if verified.order_id:  # the order named is the order checked: no fallback to another key
        # by the unique order id alone (the one index that can answer, whatever the table's statistics
        # say), then the gateway compared here: another gateway's order is unknown to this one
        row = _one_row(_ORDER_BY_ID, [verified.order_id])
        if row is not None and row[4] != setting.pk:
            row = None
    elif verified.provider_payment_id:
        row = _one_row(_ORDER_BY_PROVIDER_ID, [setting.pk, verified.provider_payment_id])
    order = None if row is None else _Order(int(row[0]), int(row[1]), str(row[2]), bool(row[3]))
    if order is None:
        return Outcome(Verdict.REFUSED, Reason.UNKNOWN_ORDER, m.NO_ORDER % {"order": repr(verified.order_id)}), None
    if verified.outcome in ("paid", "authorized"):
        expected = from_minor(order.amount_minor, order.currency)
        if verified.currency and verified.currency.upper() != order.currency:
            return Outcome(Verdict.REFUSED, Reason.CURRENCY,
                           m.INSTEAD % {"got": verified.currency, "expected": order.currency}, order.pk), order
        if verified.amount is None or verified.amount != expected.amount:
            return Outcome(Verdict.REFUSED, Reason.AMOUNT, amount_differs(verified.amount, expected.amount),
                           order.pk), order
    return None, order


def _facts(verified: Verified, *, keep_token: bool) -> dict[str, Any]:
    """What the verification proved, for the worker (the saved method's token encrypted, and only
    when the order asked to save the method)."""
    facts: dict[str, Any] = {"outcome": verified.outcome, "amount": None if verified.amount is None
                             else str(verified.amount), "currency": verified.currency, "is_test": verified.is_test,
                             "provider_payment_id": verified.provider_payment_id, "order_id": verified.order_id}
    if keep_token and verified.saved is not None:
        facts["saved"] = {"token": secrets.encrypt(verified.saved.token), "title": verified.saved.title}
    return facts


def _check_judged(setting: GatewaySetting, verified: Verified) -> Outcome:
    """CloudPayments' Check, judged at once with the order locked (nothing is credited)."""
    with transaction.atomic():
        payment, taken = _payment_locked(setting, verified)
        if payment is None:
            return Outcome(Verdict.REFUSED, Reason.UNKNOWN_ORDER, m.NO_ORDER % {"order": repr(verified.order_id)})
        if taken:
            return Outcome(Verdict.DUPLICATE, Reason.NONE, m.TAKEN, payment.pk)
        return _settle_locked(payment, outcome="check", amount=verified.amount, currency=verified.currency,
                              is_test=verified.is_test, transaction_id=verified.transaction_id)


def notification_receive(*, provider_code: str, setting_id: int, kind: str, body: bytes,
                         headers: Mapping[str, str], remote_addr: str) -> tuple[Notification, Answer]:
    """Verify a notification by its provider's scheme, check it against its order, store it with its
    verdict (one insert) and return it with the answer the provider expects. A verified notification
    that moves money is stored ``queued`` and the settlement worker is woken."""
    setting = _setting(setting_id, provider_code)
    if setting is None:
        raise NotFound(_("No such gateway."))
    prov = provider(provider_code)
    low = {k.lower(): v for k, v in headers.items()}
    note = Notification(setting=setting, provider=provider_code, kind=kind[:30], received_at=now(),
                        remote_addr=remote_addr[:45], headers=_headers(low),
                        body=body[:BODY_LIMIT].decode("utf-8", "replace"))
    incoming = Incoming(kind=kind, body=body, headers=low, remote_addr=remote_addr,
                        content_type=low.get("content-type", ""))
    cfg = config_of(setting)
    verified: Verified | None = None
    try:
        if not setting.is_enabled:
            raise Refused(Reason.DISABLED, m.DISABLED)
        verified = prov.verify(cfg, incoming)
        outcome = _precheck(setting, verified)
        order = None
        if outcome is None and verified.outcome == "check":
            outcome = _check_judged(setting, verified)
        elif outcome is None and verified.outcome != "deferred":
            outcome, order = _order_check(setting, verified)
    except Refused as exc:
        outcome = Outcome(Verdict.REFUSED, exc.reason, exc.detail)
        note.transaction_id = exc.transaction_id[:100]
    except ProviderError as exc:  # cannot verify now (PayPal's verify API): the provider redelivers
        _decide(note, Outcome(Verdict.RECEIVED, Reason.PROVIDER_ERROR, str(exc)))
        answer = _answered(note, Answer(503, "try later"))
        _store(note)
        return note, answer
    if verified is not None:
        note.transaction_id, note.event = verified.transaction_id[:100], verified.event[:60]
    if outcome is None:  # verified, money to move: queued for the worker
        assert verified is not None
        outcome = Outcome(Verdict.QUEUED, Reason.NONE, "", order.pk if order else None)
        note.verified = _facts(verified, keep_token=bool(order and order.save_method))
    _decide(note, outcome)
    answer = prov.answer(cfg, incoming, verified, Verdict.ACCEPTED if note.verdict == Verdict.QUEUED
                         else note.verdict, note.reason)
    _answered(note, answer)
    if not _store(note):  # this transaction and event is queued or accepted already: a copy
        payment_id = note.payment_id
        if payment_id is None:  # a deferred verification names no order yet: the one its first copy has
            payment_id = Notification.objects.filter(
                setting=setting, transaction_id=note.transaction_id, event=note.event,
                verdict__in=(Verdict.QUEUED, Verdict.ACCEPTED)).values_list("payment_id", flat=True).first()
        _decide(note, Outcome(Verdict.DUPLICATE, Reason.NONE, m.TAKEN, payment_id))
        note.verified = {}
        answer = _answered(note, prov.answer(cfg, incoming, verified, note.verdict, note.reason))
        if not _store(note):
            raise RuntimeError("a duplicate notification could not be stored")
        return note, answer
    if note.verdict == Verdict.QUEUED:
        transaction.on_commit(settle_soon)  # at once outside a transaction
    return note, answer


def _decide(note: Notification, outcome: Outcome) -> None:
    note.verdict = outcome.verdict
    note.reason = outcome.reason
    note.detail = outcome.detail[:500]
    note.payment_id = outcome.payment_id
    note.decided_at = now()


def _answered(note: Notification, answer: Answer) -> Answer:
    note.answer_status, note.answer = answer.status, answer.body[:200]
    return answer


# ---------------------------------------------------------------- settling


def _verified_of(note: Notification) -> Verified:
    facts = note.verified or {}
    saved = facts.get("saved")
    return Verified(transaction_id=note.transaction_id, event=note.event, order_id=str(facts.get("order_id") or ""),
                    outcome=str(facts.get("outcome") or "other"),
                    amount=None if facts.get("amount") is None else Decimal(str(facts["amount"])),
                    currency=str(facts.get("currency") or ""), is_test=bool(facts.get("is_test")),
                    provider_payment_id=str(facts.get("provider_payment_id") or ""),
                    saved=SavedToken(token=secrets.decrypt(saved["token"]), title=str(saved.get("title") or ""))
                    if saved else None)


def _confirm_deferred(note_id: int) -> bool:
    """A notification whose verification the provider finishes later (ЮKassa: the object re-fetched
    from the API), outside any transaction; then checked like any other. False: nothing was taken."""
    note = Notification.objects.select_related("setting").filter(pk=note_id, verdict=Verdict.QUEUED).first()
    if note is None or note.setting is None:
        return False
    setting = note.setting
    try:
        verified = provider(setting.provider).confirm(config_of(setting), _verified_of(note))
        outcome = _precheck(setting, verified)
        order = None
        if outcome is None:
            outcome, order = _order_check(setting, verified)
    except Refused as exc:
        outcome, verified, order = Outcome(Verdict.REFUSED, exc.reason, exc.detail), None, None
    except ProviderError as exc:  # try again later; the reconciliation job covers it too
        Notification.objects.filter(pk=note.pk, verdict=Verdict.QUEUED).update(
            detail=(m.UNREACHABLE % {"message": exc})[:500], settle_after=now() + RETRY_AFTER)
        return False
    update: dict[str, Any] = {"decided_at": now()}
    if outcome is None and verified is not None:
        update.update(payment_id=order.pk if order else None, verified={
            **_facts(verified, keep_token=bool(order and order.save_method)), "confirmed": True})
    else:
        assert outcome is not None
        update.update(verdict=outcome.verdict, reason=outcome.reason, detail=outcome.detail[:500],
                      payment_id=outcome.payment_id, verified={})
    return bool(Notification.objects.filter(pk=note.pk, verdict=Verdict.QUEUED).update(**update))


def _settle_batch(limit: int) -> dict[str, int]:
    """One batch of queued notifications, in one transaction; counts by verdict (empty: none left)."""
    counts: dict[str, int] = {}
    at = now()
    with transaction.atomic():
        notes = list(Notification.objects.select_for_update(skip_locked=True, of=("self",)).filter(
            verdict=Verdict.QUEUED).exclude(settle_after__gt=at).defer("body", "headers").order_by("id")[:limit])
        if not notes:
            return counts
        deferred = [n for n in notes if n.verified.get("outcome") == "deferred"]
        ready = [n for n in notes if n.verified.get("outcome") != "deferred"]
        payments = {p.pk: p for p in _locked(GatewayPayment.objects.filter(
            pk__in=sorted({n.payment_id for n in ready if n.payment_id}))).order_by("pk")}
        failed: set[int] = set()
        bulk: list[tuple[Notification, GatewayPayment]] = []  # top-ups credited together (credit_many)
        for note in ready:
            payment = payments.get(note.payment_id) if note.payment_id else None
            if note.payment_id in failed:  # its order failed in this batch: later, in order
                note.settle_after = at + RETRY_AFTER
                continue
            if payment is None:  # an order cannot be removed: kept for a look
                outcome = Outcome(Verdict.REFUSED, Reason.UNKNOWN_ORDER, m.ORDER_GONE)
            else:
                v = _verified_of(note)
                if v.outcome == "paid" and crediting.bulk_creditable(payment) and not (
                        payment.save_method and v.saved) and settle_checks(
                        payment, outcome="paid", amount=v.amount, currency=v.currency, is_test=v.is_test,
                        provider_payment_id=v.provider_payment_id) is None:
                    payment.status, payment.credited_at = PaymentStatus.SUCCEEDED, at
                    payment.provider_payment_id = v.provider_payment_id or payment.provider_payment_id
                    bulk.append((note, payment))
                    _decide(note, Outcome(Verdict.ACCEPTED, Reason.CREDITED, "", payment.pk))
                    note.settle_after = None
                    continue
                try:
                    with transaction.atomic():  # a savepoint: one notification's failure is its own
                        outcome = _settle_locked(payment, outcome=v.outcome, amount=v.amount, currency=v.currency,
                                                 is_test=v.is_test, transaction_id=v.transaction_id,
                                                 provider_payment_id=v.provider_payment_id, saved=v.saved,
                                                 detail=note.detail, actor=SYSTEM)
                except Exception as exc:  # rolled back to the savepoint; the order's state in memory is stale
                    log.exception("settling gateway notification %s failed; retried later", note.pk)
                    failed.add(payment.pk)
                    note.detail, note.settle_after = f"{type(exc).__name__}: {exc}"[:500], at + RETRY_AFTER
                    continue
            _decide(note, outcome)
            note.settle_after = None
            if "saved" in note.verified:  # the token, once used, is not kept on the notification
                note.verified = {k: v for k, v in note.verified.items() if k != "saved"}
        if bulk:
            _credit_together(bulk, at)
        for note in ready:
            key = str(note.verdict) if note.settle_after is None else "retry"
            counts[key] = counts.get(key, 0) + 1
        update_rows(Notification, DECIDED, [(n.pk, n.verdict, n.reason, n.detail, n.payment_id, n.decided_at,
                                             n.verified, n.settle_after) for n in ready])
    for note in deferred:  # ЮKassa: re-fetched outside the batch's transaction, then settled next round
        if _confirm_deferred(note.pk):
            counts["confirmed"] = counts.get("confirmed", 0) + 1
        else:
            counts["retry"] = counts.get("retry", 0) + 1
    return counts


def _credit_together(bulk: list[tuple[Notification, GatewayPayment]], at: dt.datetime) -> None:
    """Credit the batch's top-ups with the bulk writers, with their audit entries; if that fails
    (nothing of it is kept: a savepoint), each is left queued for a retry one by one."""
    payments = [p for _note, p in bulk]
    try:
        with transaction.atomic():
            crediting.credit_many(payments, actor=SYSTEM)
            audit_record_many(actor=SYSTEM, json_safe=True, entries=[
                ("gateway_payment.credit", "gateway_payment", p.pk, None,
                 {"transaction": note.transaction_id, "credit": p.credit_ref}) for note, p in bulk])
    except Exception as exc:
        log.exception("crediting %s gateway payments together failed; retried later", len(bulk))
        for note, payment in bulk:
            payment.refresh_from_db(fields=["status", "provider_payment_id", "credited_at", "credit_ref"])
            note.verdict, note.reason, note.payment_id = Verdict.QUEUED, Reason.NONE, payment.pk
            note.detail, note.settle_after, note.decided_at = f"{type(exc).__name__}: {exc}"[:500], at + RETRY_AFTER, None


def notifications_settle(*, limit: int = BATCH, max_batches: int = 100) -> dict[str, int]:
    """Settle the queued notifications, ``limit`` at a time, until a batch finds fewer than ``limit``
    (the queue was emptied) and confirmed none (ЮKassa's re-fetched objects, settled next batch) — or
    ``max_batches``; counts by verdict. Safe to run in several processes at once. What arrives
    meanwhile is for the next run (each stored notification wakes a worker): chasing it here would
    settle a steady stream in ever smaller batches, each costing nearly a full one."""
    counts: dict[str, int] = {}
    for _batch in range(max_batches):
        done = _settle_batch(limit)
        for key, n in done.items():
            counts[key] = counts.get(key, 0) + n
        if set(done) <= {"retry"} or (sum(done.values()) < limit and not done.get("confirmed")):
            break
    return counts


# ---------------------------------------------------------------- waking the worker


def settle_mode() -> str:
    """``celery`` (a broker is configured: a Celery worker settles), ``thread`` (the embedded default:
    a thread of this process), ``off`` (only the periodic job and explicit calls: tests)."""
    mode = str(getattr(settings, "KOPECK_GATEWAY_SETTLE", "auto"))
    if mode != "auto":
        return mode
    from kopeck.outbox.services import broker_configured

    return "celery" if broker_configured() else "thread"


_sent_at = -1e9  # when this process last sent the settle task (time.monotonic())
_sent_guard = threading.Lock()


def _task_due(gather: float) -> bool:
    """True at most once per ``gather`` seconds in a process: the task is sent to run ``gather`` seconds
    later, so it settles every notification this process stored meanwhile (one task per burst, not
    one per notification; each is followed by a task that starts after it was stored)."""
    global _sent_at
    with _sent_guard:
        at = time.monotonic()
        if at - _sent_at < gather:
            return False
        _sent_at = at
        return True


def settle_soon() -> None:
    """Wake a worker to settle what was just stored (never raises: the periodic job is the backstop)."""
    try:
        mode = settle_mode()
        if mode == "celery":
            from kopeck.gateways.tasks import settle

            gather = float(getattr(settings, "KOPECK_GATEWAY_SETTLE_GATHER", 0.1))
            if _task_due(gather):
                settle.apply_async(countdown=gather)
        elif mode == "thread":
            _Settler.wake()
    except Exception:
        log.exception("could not wake the settlement worker; the periodic job will settle")


class _Settler(threading.Thread):
    """The embedded default's worker: one daemon thread per process, woken after each queued
    notification commits. It waits ``KOPECK_GATEWAY_SETTLE_GATHER`` (0.1 s) so that the notifications
    arriving meanwhile join the batch; when more than one arrived (a burst), it keeps gathering, in
    steps of that time, until a batch's worth (:data:`BATCH`) is waiting or the first of them has
    waited ``KOPECK_GATEWAY_SETTLE_GATHER_MAX`` (1 s) — a batch of 100 costs half as much per credit
    as a batch of 25 (the bulk writers' statements are per batch), and the cores it saves answer the
    provider. Then it settles in batches until nothing is queued, and sleeps."""

    _instance: _Settler | None = None
    _pid = 0
    _guard = threading.Lock()

    def __init__(self) -> None:
        super().__init__(name="kopeck-gateway-settler", daemon=True)
        self.pending = threading.Event()
        self.woken = 0  # wakes since the last settlement began (under _guard)

    @classmethod
    def wake(cls) -> None:
        with cls._guard:
            if cls._instance is None or cls._pid != os.getpid() or not cls._instance.is_alive():
                cls._instance, cls._pid = cls(), os.getpid()  # a forked child starts its own
                cls._instance.start()
            cls._instance.woken += 1
            cls._instance.pending.set()

    def _gathered(self, gather: float, gather_max: float) -> None:
        """Wait for the batch to fill (see the class); return when it is time to settle."""
        first = time.monotonic()
        time.sleep(gather)
        while self.woken > 1 and self.woken < BATCH and time.monotonic() - first + gather <= gather_max:
            time.sleep(gather)
        with self._guard:
            self.woken = 0
            self.pending.clear()

    def run(self) -> None:
        gather = float(getattr(settings, "KOPECK_GATEWAY_SETTLE_GATHER", 0.1))
        gather_max = float(getattr(settings, "KOPECK_GATEWAY_SETTLE_GATHER_MAX", 1.0))
        while True:
            self.pending.wait()
            self._gathered(gather, gather_max)
            try:
                close_old_connections()
                notifications_settle()
            except Exception:
                log.exception("settling gateway notifications failed; the periodic job will retry")
            finally:
                close_old_connections()
