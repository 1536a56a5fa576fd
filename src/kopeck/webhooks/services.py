"""Writes of webhooks: endpoints (with the SSRF check and secret rotation), deliveries (created for the
events an endpoint takes, or by a rule's action), their delivery with retries, redelivery.

Why a delivery table of its own rather than outbox messages: a webhook needs its own retry window (3
days, not the outbox's attempt count), a log of every attempt with its answer and latency that the
operator reads, redelivery of delivered messages, and decisions per endpoint (a disabled endpoint's
deliveries wait; an endpoint that fails for the whole window is disabled). The delivery rows are
claimed like outbox messages (``FOR UPDATE SKIP LOCKED`` with a lease), so any number of workers can
deliver at once, each message at least once.

Retry schedule after the n-th failed attempt: 5 s, 1 min, 5 min, 30 min, 2 h, 5 h, 10 h, then every
12 h — until ``KOPECK_WEBHOOK_RETRY_HOURS`` (72) have passed since the first attempt (the last attempt is
made when that window closes); then the delivery is ``failed``. If the endpoint has not answered 2xx to anything for that whole window, it is
disabled, and the operator is told by e-mail (the billing settings' notice addresses) and in the log.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import logging
import secrets as random_secrets
import uuid
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from kopeck.audit.services import audit_record
from kopeck.common import clock
from kopeck.common.actor import Actor
from kopeck.common.bulk import insert_rows
from kopeck.common.errors import Conflict, NotFound, ValidationFailed
from kopeck.common.secrets import SecretUnreadable, decrypt, encrypt
from kopeck.configuration.selectors import billing_settings
from kopeck.events.catalog import CATALOG
from kopeck.events.models import Event
from kopeck.events.selectors import event_envelope
from kopeck.notifications.services import email_enqueue
from kopeck.webhooks import transport
from kopeck.webhooks.messages import told
from kopeck.webhooks.models import Attempt, Delivery, DeliveryStatus, Endpoint, EndpointSecret

log = logging.getLogger("kopeck.webhooks")

BACKOFF: tuple[dt.timedelta, ...] = (
    dt.timedelta(seconds=5), dt.timedelta(minutes=1), dt.timedelta(minutes=5), dt.timedelta(minutes=30),
    dt.timedelta(hours=2), dt.timedelta(hours=5), dt.timedelta(hours=10), dt.timedelta(hours=12),
)
LEASE = dt.timedelta(minutes=5)
ROTATION_OVERLAP = dt.timedelta(hours=24)
GROUPS = {name.split(".", 1)[0] for name in CATALOG}


def backoff(failed_attempts: int) -> dt.timedelta:
    return BACKOFF[min(max(failed_attempts, 1), len(BACKOFF)) - 1]


def retry_window() -> dt.timedelta:
    return dt.timedelta(hours=max(float(getattr(settings, "KOPECK_WEBHOOK_RETRY_HOURS", 72)), 0.01))


# -- endpoints -------------------------------------------------------------------------------------


def new_secret() -> str:
    return "whsec_" + base64.b64encode(random_secrets.token_bytes(32)).decode()


def endpoint_state(endpoint: Endpoint) -> dict[str, Any]:
    return {"url": endpoint.url, "description": endpoint.description, "event_types": endpoint.event_types,
            "is_enabled": endpoint.is_enabled}


def _event_types_problems(types: object) -> list[str]:
    if not isinstance(types, list):
        return [_("A list of event types.")]
    problems = []
    for name in types:
        if not isinstance(name, str) or not (name == "*" or name in CATALOG or (
                name.endswith(".*") and name[:-2] in GROUPS)):
            problems.append(_("Unknown event type '%(type)s'.") % {"type": name})
    return problems


def _check_endpoint(data: dict[str, Any]) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    try:
        transport.resolve(data.get("url", ""))
    except transport.UrlRefused as exc:
        errors["url"] = [told(str(exc))]  # the transport says it in English (an attempt's error is stored)
    problems = _event_types_problems(data.get("event_types", []))
    if problems:
        errors["event_types"] = problems
    if not isinstance(data.get("description", ""), str) or len(data.get("description", "")) > 300:
        errors["description"] = [_("Text of at most 300 characters.")]
    if not isinstance(data.get("is_enabled", True), bool):
        errors["is_enabled"] = [_("Must be true or false.")]
    return errors


ENDPOINT_FIELDS = ("url", "description", "event_types", "is_enabled")


def endpoint_create(*, actor: Actor, url: str, event_types: list[str] | None = None, description: str = "",
                    is_enabled: bool = True) -> tuple[Endpoint, str]:
    """A new endpoint and its signing secret (``whsec_…``; shown to the operator, stored encrypted)."""
    data = {"url": url, "event_types": list(event_types or []), "description": description,
            "is_enabled": is_enabled}
    errors = _check_endpoint(data)
    if errors:
        raise ValidationFailed(_("The webhook endpoint is invalid."), errors=errors)
    now, secret = clock.now(), new_secret()
    with transaction.atomic():
        endpoint = Endpoint.objects.create(url=url.strip(), event_types=list(dict.fromkeys(event_types or [])),
                                           description=description, is_enabled=is_enabled, created_at=now,
                                           updated_at=now)
        EndpointSecret.objects.create(endpoint=endpoint, encrypted=encrypt(secret), created_at=now)
        audit_record(actor=actor, action="webhook_endpoint.create", object_type="webhook_endpoint",
                     object_id=endpoint.pk, after=endpoint_state(endpoint))
    return endpoint, secret


def endpoint_update(*, actor: Actor, endpoint: Endpoint, **changes: Any) -> Endpoint:
    """Change an endpoint. Enabling a disabled endpoint resumes its pending deliveries."""
    errors = {k: [_("This field cannot be changed.")] for k in changes if k not in ENDPOINT_FIELDS}
    merged = endpoint_state(endpoint) | changes
    errors.update(_check_endpoint(merged))
    if errors:
        raise ValidationFailed(_("The webhook endpoint is invalid."), errors=errors)
    with transaction.atomic():
        obj = Endpoint.objects.select_for_update().get(pk=endpoint.pk)
        before = endpoint_state(obj)
        if "url" in changes:
            obj.url = changes["url"].strip()
        if "event_types" in changes:
            obj.event_types = list(dict.fromkeys(changes["event_types"]))
        if "description" in changes:
            obj.description = changes["description"]
        if "is_enabled" in changes and changes["is_enabled"] != obj.is_enabled:
            obj.is_enabled = changes["is_enabled"]
            obj.disabled_at = None if obj.is_enabled else clock.now()
            obj.disabled_reason = "" if obj.is_enabled else f"Disabled by {actor.label}."
            obj.failing_since = None
            if obj.is_enabled:  # what waited is due now; the retry window starts again
                now = clock.now()
                Delivery.objects.filter(endpoint=obj, status=DeliveryStatus.PENDING).update(
                    next_attempt_at=now, retry_from=now)
        if endpoint_state(obj) != before:
            obj.updated_at = clock.now()
            obj.save()
            audit_record(actor=actor, action="webhook_endpoint.update", object_type="webhook_endpoint",
                         object_id=obj.pk, before=before, after=endpoint_state(obj))
    return obj


def endpoint_delete(*, actor: Actor, endpoint: Endpoint) -> None:
    """Delete an endpoint that has no deliveries; one with deliveries is disabled instead (its log stays)."""
    with transaction.atomic():
        if Delivery.objects.filter(endpoint=endpoint).exists():
            raise Conflict(_("The endpoint has deliveries; disable it instead (its delivery log is kept)."))
        audit_record(actor=actor, action="webhook_endpoint.delete", object_type="webhook_endpoint",
                     object_id=endpoint.pk, before=endpoint_state(endpoint), after=None)
        endpoint.delete()


def endpoint_rotate_secret(*, actor: Actor, endpoint: Endpoint,
                           overlap: dt.timedelta = ROTATION_OVERLAP) -> tuple[EndpointSecret, str]:
    """A new signing secret; the current ones stay valid for ``overlap`` (24 h): meanwhile every message
    carries a signature per valid secret, so the receiver can switch at its own pace."""
    if not isinstance(overlap, dt.timedelta) or not dt.timedelta(0) <= overlap <= dt.timedelta(days=7):
        raise ValidationFailed.field("overlap", _("Between 0 and 7 days."))
    now, secret = clock.now(), new_secret()
    with transaction.atomic():
        Endpoint.objects.select_for_update().get(pk=endpoint.pk)
        EndpointSecret.objects.filter(endpoint=endpoint).filter(
            Q(expires_at__isnull=True) | Q(expires_at__gt=now + overlap)).update(expires_at=now + overlap)
        row = EndpointSecret.objects.create(endpoint=endpoint, encrypted=encrypt(secret), created_at=now)
        audit_record(actor=actor, action="webhook_endpoint.rotate_secret", object_type="webhook_endpoint",
                     object_id=endpoint.pk, after={"secret": row.pk, "previous_valid_until": now + overlap})
    return row, secret


def endpoint_secrets(endpoint_id: int, now: dt.datetime) -> list[str]:
    """The valid secrets of an endpoint, newest first (decrypted)."""
    rows = EndpointSecret.objects.filter(endpoint_id=endpoint_id).filter(
        Q(expires_at__isnull=True) | Q(expires_at__gt=now)).order_by("-id")
    return [decrypt(r.encrypted) for r in rows]


def endpoint_current_secret(endpoint: Endpoint) -> str:
    found = endpoint_secrets(endpoint.pk, clock.now())
    if not found:
        raise NotFound(_("The endpoint has no valid secret; rotate it."))
    return found[0]


# -- deliveries ------------------------------------------------------------------------------------


def _kick_on_commit() -> None:
    from kopeck.outbox.services import broker_configured

    if not broker_configured():
        return
    conn = transaction.get_connection()
    if any(entry[1] is _kick for entry in conn.run_on_commit):
        return
    transaction.on_commit(_kick, robust=True)


def _kick() -> None:
    from kopeck.webhooks.tasks import deliver

    deliver.delay()


def takes(endpoint_types: Iterable[str], event_type: str) -> bool:
    types = set(endpoint_types)
    return "*" in types or event_type in types or f"{event_type.split('.', 1)[0]}.*" in types


def _insert_deliveries(pairs: list[tuple[int, Event]]) -> int:
    """Deliveries for (endpoint id, event) pairs; a pair that has one already is skipped."""
    if not pairs:
        return 0
    now = clock.now()
    existing = set(Delivery.objects.filter(event_id__in={e.pk for _endpoint, e in pairs}).values_list("endpoint_id",
                                                                                             "event_id"))
    rows = []
    for endpoint_id, event in pairs:
        if (endpoint_id, event.pk) not in existing:
            existing.add((endpoint_id, event.pk))
            rows.append((endpoint_id, event.pk, event.type, DeliveryStatus.PENDING.value, 0, now, now, now))
    insert_rows(Delivery, ("endpoint_id", "event_id", "event_type", "status", "attempts", "next_attempt_at",
                           "retry_from", "created_at"), rows, ids=False)
    if rows:
        _kick_on_commit()
    return len(rows)


def deliveries_for_events(events: Sequence[Event]) -> None:
    """The consumer registered with kopeck.events: a delivery for every enabled endpoint that takes
    the event's type."""
    endpoints = list(Endpoint.objects.filter(is_enabled=True).exclude(event_types=[]).values_list("id", "event_types"))
    if not endpoints:
        return
    _insert_deliveries([(pk, event) for event in events for pk, types in endpoints if takes(types, event.type)])


