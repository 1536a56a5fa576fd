"""REST API of clients and their field sets."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from kopeck.audit.api import AuditEntrySerializer
from kopeck.audit.selectors import audit_entries
from kopeck.clients import selectors, services
from kopeck.clients.models import (
    Client,
    ClientFieldDefinition,
    ClientStatus,
    ClientType,
    Contact,
    ContactKind,
    FieldKind,
)
from kopeck.common.http.base import KopeckViewSet
from kopeck.common.http.params import choice_param, currency_param
from kopeck.operators.roles import Area


class ContactSerializer(serializers.ModelSerializer[Contact]):
    kind = serializers.ChoiceField(choices=ContactKind.choices)

    class Meta:
        model = Contact
        fields = ["kind", "value", "name", "receives_documents"]


class ClientSerializer(serializers.ModelSerializer[Client]):
    tags = serializers.SerializerMethodField()
    contacts = ContactSerializer(many=True, read_only=True)

    class Meta:
        model = Client
        fields = ["id", "type", "name", "external_id", "status", "currency", "fields", "tags", "contacts",
                  "created_at", "updated_at"]

    def get_tags(self, obj: Client) -> list[str]:
        return sorted(t.name for t in obj.tags.all())


class ClientWriteSerializer(serializers.Serializer):  # type: ignore[type-arg]
    type = serializers.ChoiceField(choices=ClientType.choices)
    name = serializers.CharField(max_length=300)
    external_id = serializers.CharField(max_length=100, required=False, allow_null=True, allow_blank=True)
    status = serializers.ChoiceField(choices=ClientStatus.choices, required=False)
    currency = serializers.CharField(max_length=3, required=False)
    fields = serializers.DictField(  # type: ignore[assignment]  # DRF pops declared fields off the class
        required=False, help_text="Values of the client type's field set, by code.")
    tags = serializers.ListField(child=serializers.CharField(max_length=100), required=False,
                                 max_length=settings.KOPECK_CLIENT_TAGS_MAX)
    contacts = ContactSerializer(many=True, required=False, max_length=settings.KOPECK_CLIENT_CONTACTS_MAX)  # type: ignore[call-arg]


class ClientUpdateSerializer(ClientWriteSerializer):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields.pop("type")  # type: ignore[attr-defined]


CLIENT_EXAMPLE = OpenApiExample(
    "Legal entity",
    value={
        "type": "legal", "name": "ООО «Ромашка»", "currency": "RUB",
        "fields": {"full_name": "Общество с ограниченной ответственностью «Ромашка»", "inn": "7707083893",
                   "kpp": "773601001", "ogrn": "1027700132195", "bik": "044525225",
                   "settlement_account": "40702810938000012345"},
        "tags": ["vip"], "contacts": [{"kind": "email", "value": "buh@example.ru"}],
    },
    request_only=True,
)


@extend_schema_view(
    list=extend_schema(parameters=[
        OpenApiParameter("type", enum=ClientType.values), OpenApiParameter("status", enum=ClientStatus.values),
        OpenApiParameter("currency", str), OpenApiParameter("tag", str),
        OpenApiParameter("search", str, description="Name (substring), external id or ИНН (exact)."),
    ]),
    create=extend_schema(request=ClientWriteSerializer, responses={201: ClientSerializer}, examples=[CLIENT_EXAMPLE]),
    partial_update=extend_schema(request=ClientUpdateSerializer, responses={200: ClientSerializer}),
)
class ClientViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, KopeckViewSet):
    area = Area.CLIENTS
    serializer_class = ClientSerializer
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self) -> Any:
        p = self.request.query_params
        return selectors.client_list(type=choice_param(p, "type", ClientType.values),
                                     status=choice_param(p, "status", ClientStatus.values),
                                     currency=currency_param(p), tag=p.get("tag"), search=p.get("search"))

    def create(self, request: Request) -> Response:
        data = ClientWriteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        client = services.client_create(actor=self.actor, **data.validated_data)
        return Response(ClientSerializer(client).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request: Request, pk: str) -> Response:
        client = get_object_or_404(Client, pk=pk)
        data = ClientUpdateSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        client = services.client_update(actor=self.actor, client=client, **data.validated_data)
        return Response(ClientSerializer(Client.objects.get(pk=client.pk)).data)

    @extend_schema(responses={200: AuditEntrySerializer(many=True)})
    @action(detail=True, methods=["get"])
    def history(self, request: Request, pk: str) -> Response:
        """Every change of the client: who, when, before and after."""
        client = get_object_or_404(Client, pk=pk)
        page = self.paginate_queryset(audit_entries(object_type="client", object_id=client.pk))
        return self.get_paginated_response(AuditEntrySerializer(page, many=True).data)


class FieldDefinitionSerializer(serializers.ModelSerializer[ClientFieldDefinition]):
    kind = serializers.ChoiceField(choices=FieldKind.choices)
    client_type = serializers.ChoiceField(choices=ClientType.choices)

    class Meta:
        model = ClientFieldDefinition
        fields = ["id", "client_type", "code", "label_ru", "label_en", "kind", "required", "help_ru", "help_en",
                  "choices", "position", "is_active"]
        validators: list[Any] = []
        extra_kwargs: dict[str, Any] = {"code": {"validators": []}}


@extend_schema_view(list=extend_schema(parameters=[OpenApiParameter("client_type", enum=ClientType.values)]))
class FieldDefinitionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, KopeckViewSet):
    """The field sets of client types ("Поля юридическое лицо", "Поля физическое лицо")."""

    area = Area.SETTINGS
    serializer_class = FieldDefinitionSerializer
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self) -> Any:
        return selectors.field_definitions(choice_param(self.request.query_params, "client_type", ClientType.values))

    def create(self, request: Request) -> Response:
        data = FieldDefinitionSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        defn = services.field_definition_create(actor=self.actor, **data.validated_data)
        return Response(FieldDefinitionSerializer(defn).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request: Request, pk: str) -> Response:
        defn = get_object_or_404(ClientFieldDefinition, pk=pk)
        data = FieldDefinitionSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        defn = services.field_definition_update(actor=self.actor, definition=defn, **data.validated_data)
        return Response(FieldDefinitionSerializer(defn).data)
