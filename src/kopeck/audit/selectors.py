from __future__ import annotations

from django.db.models import QuerySet

from kopeck.audit.models import AuditEntry


def audit_entries(*, object_type: str | None = None, object_id: object | None = None) -> QuerySet[AuditEntry]:
    qs = AuditEntry.objects.all()
    if object_type:
        qs = qs.filter(object_type=object_type)
    if object_id is not None:
        qs = qs.filter(object_id=str(object_id))
    return qs.order_by("-at", "-id")
