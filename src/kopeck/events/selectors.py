"""Reads of the event log."""

from __future__ import annotations

import datetime as dt

from django.db.models import QuerySet

from kopeck.events.models import DispatchStatus, Event, PendingEvent


def event_list(*, type: str | None = None, client_id: int | None = None, subject_type: str | None = None,
               subject_id: int | None = None, since: dt.datetime | None = None, until: dt.datetime | None = None,
               after_id: int | None = None, after_sequence: int | None = None) -> QuerySet[Event]:
    """Events, newest first; ``type`` may end with ``.*`` (a group: ``subscription.*``);
    ``after_sequence`` (with ``client_id``) gives a client's events after a sequence number, in order."""
    qs = Event.objects.all()
    if type:
        qs = qs.filter(type__startswith=type[:-1]) if type.endswith(".*") else qs.filter(type=type)
    if client_id is not None:
        qs = qs.filter(client_id=client_id)
    if subject_type:
        qs = qs.filter(subject_type=subject_type)
    if subject_id is not None:
        qs = qs.filter(subject_id=subject_id)
    if since is not None:
        qs = qs.filter(occurred_at__gte=since)
    if until is not None:
        qs = qs.filter(occurred_at__lt=until)
    if after_id is not None:
        qs = qs.filter(pk__gt=after_id).order_by("id")
    if after_sequence is not None:
        qs = qs.filter(sequence__gt=after_sequence).order_by("sequence")
    return qs


def event_envelope(event: Event) -> dict[str, object]:
    """The event as receivers see it (API, webhooks): the envelope and the payload under ``data``."""
    return {
        "id": event.pk,
        "uid": f"evt_{event.uid.hex}",
        "type": event.type,
        "version": event.version,
        "timestamp": event.occurred_at.astimezone(dt.UTC).isoformat().replace("+00:00", "Z"),
        "client_id": event.client_id,
        "sequence": event.sequence,
        "subject": {"type": event.subject_type, "id": event.subject_id},
        "data": event.data,
    }


def event_processing(event: Event) -> tuple[str, str]:
    """Whether the consumers have processed ``event`` — ``done`` (it has left the queue of events to
    process), ``pending`` or ``failed`` — and the error of its last failed attempt while it waits."""
    pending = PendingEvent.objects.filter(event_id=event.pk).values_list("failed", "error").first()
    if pending is None:
        return DispatchStatus.DONE.value, ""
    failed, error = pending
    return (DispatchStatus.FAILED if failed else DispatchStatus.PENDING).value, error
