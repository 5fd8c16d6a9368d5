"""Payments test helpers: the customer's app and Stripe's webhooks, played against
localstripe over HTTP."""

from __future__ import annotations

import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests
import stripe
from django.conf import settings
from django.urls import reverse

from foodiefast.events import add_local_listener
from tests.payments.signing import event_payload, signed_delivery

WEBHOOK_URL = "/api/v1/payments/stripe/webhook"


@pytest.fixture
def announced():
    """Every payments event announced (after commit) during the test, in order."""
    seen: list = []
    remove = add_local_listener(
        lambda event: seen.append(event) if event.__module__ == "apps.payments.events" else None
    )
    yield seen
    remove()


def kinds(events) -> list[str]:
    return [type(e).__name__ for e in events]


class _AppHttpClient(stripe.RequestsClient):
    """The customer's app's own HTTP client, so that tests recording what our
    gateway sends (which patch ``RequestsClient.request``) do not see the app's calls."""

    def request(self, method, url, headers, post_data=None):
        return self._request_internal(method, url, headers, post_data, is_streaming=False)


class StripeDouble:
    """The other side of the API: what the customer's app and Stripe do."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.auth = (settings.STRIPE_SECRET_KEY, "")
        # The mobile SDK confirms with the client secret; localstripe only accepts a
        # secret key on confirm, so the test uses one.
        self.sdk = stripe.StripeClient(
            settings.STRIPE_SECRET_KEY,
            base_addresses={"api": base},
            max_network_retries=0,
            http_client=_AppHttpClient(timeout=10),
        )

    def pay(self, intent_id: str, card: str = "pm_card_visa") -> dict:
        """The customer confirms with a card: attach it with an update, then confirm
        (localstripe answers 500 to a confirm carrying the method itself)."""
        self.sdk.v1.payment_intents.update(intent_id, params={"payment_method": card})
        return self.sdk.v1.payment_intents.confirm(intent_id).to_dict()

    def intent(self, intent_id: str) -> dict:
        """The intent as Stripe returns it (what an event carries)."""
        response = requests.get(f"{self.base}/v1/payment_intents/{intent_id}", auth=self.auth, timeout=5)
        response.raise_for_status()
        return response.json()

    def count(self, resource: str) -> int:
        response = requests.get(f"{self.base}/v1/{resource}", params={"limit": 100}, auth=self.auth, timeout=5)
        response.raise_for_status()
        return len(response.json()["data"])


@pytest.fixture
def stripe_double(localstripe) -> StripeDouble:
    return StripeDouble(localstripe)


def deliver(api, payload: dict, *, secret: str | None = None, timestamp: int | None = None, header: Any = ...):
    """POST one webhook delivery through the test client (behind the HTTPS router)."""
    body, headers = signed_delivery(payload, secret or settings.STRIPE_WEBHOOK_SECRET, timestamp=timestamp)
    extra = (
        {} if header is None else {"HTTP_STRIPE_SIGNATURE": headers["Stripe-Signature"] if header is ... else header}
    )
    return api.generic("POST", reverse("v1:stripe-webhook"), body, content_type="application/json", **extra)


def intent_event(stripe_double: StripeDouble, event_type: str, intent_id: str, **overrides) -> dict:
    obj = {**stripe_double.intent(intent_id), **overrides}
    return event_payload(event_type, obj)


def new_reference() -> str:
    return f"order-{uuid.uuid4()}"


@pytest.fixture
def localstripe_webhooks(live_server, localstripe, settings):
    """localstripe's webhooks delivered to the live test server, as Stripe's would be.

    localstripe posts plain HTTP without ``X-Forwarded-Proto``, which the HTTPS
    redirect would bounce; a relay on loopback adds the header the router adds in
    production and forwards body and signature untouched. Yields the list of the
    status codes our server answered."""
    target = live_server.url + WEBHOOK_URL
    answered: list[int] = []

    class Relay(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            response = requests.post(
                target,
                data=body,
                headers={
                    "Content-Type": self.headers.get("Content-Type", "application/json"),
                    "Stripe-Signature": self.headers.get("Stripe-Signature", ""),
                    "X-Forwarded-Proto": "https",
                },
                timeout=30,
            )
            answered.append(response.status_code)
            self.send_response(response.status_code)
            self.send_header("Content-Length", str(len(response.content)))
            self.end_headers()
            self.wfile.write(response.content)

        def log_message(self, *args):
            pass

    relay = ThreadingHTTPServer(("127.0.0.1", 0), Relay)
    thread = threading.Thread(target=relay.serve_forever, daemon=True)
    thread.start()
    hook = f"{localstripe}/_config/webhooks/foodiefast"
    requests.post(
        hook,
        data={"url": f"http://127.0.0.1:{relay.server_port}/", "secret": settings.STRIPE_WEBHOOK_SECRET},
        timeout=5,
    ).raise_for_status()
    yield answered
    requests.post(hook, data={"url": "http://127.0.0.1:9/nowhere", "secret": "whsec_unused"}, timeout=5)
    relay.shutdown()
    relay.server_close()
