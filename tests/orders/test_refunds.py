"""Staff refund a picked-up or delivered order from the admin (a support case after
the fact), in full or in part, with a reason: made at localstripe through payments,
once however often the form is sent, recorded with the order (not on its timeline),
the customer mailed; the provider's refusals and outages are messages, never a 500;
chefs and customers cannot."""

from __future__ import annotations

import re
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from apps.orders.errors import RefundInProgress
from apps.orders.models import Order, OrderRefund
from apps.orders.services import order_refund_by_staff
from apps.payments import services as payment_services
from apps.payments.models import Payment, Refund
from apps.tracking.events import DeliveryCompleted, DeliveryPickedUp
from foodiefast.errors import DomainError
from foodiefast.events import publish
from tests.factories.accounts import UserFactory
from tests.mail import conftest as mail_fixtures

pytestmark = pytest.mark.django_db

smtp = mail_fixtures.smtp  # the SMTP server the app mails to

NBSP = "\xa0"


@pytest.fixture
def staff(client):
    user = UserFactory(staff=True)
    client.force_login(user)
    return user


def _moved(chef_app, order, committed, *news) -> Order:
    """The chef accepts (captured at localstripe) and marks ready; then the courier's news."""
    for action in ("accept", "ready"):
        with committed():
            answer = chef_app.post(reverse(f"v1:chef-order-{action}", args=[order.pk]), format="json")
        assert answer.status_code == 200, answer.json()
    for event_cls in news:
        with committed():
            publish(event_cls(reference=str(order.pk), delivery_id="d", courier_id="c", at=timezone.now().isoformat()))
    return Order.objects.get(pk=order.pk)


@pytest.fixture
def delivered(chef_app, paid_order, committed):
    return _moved(chef_app, paid_order, committed, DeliveryPickedUp, DeliveryCompleted)


def refund_page(client, order):
    return client.get(reverse("admin:orders_order_refund", args=[order.pk]), secure=True)


def form_refund_id(page) -> str:
    """The refund id the page's form carries (what a second click sends again)."""
    match = re.search(r'name="refund_id" value="([0-9a-f-]{36})"', page.content.decode())
    assert match, page.content.decode()
    return match.group(1)


def send(client, order, committed, *, refund_id: str, amount: str = "", reason: str = "Cold food"):
    with committed():
        return client.post(
            reverse("admin:orders_order_refund", args=[order.pk]),
            {"amount": amount, "reason": reason, "refund_id": refund_id},
            secure=True,
            follow=True,
        )


def refund_mail(server, address: str, word: str):
    """The one refund mail ``address`` received (its subject has ``word``)."""
    [message] = [m for m in server.messages_to(address) if word in m["Subject"]]
    return message


def messages_of(response) -> list[str]:
    return [str(message) for message in response.wsgi_request._messages]


def provider_refunds(stripe_double, order) -> list[dict]:
    intent = Payment.objects.get(reference=str(order.pk)).provider_intent_id
    response = requests.get(
        f"{stripe_double.base}/v1/refunds", params={"payment_intent": intent}, auth=stripe_double.auth, timeout=5
    )
    response.raise_for_status()
    return [r for r in response.json()["data"] if r.get("payment_intent") == intent]


def test_staff_refund_part_of_a_delivered_order_once_however_often_the_form_is_sent(
    client, staff, delivered, stripe_double, committed, customer_app
):
    change = client.get(reverse("admin:orders_order_change", args=[delivered.pk]), secure=True).content.decode()
    page = refund_page(client, delivered)
    refund_id = form_refund_id(page)

    first = send(client, delivered, committed, refund_id=refund_id, amount="5.50", reason="Dessert was missing")
    again = send(client, delivered, committed, refund_id=refund_id, amount="5.50", reason="Dessert was missing")

    assert f'href="{reverse("admin:orders_order_refund", args=[delivered.pk])}"' in change
    assert "Cancel and refund" not in change
    assert page.status_code == 200
    assert first.status_code == again.status_code == 200
    assert any("5.50" in m and "refunded" in m for m in messages_of(first)), messages_of(first)
    # Made once at the provider, recorded once by payments, recorded once with the order.
    assert [r["amount"] for r in provider_refunds(stripe_double, delivered)] == [550]
    payment = Payment.objects.get(reference=str(delivered.pk))
    assert payment.refunded_cents == 550
    assert list(Refund.objects.filter(payment=payment).values_list("amount_cents", "status")) == [(550, "succeeded")]
    [refund] = OrderRefund.objects.filter(order=delivered)
    assert (refund.refunded_cents, refund.status, refund.reason, refund.requested_by) == (
        550,
        "succeeded",
        "Dessert was missing",
        staff,
    )
    # The order stays delivered and its timeline (the API's) lists statuses only.
    shown = customer_app.get(reverse("v1:order", args=[delivered.pk])).json()
    assert shown["status"] == "delivered"
    assert [e["status"] for e in shown["timeline"]] == [
        "pending_payment",
        "paid",
        "accepted",
        "ready_for_pickup",
        "picked_up",
        "delivered",
    ]
    # The order's page and the refund page show the refund.
    change = client.get(reverse("admin:orders_order_change", args=[delivered.pk]), secure=True).content.decode()
    assert "Dessert was missing" in change and "€5.50" in change
    page = refund_page(client, delivered).content.decode()
    assert "Dessert was missing" in page and "€5.50" in page
    assert form_refund_id(refund_page(client, delivered)) != refund_id  # a new form is a new refund


