from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, serializers

from kopeck.audit.models import AuditEntry
from kopeck.audit.selectors import audit_entries
from kopeck.common.access import Area
from kopeck.common.http.base import KopeckViewSet


class AuditEntrySerializer(serializers.ModelSerializer[AuditEntry]):
    class Meta:
        model = AuditEntry
        fields = ["id", "at", "actor_kind", "actor_id", "actor_label", "action", "object_type", "object_id",
                  "before", "after"]


@extend_schema_view(list=extend_schema(parameters=[OpenApiParameter("object_type", str),
                                                   OpenApiParameter("object_id", str)]))
class AuditViewSet(mixins.ListModelMixin, KopeckViewSet):
    """The audit log of every write."""

    area = Area.AUDIT
    serializer_class = AuditEntrySerializer

    def get_queryset(self) -> Any:
        p = self.request.query_params
        return audit_entries(object_type=p.get("object_type"), object_id=p.get("object_id"))
