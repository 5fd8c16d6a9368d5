"""The courier API: availability, the deliveries near me, claim, release, pickup,
deliver, and location pings. Thin: parse, call a service or selector, render."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.permissions import IsCourier
from apps.tracking import selectors, services
from apps.tracking.api.edge import claim_digest
from apps.tracking.api.serializers import (
    LOCATION_BODY,
    AssignedDeliveryOutput,
    AvailabilityInput,
    AvailabilityOutput,
    AvailableDeliveryOutput,
    AvailablePage,
    CourierDeliveryOutput,
    LocationAccepted,
    points_from,
)
from apps.tracking.errors import DeliveryNotFound
from foodiefast.pagination import PageNumberPagination
from foodiefast.schema import PAGING, error_response

NOT_YOURS = error_response("`not_found`: no such delivery, or not assigned to you.")
OUT_OF_ORDER = error_response("`invalid_transition`: a step out of order.")


class CourierAvailabilityApi(APIView):
    permission_classes = [IsCourier]

    @extend_schema(
        request=AvailabilityInput,
        responses={200: AvailabilityOutput},
        tags=["courier"],
        summary="Go online or offline, with my position",
    )
    def post(self, request):
        data = AvailabilityInput(data=request.data)
        data.is_valid(raise_exception=True)
        state = services.courier_set_availability(courier=request.user, **data.validated_data)
        return Response(
            AvailabilityOutput(
                {"online": state.is_online, "lat": state.lat, "lng": state.lng, "updated_at": state.position_at}
            ).data
        )


class AvailableDeliveriesApi(APIView):
    permission_classes = [IsCourier]

    @extend_schema(
        parameters=PAGING,
        responses={200: AvailablePage},
        tags=["courier"],
        summary="Deliveries waiting for a courier near me, nearest first",
        description="Kitchens within `DISPATCH_RADIUS_KM` (5 km by default) of my newest position; "
        "empty while I am offline.",
        operation_id="courier_deliveries_available",
    )
    def get(self, request):
        nearby = selectors.delivery_list_available(courier=request.user)
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(nearby, request, self)
        for each in page:
            each.delivery.distance_km = round(each.distance_km, 3)
        return paginator.get_paginated_response(AvailableDeliveryOutput([n.delivery for n in page], many=True).data)


class CourierDeliveryStepApi(APIView):
    """One step of a courier on a delivery: call, show the delivery as they now see it."""

    permission_classes = [IsCourier]

    def act(self, request, delivery_id):
        raise NotImplementedError

    def post(self, request, delivery_id):
        delivery = self.act(request, delivery_id)
        return Response(AssignedDeliveryOutput(delivery).data)


class DeliveryClaimApi(CourierDeliveryStepApi):
    @extend_schema(
        request=None,
        responses={
            200: AssignedDeliveryOutput,
            404: error_response("`not_found`: no such delivery, or it was cancelled or finished."),
            409: error_response(
                "`already_claimed`: another courier holds it; `courier_busy`: you hold another active delivery."
            ),
        },
        tags=["courier"],
        summary="Claim a delivery (exactly one courier gets it)",
    )
    def post(self, request, delivery_id):
        return super().post(request, delivery_id)

    def act(self, request, delivery_id):
        return services.delivery_claim(courier=request.user, delivery_id=delivery_id)


class DeliveryReleaseApi(APIView):
    permission_classes = [IsCourier]

    @extend_schema(
        request=None,
        responses={
            200: CourierDeliveryOutput,
            404: NOT_YOURS,
            409: error_response("`invalid_transition`: already picked up."),
        },
        tags=["courier"],
        summary="Give a claimed delivery back before pickup (it is offered again)",
    )
    def post(self, request, delivery_id):
        delivery = services.delivery_release(courier=request.user, delivery_id=delivery_id)
        return Response(CourierDeliveryOutput(delivery).data)


class DeliveryPickupApi(CourierDeliveryStepApi):
    @extend_schema(
        request=None,
        responses={200: AssignedDeliveryOutput, 404: NOT_YOURS, 409: OUT_OF_ORDER},
        tags=["courier"],
        summary="Picked up at the kitchen (the order must be ready for pickup)",
    )
    def post(self, request, delivery_id):
        return super().post(request, delivery_id)

    def act(self, request, delivery_id):
        return services.delivery_pick_up(courier=request.user, delivery_id=delivery_id)


class DeliveryDeliverApi(CourierDeliveryStepApi):
    @extend_schema(
        request=None,
        responses={200: AssignedDeliveryOutput, 404: NOT_YOURS, 409: OUT_OF_ORDER},
        tags=["courier"],
        summary="Handed over at the door",
    )
    def post(self, request, delivery_id):
        return super().post(request, delivery_id)

    def act(self, request, delivery_id):
        return services.delivery_complete(courier=request.user, delivery_id=delivery_id)


class CurrentDeliveryApi(APIView):
    permission_classes = [IsCourier]

    @extend_schema(
        responses={200: AssignedDeliveryOutput, 404: error_response("`not_found`: you hold no active delivery.")},
        tags=["courier"],
        summary="The delivery I hold (claimed or picked up)",
    )
    def get(self, request):
        delivery = selectors.delivery_active_for(courier_id=request.user.pk)
        if delivery is None:
            raise DeliveryNotFound()
        return Response(AssignedDeliveryOutput(delivery).data)


class CourierLocationApi(APIView):
    permission_classes = [IsCourier]

    @extend_schema(
        request={"application/json": LOCATION_BODY},
        responses={
            202: LocationAccepted,
            403: error_response(
                "`courier_off_duty`: offline with no active delivery; `permission_denied`: not a courier."
            ),
            503: error_response("`service_unavailable`: positions cannot be recorded now (nothing was)."),
        },
        tags=["courier"],
        summary="My position: one point, or up to 50 oldest first",
        description="The newest point becomes my position and reaches the customer's tracking; the route "
        "is kept downsampled and forgotten after `LOCATION_RETENTION_DAYS`.",
    )
    def post(self, request):
        points = points_from(request.data)
        services.courier_location_record(courier=request.user, points=points)
        # The ASGI entry answers this courier's next pings itself (apps/tracking/api/edge.py).
        services.courier_vouch(courier_id=str(request.user.pk), digest=claim_digest(request.auth))
        return Response(LocationAccepted({"points": len(points)}).data, status=status.HTTP_202_ACCEPTED)
