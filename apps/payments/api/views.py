from django.conf import settings
from django.utils.translation import gettext
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.payments import services
from apps.payments.api.serializers import WebhookAckOutput
from apps.payments.errors import InvalidWebhookSignature
from apps.payments.gateways.base import InvalidSignature
from apps.payments.gateways.stripe import parse_webhook
from foodiefast.errors import InvalidInput
from foodiefast.schema import Error


class StripeWebhookApi(APIView):
    """Stripe calls this; it answers as soon as the event is stored."""

    permission_classes = [AllowAny]
    authentication_classes: list = []
    throttle_classes: list = []

    @extend_schema(
        tags=["payments"],
        summary="Stripe webhook",
        description=(
            "Stripe events, verified with the `Stripe-Signature` header on the raw body (a timestamp more than "
            "300 s old or ahead is refused). A verified event is stored once (unique on its id) and answered 200 "
            "at once; it is processed after the answer by re-reading the PaymentIntent, so duplicated or "
            "out-of-order deliveries end in the same state. Unknown event types are stored and ignored."
        ),
        auth=[],
        parameters=[
            OpenApiParameter(
                "Stripe-Signature",
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                required=True,
                description="`t=<unix time>,v1=<HMAC-SHA256 of '<t>.<raw body>' with the webhook secret>`",
            )
        ],
        request={"application/json": OpenApiTypes.OBJECT},
        responses={
            200: WebhookAckOutput,
            400: OpenApiResponse(
                Error,
                description="`invalid_signature`: missing or bad signature, stale or future timestamp; "
                "`invalid`: a signed body that is not a Stripe event. Nothing is stored.",
                examples=[
                    OpenApiExample(
                        "Bad signature",
                        {"code": "invalid_signature", "detail": "The Stripe-Signature header does not match."},
                    )
                ],
            ),
        },
    )
    def post(self, request):
        payload = request.body  # the raw bytes: the signature covers them exactly
        try:
            event = parse_webhook(
                payload,
                request.headers.get("Stripe-Signature"),
                secret=settings.STRIPE_WEBHOOK_SECRET,
                tolerance=settings.STRIPE_WEBHOOK_TOLERANCE_SECONDS,
            )
        except InvalidSignature as exc:
            raise InvalidWebhookSignature() from exc
        except ValueError as exc:
            raise InvalidInput(gettext("The body is not a Stripe event.")) from exc
        _, created = services.stripe_event_record(event=event)
        return Response(WebhookAckOutput({"received": True, "duplicate": not created}).data)
