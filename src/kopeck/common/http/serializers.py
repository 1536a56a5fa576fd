from __future__ import annotations

from rest_framework import serializers


class ProblemFieldSerializer(serializers.Serializer):  # type: ignore[type-arg]
    field = serializers.CharField()
    detail = serializers.CharField()


class ProblemSerializer(serializers.Serializer):  # type: ignore[type-arg]
    """RFC 9457 problem details."""

    type = serializers.CharField()
    title = serializers.CharField()
    status = serializers.IntegerField()
    detail = serializers.CharField()
    instance = serializers.CharField(required=False)
    errors = ProblemFieldSerializer(many=True, required=False)  # type: ignore[assignment]
