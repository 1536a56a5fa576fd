from __future__ import annotations

from typing import Any

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from kopeck.common.http.base import KopeckViewSet
from kopeck.common.http.fields import DateTimeField
from kopeck.operators.models import ApiKey, Operator
from kopeck.operators.roles import ALL_SCOPES, Area
from kopeck.operators.services import api_key_create, api_key_revoke


class ApiKeySerializer(serializers.ModelSerializer[ApiKey]):
    class Meta:
        model = ApiKey
        fields = ["id", "name", "prefix", "scopes", "created_at", "expires_at", "revoked_at", "last_used_at",
                  "last_used_ip"]


class ApiKeyCreateSerializer(serializers.Serializer):  # type: ignore[type-arg]
    name = serializers.CharField(max_length=200)
    scopes = serializers.ListField(child=serializers.ChoiceField(choices=ALL_SCOPES), allow_empty=False)
    expires_at = DateTimeField(required=False, allow_null=True)


class ApiKeyIssuedSerializer(ApiKeySerializer):
    token = serializers.CharField(help_text="The secret: shown this once, store it now.")

    class Meta(ApiKeySerializer.Meta):
        fields = [*ApiKeySerializer.Meta.fields, "token"]


class ApiKeyViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, KopeckViewSet):
    """API keys: created with the secret shown once, revocable."""

    area = Area.OPERATORS
    serializer_class = ApiKeySerializer
    queryset = ApiKey.objects.all()
    http_method_names = ["get", "post", "head", "options"]

    @extend_schema(request=ApiKeyCreateSerializer, responses={201: ApiKeyIssuedSerializer})
    def create(self, request: Request) -> Response:
        """Create an API key (with scopes the caller holds itself); the secret is shown once."""
        data = ApiKeyCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        creator = request.user if isinstance(request.user, Operator) else None
        grantor = request.auth if isinstance(request.auth, ApiKey) else creator
        issued = api_key_create(actor=self.actor, created_by=creator, grantor=grantor, **data.validated_data)
        body: dict[str, Any] = dict(ApiKeySerializer(issued.key).data)
        body["token"] = issued.token
        return Response(body, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={200: ApiKeySerializer})
    @action(detail=True, methods=["post"])
    def revoke(self, request: Request, pk: str) -> Response:
        """Revoke an API key: it is refused from now on (a key cannot revoke itself)."""
        key = api_key_revoke(key=get_object_or_404(ApiKey, pk=pk), actor=self.actor)
        return Response(ApiKeySerializer(key).data)