def test_an_empty_amount_refunds_everything_left_and_then_nothing_more(
    client, staff, chef_app, paid_order, stripe_double, committed
):
    picked_up = _moved(chef_app, paid_order, committed, DeliveryPickedUp)
    assert picked_up.status == "picked_up"

    part = send(client, picked_up, committed, refund_id=str(uuid.uuid4()), amount="3")
    rest = send(client, picked_up, committed, refund_id=str(uuid.uuid4()))
    more = send(client, picked_up, committed, refund_id=str(uuid.uuid4()), amount="1")

    assert all(r.status_code == 200 for r in (part, rest, more))
    payment = Payment.objects.get(reference=str(picked_up.pk))
    assert payment.refunded_cents == payment.captured_cents == picked_up.total_cents
    assert sorted(r["amount"] for r in provider_refunds(stripe_double, picked_up)) == sorted(
        [300, picked_up.total_cents - 300]
    )
    [message] = messages_of(more)
    assert "0.00 EUR is left to refund" in message
    assert list(OrderRefund.objects.filter(order=picked_up).values_list("status", flat=True)) == [
        "succeeded",
        "succeeded",
        "failed",
    ]


def test_the_customer_is_mailed_the_refund_in_their_language(
    smtp, client, staff, delivered, stripe_double, committed, customer
):
    send(client, delivered, committed, refund_id=str(uuid.uuid4()), amount="5.50", reason="Le dessert manquait")

    message = refund_mail(smtp, customer.email, "Remboursement")
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content().replace("&nbsp;", NBSP)
    assert message["Subject"].strip() == f"Remboursement de 5,50 € pour votre commande {delivered.number}"
    assert f"Nous vous remboursons 5,50{NBSP}€ sur votre commande {delivered.number}" in text
    assert "Motif : Le dessert manquait" in text
    assert "5,50" in html and "Le dessert manquait" in html


def test_an_english_account_is_told_of_a_full_refund_in_english(
    smtp, client, staff, delivered, stripe_double, committed, customer
):
    customer.language = "en"
    customer.save()

    send(client, delivered, committed, refund_id=str(uuid.uuid4()), reason="Wrong order delivered")

    message = refund_mail(smtp, customer.email, "refund")
    text = message.get_body(preferencelist=("plain",)).get_content()
    assert f"We are refunding your whole order {delivered.number}" in text
    assert "Reason: Wrong order delivered" in text


def test_the_provider_unreachable_is_a_message_and_the_same_form_later_refunds_once(
    client, staff, delivered, stripe_double, committed, settings
):
    refund_id = str(uuid.uuid4())
    reachable = settings.STRIPE_API_BASE
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"  # nothing listens there

    down = send(client, delivered, committed, refund_id=refund_id, amount="4")

    assert down.status_code == 200
    [message] = messages_of(down)
    assert "payment provider cannot be reached" in message
    assert OrderRefund.objects.get(pk=refund_id).status == "pending"
    assert Payment.objects.get(reference=str(delivered.pk)).refunded_cents == 0

    settings.STRIPE_API_BASE = reachable
    send(client, delivered, committed, refund_id=refund_id, amount="4")

    assert [r["amount"] for r in provider_refunds(stripe_double, delivered)] == [400]
    assert Payment.objects.get(reference=str(delivered.pk)).refunded_cents == 400
    assert OrderRefund.objects.get(pk=refund_id).status == "succeeded"


def test_a_refund_the_provider_refuses_is_a_message_and_recorded_as_refused(
    client, staff, delivered, stripe_double, committed, stripe_refusing_refunds
):
    refund_id = str(uuid.uuid4())

    refused = send(client, delivered, committed, refund_id=refund_id, amount="4")

    assert refused.status_code == 200
    [message] = messages_of(refused)
    assert "refused the refund" in message
    refund = OrderRefund.objects.get(pk=refund_id)
    assert (refund.status, refund.refunded_cents) == ("failed", 0)
    assert Payment.objects.get(reference=str(delivered.pk)).refunded_cents == 0
    page = client.get(reverse("admin:orders_order_change", args=[delivered.pk]), secure=True).content.decode()
    assert "refused the refund" in page  # the order's refunds show it


