"""The order API: customers place, follow, cancel and review their orders; chefs
see their kitchen's orders and accept, reject or mark them ready. Thin: parse, call
a service or selector, render."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.fields import DateTimeField
from rest_framework.response import Response
from rest_framework.throttling import UserRateThrottle
from rest_framework.views import APIView

from apps.accounts.permissions import IsChef, IsCustomer
from apps.orders import selectors, services
from apps.orders.api.serializers import (
    AcceptInput,
    ChefOrderOutput,
    ChefOrderPage,
    OrderOutput,
    OrderPage,
    OrderPlaceInput,
    RejectInput,
    ReviewInput,
    ReviewOutput,
    ShareOutput,
    TrackingOutput,
)
from apps.orders.models import CHEF_VISIBLE_STATUSES
from apps.orders.stream import stream_once
from foodiefast.errors import InvalidInput
from foodiefast.idempotency import HEADER, idempotency_key_from
from foodiefast.json_input import StrictInput
from foodiefast.pagination import PageNumberPagination
from foodiefast.schema import PAGING, Error, ValidationErrorBody, error_response

INVALID_TRANSITION = error_response("`invalid_transition`: not possible from the order's current status.")
PROVIDER_DOWN = OpenApiResponse(
    Error,
    description="`payment_provider_unavailable` (Stripe unreachable) or `service_unavailable`: nothing changed; "
    "send it again after `Retry-After`.",
)


def _render(order, *, many: bool = False, payments: dict | None = None) -> dict | list:
    """The order(s) as the contract shows them; ``payments``: their payment blocks
    by order id when the caller has them already."""
    orders = order if many else [order]
    if payments is None:
        payments = selectors.payment_blocks_for(list(orders))
    return OrderOutput(order, many=many, context={"payments": payments}).data


class OrderListApi(APIView):
    permission_classes = [IsCustomer]

    @extend_schema(
        parameters=PAGING,
        responses={200: OrderPage},
        tags=["orders"],
        summary="My orders, newest first",
        operation_id="orders_list",
    )
    def get(self, request):
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(selectors.order_list_for_customer(customer=request.user), request, self)
        return paginator.get_paginated_response(_render(page, many=True))

    @extend_schema(
        request=OrderPlaceInput,
        parameters=[
            OpenApiParameter(
                HEADER,
                str,
                OpenApiParameter.HEADER,
                required=True,
                description="A unique key per order the app places; a retry sends the same key and body",
            )
        ],
        responses={
            201: OrderOutput,
            400: OpenApiResponse(
                ValidationErrorBody,
                description="`invalid` (empty items, a quantity out of 1-20, an unknown dish, dishes of several "
                "chefs, a subtotal under the minimum, no key) or `out_of_delivery_area`.",
            ),
            409: error_response(
                "`dish_unavailable`, `sold_out` (with `dish_id` and `portions_left`; nothing reserved), "
                "`chef_closed`, or `idempotency_key_reused` (the key was sent with another body)."
            ),
            503: PROVIDER_DOWN,
        },
        tags=["orders"],
        summary="Place an order",
    )
    def post(self, request):
        key = idempotency_key_from(request)
        data = OrderPlaceInput(data=request.data)
        data.is_valid(raise_exception=True)
        body = data.validated_data
        placed = services.order_place(
            customer=request.user,
            idempotency_key=key,
            items=[(item["dish_id"], item["quantity"]) for item in body["items"]],
            delivery=body["delivery"],
            tip_cents=body["tip_cents"],
        )
        if placed.created:  # as written by this request, with the checkout it started
            answer = _render(placed.order, payments={str(placed.order.pk): placed.checkout})
        else:
            answer = _render(selectors.order_get_for_customer(customer=request.user, order_id=placed.order.pk))
        return Response(answer, status=status.HTTP_201_CREATED)


class OrderDetailApi(APIView):
    permission_classes = [IsCustomer]

    @extend_schema(responses={200: OrderOutput}, tags=["orders"], summary="One of my orders")
    def get(self, request, order_id):
        return Response(_render(selectors.order_get_for_customer(customer=request.user, order_id=order_id)))


class OrderTrackingStreamApi(APIView):
    """Served by the ASGI entry's stream route (apps/orders/stream.py), which holds the
    stream open; documented here. A server without that route reaches this view, which
    answers the stream's first events and ends with a ``retry:`` hint."""

    permission_classes = [IsCustomer]

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "Last-Event-ID",
                str,
                OpenApiParameter.HEADER,
                description="The id of the last event received: the events missed since then come first.",
            )
        ],
        responses={
            (200, "text/event-stream"): OpenApiResponse(
                OpenApiTypes.STR,
                description=(
                    "Server-Sent Events, each with an `id:`. `status`: `{status, at}`; `location`: "
                    "`{lat, lng, updated_at, eta_minutes, estimated_arrival_at}`. On connect the current status "
                    "and, once a courier is assigned, the latest position; a `: keep-alive` comment at least every "
                    "15 s; the stream ends after the final status (`delivered`, `cancelled`), or with a `retry:` "
                    "hint (the app reconnects with `Last-Event-ID` and a fresh token)."
                ),
            ),
            204: OpenApiResponse(description="The order has ended and nothing was missed: stop reconnecting."),
        },
        tags=["orders"],
        summary="Follow my order live (Server-Sent Events)",
    )
    def get(self, request, order_id):
        status_now, at = selectors.order_status_for_customer(customer=request.user, order_id=order_id)
        body = stream_once(
            order_id=str(order_id),
            status=status_now,
            at=DateTimeField().to_representation(at),
            last_event_id=request.headers.get("Last-Event-ID"),
        )
        if body is None:
            return HttpResponse(status=status.HTTP_204_NO_CONTENT)
        return HttpResponse(
            body, content_type="text/event-stream; charset=utf-8", headers={"Cache-Control": "no-cache"}
        )


