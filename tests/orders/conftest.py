"""Orders test helpers: a kitchen open all week at the Louvre, its dishes, a
customer's app placing orders, and payments played against localstripe."""

from __future__ import annotations

import json
import threading
import uuid
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from django.urls import reverse

from apps.orders.models import Order
from apps.payments import services as payment_services
from apps.payments.selectors import payment_get
from tests.factories.chefs import PARIS, KitchenFactory
from tests.factories.menus import DishFactory

# The Stripe double's fixtures, shared with the payments tests.
from tests.payments.conftest import localstripe_webhooks, stripe_double

# A drop-off 1.2 km from the Louvre kitchen, inside its 5 km radius.
NEAR = (48.8566, 2.3522)
FAR = (48.9566, 2.5522)


@pytest.fixture
def kitchen(db):
    return KitchenFactory(always_open=True, delivery_fee_cents=299)


@pytest.fixture
def dish(kitchen):
    return DishFactory(kitchen=kitchen, name="Boeuf bourguignon", price_cents=1250, allergens=("celery", "sulphites"))


@pytest.fixture
def other_dish(kitchen):
    return DishFactory(kitchen=kitchen, name="Tarte Tatin", price_cents=650, allergens=("gluten", "eggs", "milk"))


def order_body(*items, tip_cents: int | None = None, lat: float = NEAR[0], lng: float = NEAR[1], **delivery) -> dict:
    """A checkout body: ``items`` as (dish, quantity) pairs."""
    body = {
        "items": [{"dish_id": str(dish.pk), "quantity": quantity} for dish, quantity in items],
        "delivery": {
            "address": "12 rue de Rivoli, 75004 Paris",
            "lat": lat,
            "lng": lng,
            "instructions": "Code 1234, 3rd floor",
            "phone": "+33 6 12 34 56 78",
            **delivery,
        },
    }
    if tip_cents is not None:
        body["tip_cents"] = tip_cents
    return body


def place(client, body: dict, *, key: str | None = None):
    """POST /orders as the customer's app does, with an Idempotency-Key."""
    headers = {"HTTP_IDEMPOTENCY_KEY": key or str(uuid.uuid4())}
    return client.post(reverse("v1:orders"), body, format="json", **headers)


@pytest.fixture
def customer_app(make_client, customer):
    return make_client(customer)


@pytest.fixture
def chef_app(make_client, kitchen):
    return make_client(kitchen.chef)


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """``with committed():`` runs what waits for the commit (events through the
    outbox, tasks) as the end of a real transaction would."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


@pytest.fixture
def pay(stripe_double, committed):
    """``pay(order_id)``: the customer confirms the intent with a card at localstripe
    and the news reaches us (as the webhook or the reconcile would bring it)."""

    def confirm(order_id, card: str = "pm_card_visa") -> Order:
        payment = payment_get(reference=str(order_id))
        stripe_double.pay(payment.provider_intent_id, card=card)
        with committed():
            payment_services.payment_sync_from_provider(payment_id=payment.pk)
        return Order.objects.get(pk=order_id)

    return confirm


@pytest.fixture
def placed(customer_app, dish, stripe_double, committed):
    """``placed(quantity=2)``: an order placed over the API; its JSON."""

    def make(quantity: int = 2, **kwargs) -> dict:
        with committed():
            response = place(customer_app, order_body((dish, quantity), **kwargs))
        assert response.status_code == 201, response.json()
        return response.json()

    return make


@pytest.fixture
def paid_order(placed, pay):
    """An order the customer placed and paid (authorized): its row."""
    return pay(placed()["id"])


@contextmanager
def stripe_relay(stripe_double, settings, answer):
    """Stripe as seen through a relay on loopback that the gateway talks to:
    ``answer(method, path, forward)`` gives each call's ``(status, body)``,
    ``forward()`` being localstripe's own answer to it."""

    class Relay(BaseHTTPRequestHandler):
        def _relay(self):
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))

            def forward() -> tuple[int, bytes]:
                upstream = requests.request(
                    self.command,
                    stripe_double.base + self.path,
                    data=body,
                    headers={k: v for k, v in self.headers.items() if k.lower() != "host"},
                    timeout=10,
                )
                return upstream.status_code, upstream.content

            status, content = answer(self.command, self.path, forward)
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            self.wfile.write(content)

        do_GET = do_POST = do_DELETE = _relay

        def log_message(self, *args):
            pass

    relay = ThreadingHTTPServer(("127.0.0.1", 0), Relay)
    threading.Thread(target=relay.serve_forever, daemon=True).start()
    settings.STRIPE_API_BASE = f"http://127.0.0.1:{relay.server_port}"
    try:
        yield
    finally:
        settings.STRIPE_API_BASE = stripe_double.base
        relay.shutdown()
        relay.server_close()


@contextmanager
def stripe_refusing(stripe_double, settings, *, post_to: str, error: dict):
    """Stripe refusing every POST whose path ends with ``post_to`` with a 400 carrying
    ``error`` (localstripe itself does whatever it is asked to); every other call goes
    through to localstripe untouched."""

    def answer(method, path, forward):
        if method == "POST" and path.endswith(post_to):
            return 400, json.dumps({"error": {"type": "invalid_request_error", **error}}).encode()
        return forward()

    with stripe_relay(stripe_double, settings, answer):
        yield


@pytest.fixture
def stripe_refusing_captures(stripe_double, settings):
    """Stripe refusing every capture, as it does when the hold has expired."""
    error = {
        "code": "payment_intent_unexpected_state",
        "message": "This PaymentIntent could not be captured because it has expired.",
    }
    with stripe_refusing(stripe_double, settings, post_to="/capture", error=error):
        yield


@pytest.fixture
def stripe_refusing_refunds(stripe_double, settings):
    """Stripe refusing every refund, as it does for a charge disputed meanwhile."""
    error = {"code": "charge_disputed", "message": "This charge has been disputed and cannot be refunded."}
    with stripe_refusing(stripe_double, settings, post_to="/v1/refunds", error=error):
        yield


__all__ = ["FAR", "NEAR", "PARIS", "localstripe_webhooks", "order_body", "place", "stripe_double"]