def test_a_refund_the_provider_answered_late_is_recorded_with_the_order_by_payments_news(
    client, staff, delivered, stripe_double, committed, monkeypatch
):
    # The provider made the refund but its answer was lost; payments' reconcile
    # finds it later and announces it.
    from apps.payments.gateways.base import GatewayUnavailable
    from apps.payments.gateways.stripe import StripeGateway

    real_refund = StripeGateway.refund

    def lost_answer(self, *args, **kwargs):
        real_refund(self, *args, **kwargs)
        raise GatewayUnavailable("read timeout")

    monkeypatch.setattr(StripeGateway, "refund", lost_answer)
    refund_id = str(uuid.uuid4())
    send(client, delivered, committed, refund_id=refund_id, amount="2")
    assert OrderRefund.objects.get(pk=refund_id).status == "pending"

    with committed():
        payment_services.payment_sync_refunds(payment_id=Payment.objects.get(reference=str(delivered.pk)).pk)

    refund = OrderRefund.objects.get(pk=refund_id)
    assert (refund.status, refund.refunded_cents) == ("succeeded", 200)
    assert OrderRefund.objects.filter(order=delivered).count() == 1


def test_a_refund_made_in_the_stripe_dashboard_joins_the_order_s_refunds(delivered, stripe_double, committed):
    intent = Payment.objects.get(reference=str(delivered.pk)).provider_intent_id
    requests.post(
        f"{stripe_double.base}/v1/refunds",
        data={"payment_intent": intent, "amount": 300},
        auth=stripe_double.auth,
        timeout=5,
    ).raise_for_status()

    for _ in range(2):  # the news heard twice
        with committed():
            payment_services.payment_sync_refunds(payment_id=Payment.objects.get(reference=str(delivered.pk)).pk)

    [refund] = OrderRefund.objects.filter(order=delivered)
    assert (refund.status, refund.refunded_cents, refund.requested_by) == ("succeeded", 300, None)
    assert refund.reason == "Refunded at the payment provider."


def test_an_order_not_yet_picked_up_is_cancelled_not_refunded(client, staff, paid_order, stripe_double, committed):
    page = refund_page(client, paid_order).content.decode()
    refused = send(client, paid_order, committed, refund_id=str(uuid.uuid4()), amount="2")

    assert "cancel an earlier order instead" in page
    [message] = messages_of(refused)
    assert "Only a picked-up or delivered order" in message
    assert not OrderRefund.objects.exists()
    assert Payment.objects.get(reference=str(paid_order.pk)).refunded_cents == 0


def test_a_chef_or_a_customer_cannot_refund(client, make_client, delivered, stripe_double, committed, customer):
    url = reverse("admin:orders_order_refund", args=[delivered.pk])
    body = {"amount": "5", "reason": "mine", "refund_id": str(uuid.uuid4())}

    client.force_login(delivered.kitchen.chef)
    as_chef = client.post(url, body, secure=True)
    client.force_login(customer)
    as_customer = client.post(url, body, secure=True)

    assert as_chef.status_code == 403
    assert as_customer.status_code == 302 and "/login/" in as_customer["Location"]
    assert not OrderRefund.objects.exists()
    assert Payment.objects.get(reference=str(delivered.pk)).refunded_cents == 0
    assert provider_refunds(stripe_double, delivered) == []


def _all_at_once(calls) -> list:
    """Run ``calls`` in threads released together; each one's result or exception."""
    barrier = threading.Barrier(len(calls), timeout=30)

    def run(call):
        try:
            barrier.wait()
            return call()
        except DomainError as exc:
            return exc
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return [future.result(timeout=60) for future in [pool.submit(run, call) for call in calls]]


@pytest.mark.django_db(transaction=True)
def test_one_form_sent_three_times_at_once_refunds_once(delivered, stripe_double):
    staff, refund_id = UserFactory(staff=True), uuid.uuid4()

    def click():
        return order_refund_by_staff(
            order_id=delivered.pk, refund_id=refund_id, staff=staff, reason="Cold", amount_cents=500
        )

    results = _all_at_once([click, click, click])

    assert all(isinstance(r, (OrderRefund, RefundInProgress)) for r in results), results
    assert any(isinstance(r, OrderRefund) for r in results)
    assert [r["amount"] for r in provider_refunds(stripe_double, delivered)] == [500]
    assert Payment.objects.get(reference=str(delivered.pk)).refunded_cents == 500
    assert OrderRefund.objects.get(pk=refund_id).status == "succeeded"


@pytest.mark.django_db(transaction=True)
def test_two_staff_refunding_everything_at_once_refund_the_order_once(delivered, stripe_double):
    staff = UserFactory(staff=True)

    def refund_all():
        return order_refund_by_staff(order_id=delivered.pk, refund_id=uuid.uuid4(), staff=staff, reason="Spilled")

    results = _all_at_once([refund_all, refund_all])

    assert sorted(type(r).__name__ for r in results) == ["OrderRefund", "RefundExceedsCaptured"], results
    assert [r["amount"] for r in provider_refunds(stripe_double, delivered)] == [delivered.total_cents]
    assert Payment.objects.get(reference=str(delivered.pk)).refunded_cents == delivered.total_cents