def delivery_for_event(*, endpoint: Endpoint, event_id: int) -> None:
    """A delivery of the event to ``endpoint`` (a rule's action); once per endpoint and event."""
    event = Event.objects.get(pk=event_id)
    _insert_deliveries([(endpoint.pk, event)])


def body_of(event: Event) -> bytes:
    """The request body: the event's envelope as compact UTF-8 JSON (the same bytes on every attempt)."""
    return json.dumps(event_envelope(event), ensure_ascii=False, separators=(",", ":")).encode()


CLAIMED_FIELDS = ("id", "endpoint_id", "event_id", "status", "attempts", "next_attempt_at", "retry_from",
                  "delivered_at", "last_status_code", "last_error", "locked_until", "lease", "endpoint__id",
                  "endpoint__url", "event__id", "event__uid", "event__type", "event__version", "event__occurred_at",
                  "event__client_id", "event__sequence", "event__subject_type", "event__subject_id", "event__data")


def _claim(limit: int) -> list[Delivery]:
    """Lease up to ``limit`` due deliveries to this worker (5 minutes) and load them with their
    endpoints and events. PostgreSQL: one statement (``UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP
    LOCKED)``), so concurrent workers never take the same row and never wait for each other."""
    now = clock.now()
    lease = uuid.uuid4().hex
    if connection.vendor == "postgresql":
        table = connection.ops.quote_name(Delivery._meta.db_table)
        endpoints = connection.ops.quote_name(Endpoint._meta.db_table)
        # only our own tables' names are formatted into the statement
        sql = (f"UPDATE {table} SET locked_until = %s, lease = %s WHERE id IN ("  # noqa: S608
               f"SELECT d.id FROM {table} d JOIN {endpoints} e ON e.id = d.endpoint_id "
               f"WHERE d.status = %s AND d.next_attempt_at <= %s AND e.is_enabled "
               f"AND (d.locked_until IS NULL OR d.locked_until <= %s) "
               f"ORDER BY d.next_attempt_at, d.id LIMIT %s FOR UPDATE OF d SKIP LOCKED) RETURNING id")
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, [now + LEASE, lease, DeliveryStatus.PENDING.value, now, now, limit])
            ids = [row[0] for row in cursor.fetchall()]
    else:
        with transaction.atomic():
            due = (Delivery.objects.select_for_update(skip_locked=True, of=("self",))
                   .filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=now, endpoint__is_enabled=True)
                   .filter(Q(locked_until__isnull=True) | Q(locked_until__lte=now))
                   .order_by("next_attempt_at", "id"))
            ids = list(due.values_list("pk", flat=True)[:limit])
            if ids:
                Delivery.objects.filter(pk__in=ids).update(locked_until=now + LEASE, lease=lease)
    if not ids:
        return []
    # only the columns a delivery needs (its outcome's fields, the endpoint's URL, the event's envelope):
    # building three full model instances per row, with their eight timestamps, cost more than the request
    return list(Delivery.objects.filter(pk__in=ids, lease=lease).select_related("endpoint", "event")
                .only(*CLAIMED_FIELDS).order_by("next_attempt_at", "id"))


