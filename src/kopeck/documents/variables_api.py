"""REST API of the variables (Переменные): named values usable in document templates as
``vars.<code>``, and in business rules' conditions and notification templates (docs/rules.md)."""

from __future__ import annotations

from typing import Any

from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from kopeck.common.access import Area
from kopeck.common.errors import ValidationFailed
from kopeck.common.http.base import KopeckViewSet
from kopeck.documents import services
from kopeck.documents.models import LegalEntity, Variable
from kopeck.documents.selectors import default_legal_entity, variables_for


class VariableSerializer(serializers.ModelSerializer[Variable]):
    class Meta:
        model = Variable
        fields = ["id", "code", "value", "description", "legal_entity", "updated_at"]
        read_only_fields = ["id", "updated_at"]


class VariableWriteSerializer(serializers.Serializer):  # type: ignore[type-arg]
    code = serializers.CharField(max_length=100, help_text="Latin letters, digits and _, starting with a letter.")
    value = serializers.CharField(allow_blank=True, trim_whitespace=False)
    description = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")
    legal_entity = serializers.IntegerField(required=False, allow_null=True, default=None,
                                            help_text="A legal entity's own value (wins over the global one).")


class VariableUpdateSerializer(serializers.Serializer):  # type: ignore[type-arg]
    value = serializers.CharField(allow_blank=True, trim_whitespace=False, required=False)
    description = serializers.CharField(max_length=300, required=False, allow_blank=True)


def _entity(pk: int | None) -> LegalEntity | None:
    if pk is None:
        return None
    entity = LegalEntity.objects.filter(pk=pk).first()
    if entity is None:
        raise ValidationFailed.field("legal_entity", _("Legal entity %(id)s does not exist.") % {"id": pk})
    return entity


@extend_schema_view(
    list=extend_schema(summary="List variables", parameters=[
        OpenApiParameter("legal_entity", int, description="Only this legal entity's own variables; `global` for "
                                                          "the global ones.")]),
    retrieve=extend_schema(summary="Get a variable"),
    create=extend_schema(summary="Set a variable", request=VariableWriteSerializer,
                         responses={201: VariableSerializer}),
    partial_update=extend_schema(summary="Change a variable", request=VariableUpdateSerializer,
                                 responses={200: VariableSerializer}),
    destroy=extend_schema(summary="Delete a variable"),
)
class VariableViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, KopeckViewSet):
    """Variables: global, or of one legal entity. ``GET /api/v1/variables/effective/`` gives the values
    templates and rules see (the default legal entity's requisites and variables over the global ones)."""

    area = Area.DOCUMENTS
    serializer_class = VariableSerializer
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self) -> Any:
        qs = Variable.objects.all().order_by("code", "id")
        entity = self.request.query_params.get("legal_entity")
        if entity == "global":
            return qs.filter(legal_entity__isnull=True)
        if entity:
            if not entity.isdigit():
                raise ValidationFailed.field("legal_entity", _("A legal entity's id, or `global`."))
            return qs.filter(legal_entity_id=int(entity))
        return qs

    def create(self, request: Request) -> Response:
        data = VariableWriteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        variable = services.variable_set(actor=self.actor, code=values["code"], value=values["value"],
                                         description=values.get("description", ""),
                                         legal_entity=_entity(values.get("legal_entity")))
        return Response(VariableSerializer(variable).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request: Request, pk: str) -> Response:
        variable = get_object_or_404(Variable, pk=pk)
        data = VariableUpdateSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        saved = services.variable_set(actor=self.actor, code=variable.code, legal_entity=variable.legal_entity,
                                      value=values.get("value", variable.value),
                                      description=values.get("description", variable.description))
        return Response(VariableSerializer(saved).data)

    def destroy(self, request: Request, pk: str) -> Response:
        services.variable_delete(actor=self.actor, variable=get_object_or_404(Variable, pk=pk))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(summary="The values templates and rules see",
                   responses={200: {"type": "object", "additionalProperties": {"type": "string"}}})
    @action(detail=False, methods=["get"])
    def effective(self, request: Request) -> Response:
        return Response(variables_for(default_legal_entity()))
