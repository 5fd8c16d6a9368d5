"""``GET /api/v1/features``: the feature flags as they apply to the caller."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from foodiefast.flags import flags_for


class FeaturesApi(APIView):
    """Auth optional: a signed-in user gets the flags rolled out to them; an anonymous
    caller only those at 100 %."""

    permission_classes = [AllowAny]

    @extend_schema(
        responses={
            200: inline_serializer("Features", {"flags": serializers.DictField(child=serializers.BooleanField())})
        },
        tags=["operations"],
        summary="Feature flags for the caller",
    )
    def get(self, request):
        response = Response({"flags": flags_for(request.user)})
        response["Cache-Control"] = "private, no-store"
        return response