def _notify_disabled(endpoint: Endpoint) -> None:
    to = billing_settings().run_report_addresses
    log.error("webhook endpoint %s (%s) is disabled: %s", endpoint.pk, endpoint.url, endpoint.disabled_reason)
    if not to:
        return
    subject = f"Kopeck: вебхук отключён / webhook endpoint disabled — {endpoint.url}"[:250]
    body = (f"Адрес {endpoint.url} не принял ни одного события за {retry_window()}; он отключён.\n"
            f"Проверьте получателя и включите адрес снова: ожидающие события будут доставлены.\n\n"
            f"The endpoint {endpoint.url} accepted no event for {retry_window()}; it is disabled.\n"
            f"Check the receiver, then enable the endpoint again: the waiting events will be delivered.\n")
    email_enqueue(to=to, subject=subject, body=body, key=f"webhook-endpoint-{endpoint.pk}-disabled-"
                                                         f"{endpoint.disabled_at.isoformat() if endpoint.disabled_at else ''}")


def _save(deliveries: list[Delivery]) -> None:
    """Write the outcome of each attempted delivery: one statement, sent for all of them at once
    (``executemany``; psycopg pipelines it) — Django's ``bulk_update`` spent more CPU building its
    CASE expressions than the database spent on the rows."""
    if not deliveries:
        return
    table = connection.ops.quote_name(Delivery._meta.db_table)
    sql = (f"UPDATE {table} SET status = %s, attempts = %s, next_attempt_at = %s, delivered_at = %s, "  # noqa: S608
           f"last_status_code = %s, last_error = %s, locked_until = NULL, lease = '' WHERE id = %s")
    fields = {f.attname: f for f in Delivery._meta.concrete_fields}
    rows = [(d.status, d.attempts, fields["next_attempt_at"].get_db_prep_save(d.next_attempt_at, connection),
             fields["delivered_at"].get_db_prep_save(d.delivered_at, connection), d.last_status_code, d.last_error,
             d.pk) for d in deliveries]
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


