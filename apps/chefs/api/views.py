from django.urls import reverse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.permissions import IsChef
from apps.chefs import selectors, services
from apps.chefs.api.serializers import OpeningHoursInput, OpeningSlot, OpeningSlotOutput, ProfileInput, ProfileOutput
from foodiefast.errors import InvalidInput
from foodiefast.photo_api import PhotoUploadInput, PhotoUploadOutput
from foodiefast.photos import photo_upload_start
from foodiefast.schema import Error, ValidationErrorBody


class ChefProfileApi(APIView):
    permission_classes = [IsChef]

    @extend_schema(responses={200: ProfileOutput}, tags=["chef"], summary="My kitchen")
    def get(self, request):
        kitchen = services.kitchen_ensure_for_chef(chef=request.user)
        return Response(ProfileOutput(kitchen, context={"request": request}).data)

    @extend_schema(
        request=ProfileInput,
        responses={
            200: ProfileOutput,
            409: OpenApiResponse(
                Error, description="`kitchen_incomplete`: an approved kitchen cannot lose its location."
            ),
        },
        tags=["chef"],
        summary="Update my kitchen",
    )
    def patch(self, request):
        data = ProfileInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        kitchen = services.kitchen_ensure_for_chef(chef=request.user)
        kitchen = services.kitchen_update(kitchen=kitchen, **data.validated_data)
        return Response(ProfileOutput(kitchen, context={"request": request}).data)


class ChefPhotoUploadApi(APIView):
    permission_classes = [IsChef]

    @extend_schema(
        request=PhotoUploadInput,
        responses={201: PhotoUploadOutput, 400: ValidationErrorBody},
        tags=["chef"],
        summary="Upload a photo (a presigned POST, valid 15 minutes)",
    )
    def post(self, request):
        data = PhotoUploadInput(data=request.data)
        data.is_valid(raise_exception=True)
        local_url = request.build_absolute_uri(reverse("photo-upload-local"))
        post = photo_upload_start(owner=request.user, local_url=local_url, **data.validated_data)
        return Response(PhotoUploadOutput(post).data, status=status.HTTP_201_CREATED)


class ChefOpeningHoursApi(APIView):
    permission_classes = [IsChef]

    @extend_schema(responses={200: OpeningSlotOutput(many=True)}, tags=["chef"], summary="My weekly opening hours")
    def get(self, request):
        kitchen = services.kitchen_ensure_for_chef(chef=request.user)
        return Response(OpeningSlotOutput(selectors.opening_hours_for(kitchen=kitchen), many=True).data)

    @extend_schema(
        request=OpeningSlot(many=True),
        responses={200: OpeningSlotOutput(many=True)},
        tags=["chef"],
        summary="Replace my weekly opening hours",
    )
    def put(self, request):
        data = OpeningHoursInput(data=request.data)
        if not data.is_valid():
            raise _slot_errors(data.errors)
        kitchen = services.kitchen_ensure_for_chef(chef=request.user)
        slots = [(s["weekday"], s["opens_minute"], s["closes_minute"]) for s in data.validated_data]
        hours = services.opening_hours_replace(kitchen=kitchen, slots=slots)
        return Response(OpeningSlotOutput(hours, many=True).data)


def _slot_errors(errors) -> InvalidInput:
    """A list's errors in the API.md shape: ``fields`` keyed ``<index>.<field>``."""
    fields: dict[str, list[str]] = {}
    items = errors.items() if isinstance(errors, dict) else enumerate(errors)
    for key, value in items:
        if isinstance(value, dict):  # one slot's errors, keyed by its index
            for name, messages in value.items():
                fields[f"{key}.{name}"] = [str(m) for m in messages]
        elif isinstance(value, list) and value:  # not a list at all, or a rule across slots
            fields[str(key) if isinstance(key, str) else "non_field_errors"] = [str(m) for m in value]
    first_name, first_messages = next(iter(fields.items()), ("non_field_errors", ["Invalid opening hours."]))
    return InvalidInput(f"{first_name}: {first_messages[0]}", fields=fields)