class ShareThrottle(UserRateThrottle):
    """``SHARE_REQUESTS_PER_MINUTE`` per customer on the share endpoints (read when
    the request comes, so a changed setting applies at once)."""

    scope = "order_share"

    def get_rate(self) -> str:
        return f"{settings.SHARE_REQUESTS_PER_MINUTE}/min"


class OrderShareApi(APIView):
    permission_classes = [IsCustomer]
    throttle_classes = [ShareThrottle]

    @extend_schema(
        request=None,
        responses={
            201: ShareOutput,
            200: OpenApiResponse(ShareOutput, description="The link made earlier, the same again."),
        },
        tags=["orders"],
        summary="A live link to my order's tracking page, to send to anyone",
        description=(
            "The link opens `/t/{token}`: the status timeline, the kitchen's name, the ETA and the courier on a map, "
            "with no address, no customer name and only the courier's first name. `expires_at` is null until the "
            "order ends, then one hour later; the link answers 410 after it."
        ),
    )
    def post(self, request, order_id):
        share, created = services.order_share(customer=request.user, order_id=order_id)
        order = selectors.order_get_for_customer(customer=request.user, order_id=order_id)
        base = settings.PUBLIC_BASE_URL or f"{request.scheme}://{request.get_host()}"
        body = ShareOutput({"url": f"{base}/t/{share.token}", "expires_at": selectors.share_expires_at(order)}).data
        return Response(body, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    @extend_schema(
        request=None,
        responses={204: OpenApiResponse(description="The link is revoked: its page answers 404 from now on.")},
        tags=["orders"],
        summary="Revoke my order's live link",
    )
    def delete(self, request, order_id):
        services.order_share_revoke(customer=request.user, order_id=order_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class OrderCancelApi(APIView):
    permission_classes = [IsCustomer]

    @extend_schema(
        request=None,
        responses={200: OrderOutput, 409: INVALID_TRANSITION},
        tags=["orders"],
        summary="Cancel my order before the chef accepts it",
    )
    def post(self, request, order_id):
        services.order_cancel_by_customer(customer=request.user, order_id=order_id)
        return Response(_render(selectors.order_get_for_customer(customer=request.user, order_id=order_id)))


class OrderReviewApi(APIView):
    permission_classes = [IsCustomer]

    @extend_schema(
        request=ReviewInput,
        responses={
            201: ReviewOutput,
            409: error_response("`review_not_allowed`: not delivered yet, or reviewed already."),
        },
        tags=["orders"],
        summary="Review my delivered order",
    )
    def post(self, request, order_id):
        data = ReviewInput(data=request.data)
        data.is_valid(raise_exception=True)
        review = services.order_review(customer=request.user, order_id=order_id, **data.validated_data)
        return Response(ReviewOutput(review).data, status=status.HTTP_201_CREATED)


class OrderTrackingApi(APIView):
    permission_classes = [IsCustomer]

    @extend_schema(
        responses={200: TrackingOutput},
        tags=["orders"],
        summary="Where my order is: the courier's position and the ETA",
        description="In every status. `courier` is null until a courier is assigned and again once the order "
        "is delivered or cancelled; `eta_minutes` and `estimated_arrival_at` count the preparation left "
        "before pickup and the distances at `COURIER_SPEED_KMH` (null when unknown).",
    )
    def get(self, request, order_id):
        tracking = selectors.order_tracking_for_customer(customer=request.user, order_id=order_id)
        return Response(TrackingOutput(tracking).data)


# ---------------------------------------------------------------------------
# The chef's orders
# ---------------------------------------------------------------------------


def _chef_order(request, order_id):
    return ChefOrderOutput(selectors.order_get_for_chef(chef=request.user, order_id=order_id)).data


class ChefOrderListApi(APIView):
    permission_classes = [IsChef]

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "status",
                {"type": "string", "enum": sorted(CHEF_VISIBLE_STATUSES)},
                OpenApiParameter.QUERY,
                description="Only orders in this status",
            ),
            *PAGING,
        ],
        responses={200: ChefOrderPage},
        tags=["chef"],
        summary="My kitchen's orders, from paid on",
        operation_id="chef_orders_list",
    )
    def get(self, request):
        wanted = request.query_params.get("status") or None
        if wanted is not None and wanted not in CHEF_VISIBLE_STATUSES:
            raise InvalidInput(
                "Unknown status.", fields={"status": [f"One of {', '.join(sorted(CHEF_VISIBLE_STATUSES))}."]}
            )
        paginator = PageNumberPagination()
        orders = selectors.order_list_for_chef(chef=request.user, status=wanted)
        page = paginator.paginate_queryset(orders, request, self)
        return paginator.get_paginated_response(ChefOrderOutput(page, many=True).data)