def _record(results: list[tuple[Delivery, transport.Outcome]], now: dt.datetime) -> dict[str, int]:
    counts = {"delivered": 0, "failed": 0, "given_up": 0}
    attempts, delivered, retried = [], [], []
    ok_endpoints, failed_endpoints, given_up_endpoints = set(), set(), set()
    window = retry_window()
    for delivery, outcome in results:
        attempts.append((delivery.pk, now, outcome.ok, outcome.status_code, outcome.latency_ms, outcome.response,
                         outcome.error))
        delivery.attempts += 1
        delivery.last_status_code = outcome.status_code
        delivery.last_error = outcome.error
        delivery.locked_until, delivery.lease = None, ""
        if outcome.ok:
            delivery.status, delivery.delivered_at = DeliveryStatus.DELIVERED, now
            delivered.append(delivery)
            ok_endpoints.add(delivery.endpoint_id)
            counts["delivered"] += 1
            continue
        failed_endpoints.add(delivery.endpoint_id)
        if now - delivery.retry_from >= window:
            delivery.status = DeliveryStatus.FAILED
            given_up_endpoints.add(delivery.endpoint_id)
            counts["given_up"] += 1
        else:
            # the last attempt is made when the window closes
            delivery.next_attempt_at = min(now + backoff(delivery.attempts), delivery.retry_from + window)
            counts["failed"] += 1
        retried.append(delivery)
    with transaction.atomic():
        insert_rows(Attempt, ("delivery_id", "at", "ok", "status_code", "latency_ms", "response", "error"),
                    attempts, ids=False)
        _save(delivered + retried)
        if ok_endpoints:
            Endpoint.objects.filter(pk__in=ok_endpoints, failing_since__isnull=False).update(failing_since=None)
        still_failing = failed_endpoints - ok_endpoints
        if still_failing:
            Endpoint.objects.filter(pk__in=still_failing, failing_since__isnull=True).update(failing_since=now)
        for endpoint in Endpoint.objects.select_for_update().filter(
                pk__in=given_up_endpoints - ok_endpoints, is_enabled=True, failing_since__lte=now - window):
            endpoint.is_enabled, endpoint.disabled_at = False, now
            endpoint.disabled_reason = (f"No delivery succeeded for {window} (since "
                                        f"{endpoint.failing_since.isoformat() if endpoint.failing_since else '?'}).")
            endpoint.updated_at = now
            endpoint.save(update_fields=["is_enabled", "disabled_at", "disabled_reason", "updated_at"])
            audit_record(actor=Actor.system("webhooks"), action="webhook_endpoint.disable",
                         object_type="webhook_endpoint", object_id=endpoint.pk,
                         before={"is_enabled": True}, after={"is_enabled": False,
                                                             "reason": endpoint.disabled_reason})
            _notify_disabled(endpoint)
    return counts


def webhooks_deliver(*, limit: int = 100) -> dict[str, int]:
    """Deliver up to ``limit`` due deliveries now (claimed with a lease; any number of workers may run
    this at once). Returns ``{"delivered", "failed", "given_up"}``."""
    if not isinstance(limit, int) or limit < 1:
        raise ValidationFailed.field("limit", _("Must be a positive integer."))
    batch = _claim(limit)
    if not batch:
        return {"delivered": 0, "failed": 0, "given_up": 0}
    now = clock.now()
    secrets: dict[int, list[str]] = {}
    targets: dict[str, tuple[transport.Target, Any] | str] = {}
    outcomes: dict[int, transport.Outcome] = {}
    requests: list[tuple[Delivery, transport.Target, Any, list[str]]] = []
    for delivery in batch:
        endpoint = delivery.endpoint
        if endpoint.pk not in secrets:
            try:
                secrets[endpoint.pk] = endpoint_secrets(endpoint.pk, now)
            except SecretUnreadable:
                log.error("webhook endpoint %s: its secret cannot be decrypted (KOPECK_ENCRYPTION_KEY changed?)",
                          endpoint.pk)
                secrets[endpoint.pk] = []
        if endpoint.url not in targets:
            try:
                resolved = transport.resolve(endpoint.url)
                targets[endpoint.url] = (resolved, transport.request_url(resolved))
            except transport.UrlRefused as exc:
                targets[endpoint.url] = str(exc)
        target = targets[endpoint.url]
        if isinstance(target, str):
            outcomes[delivery.pk] = transport.Outcome(False, None, 0, "", target)
        elif not secrets[endpoint.pk]:
            outcomes[delivery.pk] = transport.Outcome(False, None, 0, "", "The endpoint has no readable secret "
                                                                           "(rotate it).")
        else:
            requests.append((delivery, target[0], target[1], secrets[endpoint.pk]))

    def attempt(item: tuple[Delivery, transport.Target, Any, list[str]]) -> transport.Outcome:
        delivery, target, url, keys = item
        # the body and its signature are made once for this attempt, from the stored event
        return transport.send(target, f"evt_{delivery.event.uid.hex}", body_of(delivery.event), keys, clock.now(),
                              url=url)

    for (delivery, *_rest), outcome in zip(requests, _send_all(attempt, requests), strict=True):
        outcomes[delivery.pk] = outcome
    return _record([(d, outcomes[d.pk]) for d in batch], clock.now())