class ChefOrderActionApi(APIView):
    """One chef action on one of the kitchen's orders: parse, call, show the order."""

    permission_classes = [IsChef]
    input_serializer: type[StrictInput] | None = None

    def act(self, request, order_id, **data) -> None:
        raise NotImplementedError

    def post(self, request, order_id):
        data = {}
        if self.input_serializer is not None:
            parsed = self.input_serializer(data=request.data)
            parsed.is_valid(raise_exception=True)
            data = parsed.validated_data
        self.act(request, order_id, **data)
        return Response(_chef_order(request, order_id))


def _chef_action(summary: str, request, responses: dict) -> Any:
    return extend_schema_view(
        post=extend_schema(
            request=request, responses={200: ChefOrderOutput, **responses}, tags=["chef"], summary=summary
        )
    )


@_chef_action(
    "Accept a paid order (captures the payment)",
    AcceptInput,
    {
        409: error_response(
            "`invalid_transition` (not paid), or `payment_capture_failed`: Stripe refused the capture and the "
            "order is cancelled."
        ),
        503: PROVIDER_DOWN,
    },
)
class ChefOrderAcceptApi(ChefOrderActionApi):
    input_serializer = AcceptInput

    def act(self, request, order_id, **data) -> None:
        services.order_accept(chef=request.user, order_id=order_id, **data)


@_chef_action("Turn a paid order down (voids the card hold)", RejectInput, {409: INVALID_TRANSITION})
class ChefOrderRejectApi(ChefOrderActionApi):
    input_serializer = RejectInput

    def act(self, request, order_id, **data) -> None:
        services.order_reject(chef=request.user, order_id=order_id, **data)


@_chef_action("Mark an accepted order ready for pickup", None, {409: INVALID_TRANSITION})
class ChefOrderReadyApi(ChefOrderActionApi):
    def act(self, request, order_id, **data) -> None:
        services.order_mark_ready(chef=request.user, order_id=order_id)