_senders: ThreadPoolExecutor | None = None


def concurrency() -> int:
    return min(max(int(getattr(settings, "KOPECK_WEBHOOK_CONCURRENCY", 4)), 1), 64)


def _send_all(attempt: Any, requests: list[Any]) -> list[transport.Outcome]:
    """The requests of a batch, ``KOPECK_WEBHOOK_CONCURRENCY`` (4) at a time: a worker waits for several
    receivers at once instead of one after the other. The threads are kept (each keeps its own
    keep-alive connections) and touch no database; the outcomes come back in the batch's order."""
    global _senders
    if concurrency() == 1 or len(requests) < 2:
        return [attempt(item) for item in requests]
    if _senders is None or _senders._max_workers != concurrency():
        _senders = ThreadPoolExecutor(max_workers=concurrency(), thread_name_prefix="kopeck-webhooks")
    return list(_senders.map(attempt, requests))


def webhooks_deliver_all(*, limit: int = 100, max_batches: int | None = None) -> dict[str, int]:
    total = {"delivered": 0, "failed": 0, "given_up": 0}
    batches = 0
    while max_batches is None or batches < max_batches:
        counts = webhooks_deliver(limit=limit)
        batches += 1
        for key, value in counts.items():
            total[key] += value
        if sum(counts.values()) == 0:
            break
    return total


def deliveries_redeliver(*, actor: Actor, deliveries: Iterable[Delivery]) -> int:
    """Send the given deliveries again now (failed or delivered ones; pending ones are due now), with a
    new retry window. The body and ``webhook-id`` are the same; the receiver drops what it has."""
    ids = sorted({d.pk for d in deliveries})
    if not ids:
        raise ValidationFailed.field("ids", _("Choose at least one delivery."))
    now = clock.now()
    with transaction.atomic():
        found = list(Delivery.objects.select_for_update().filter(pk__in=ids))
        missing = sorted(set(ids) - {d.pk for d in found})
        if missing:
            raise NotFound(_("Delivery %(id)s does not exist.") % {"id": missing[0]})
        busy = [d.pk for d in found if d.locked_until is not None and d.locked_until > now]
        if busy:
            raise Conflict(_("Delivery %(id)s is being delivered right now; try again later.") % {"id": busy[0]})
        Delivery.objects.filter(pk__in=ids).update(status=DeliveryStatus.PENDING, next_attempt_at=now,
                                                   retry_from=now, delivered_at=None)
        audit_record(actor=actor, action="webhook_delivery.redeliver", object_type="webhook_delivery",
                     object_id=",".join(map(str, ids))[:64], after={"ids": ids})
        _kick_on_commit()
    return len(ids)
