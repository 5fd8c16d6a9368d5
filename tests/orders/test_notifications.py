"""The order emails as they arrive at a real SMTP server, each sent by the move it
tells about: the receipt and the chef's new order when paid, accepted with the ETA,
picked up, delivered, cancelled with what happens to the money. One mail per move
and recipient, a replayed event sends nothing more, an erased customer gets nothing."""

from __future__ import annotations

import math
from zoneinfo import ZoneInfo

import pytest
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from apps.accounts.services import user_erase
from apps.orders import services
from apps.orders.models import Order
from apps.orders.services.status import order_lock, order_move_locked
from apps.payments.models import Payment
from apps.tracking.events import DeliveryCompleted, DeliveryPickedUp
from foodiefast.events import publish
from foodiefast.geo import Point, haversine_km
from foodiefast.models import MailMessage, OutboxMessage
from foodiefast.outbox import outbox_deliver
from tests.mail.conftest import smtp
from tests.orders.conftest import NEAR, PARIS

pytestmark = pytest.mark.django_db

NBSP = "\xa0"
PARIS_TIME = ZoneInfo("Europe/Paris")


@pytest.fixture(autouse=True)
def _prices(settings, customer, kitchen):
    settings.PLATFORM_FEE_PERCENT = 5
    settings.COURIER_SPEED_KMH = 15
    customer.full_name = "Ada Lovelace"
    customer.save()
    kitchen.display_name = "Chez Léa"
    kitchen.save()


@pytest.fixture
def paid(placed, pay):
    """2 x Boeuf bourguignon at 12,50 € (celery, sulphites), a 1,50 € tip: paid."""
    return lambda: pay(placed(quantity=2, tip_cents=150)["id"])


def number(order) -> str:
    return str(order.pk)[:8]  # what the chef's board shows too


def parts(message) -> tuple[str, str]:
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content().replace("&nbsp;", NBSP)
    return text, html


def only_mail(server, address):
    """The one message ``address`` received (fails on none or several)."""
    [message] = server.messages_to(address)
    return message


def chef_moves(chef_app, order, committed, *actions: str) -> None:
    """The chef's ``accept`` / ``ready`` in the API, each request's transaction committed."""
    for action in actions:
        with committed():
            answer = chef_app.post(reverse(f"v1:chef-order-{action}", args=[order.pk]), format="json")
        assert answer.status_code == 200, answer.json()


def courier_news(event_cls, order, committed) -> None:
    with committed():
        publish(event_cls(reference=str(order.pk), delivery_id="d-1", courier_id="c-1", at=timezone.now().isoformat()))


def test_paid_sends_the_customer_a_french_receipt_and_the_chef_the_order_to_accept(smtp, paid, customer, kitchen):
    order = paid()

    receipt = only_mail(smtp, customer.email)
    assert receipt["Subject"] == f"Votre reçu FoodieFast : commande {number(order)}"
    text, html = parts(receipt)
    for body in (text, html):
        assert "Boeuf bourguignon" in body
        assert f"25,00{NBSP}€" in body and f"12,50{NBSP}€" in body  # the line, its unit price
        assert "Céleri, Anhydride sulfureux et sulfites" in body  # allergens by their full names
        assert f"2,99{NBSP}€" in body and f"1,25{NBSP}€" in body and f"1,50{NBSP}€" in body  # fees, tip
        assert f"30,74{NBSP}€" in body  # the total
        # VAT included: 25,00 € of food at 10 % (2,27 €), 4,24 € of fees at 20 % (0,71 €).
        assert f"TVA 10{NBSP}% sur 25,00{NBSP}€" in body and f"2,27{NBSP}€" in body
        assert f"TVA 20{NBSP}% sur 4,24{NBSP}€" in body and f"0,71{NBSP}€" in body
        assert f"2,98{NBSP}€" in body
        assert "€25" not in body and "Celery" not in body
    assert "Bonjour Ada," in text

    new_order = only_mail(smtp, kitchen.chef.email)
    deadline = order.accept_by.astimezone(PARIS_TIME).strftime("%H:%M")
    assert deadline != order.accept_by.astimezone(ZoneInfo("UTC")).strftime("%H:%M")
    assert new_order["Subject"] == f"Nouvelle commande {number(order)} à accepter avant {deadline}"
    text, html = parts(new_order)
    for body in (text, html):
        assert f"avant {deadline} (heure de Paris)" in body
        assert "Ada a commandé" in body and "Lovelace" not in body
        assert "Céleri, Anhydride sulfureux et sulfites" in body
        assert "Code 1234, 3rd floor" in body
        assert "rue de Rivoli" not in body and "+33" not in body  # the chef never sees address or phone
    assert MailMessage.objects.count() == 2


def test_an_english_account_gets_its_receipt_in_english(smtp, paid, customer, kitchen):
    customer.language = "en"
    customer.save()
    kitchen.chef.language = "en"
    kitchen.chef.save()

    order = paid()

    text, html = parts(only_mail(smtp, customer.email))
    for body in (text, html):
        assert "€25.00" in body and "€30.74" in body
        assert "Celery, Sulphur dioxide and sulphites" in body
        assert "VAT 10% on €25.00" in body and "VAT 20% on €4.24" in body
        assert "25,00" not in body and "Céleri" not in body
    deadline = order.accept_by.astimezone(PARIS_TIME).strftime("%H:%M")
    assert only_mail(smtp, kitchen.chef.email)["Subject"] == f"New order {number(order)}: accept it by {deadline}"


def test_a_replayed_payment_event_sends_no_second_mail(smtp, paid, customer, kitchen, committed):
    order = paid()
    payment = Payment.objects.get(reference=str(order.pk))
    [row] = OutboxMessage.objects.filter(handler__endswith="paid_on_payment_authorized")

    # The outbox hands the same news over again (at least once), and the provider's
    # news comes a second time as a new event.
    OutboxMessage.objects.filter(pk=row.pk).update(delivered_at=None)
    with committed():
        assert outbox_deliver(message_id=row.pk) == "delivered"
        services.order_payment_authorized(reference=str(order.pk))
        payment.refresh_from_db()

    assert len(smtp.messages_to(customer.email)) == 1
    assert len(smtp.messages_to(kitchen.chef.email)) == 1
    assert MailMessage.objects.count() == 2


def test_accepted_tells_the_customer_when_the_food_arrives(smtp, paid, customer, chef_app, committed):
    order = paid()

    with committed():
        accepted = chef_app.post(reverse("v1:chef-order-accept", args=[order.pk]), {"prep_minutes": 25}, format="json")

    assert accepted.status_code == 200, accepted.json()
    order.refresh_from_db()
    ride = math.ceil(haversine_km(Point(*PARIS), Point(*NEAR)) / 15 * 60)
    eta = 25 + ride
    arrival = (order.accepted_at + timezone.timedelta(minutes=eta)).astimezone(PARIS_TIME).strftime("%H:%M")
    [_, message] = smtp.messages_to(customer.email)
    assert message["Subject"] == f"Chez Léa prépare votre commande {number(order)}"
    text, html = parts(message)
    for body in (text, html):
        assert f"Livraison estimée dans {eta} minutes, vers {arrival}." in body
        assert f"Le paiement de 30,74{NBSP}€ a été débité." in body


def test_picked_up_and_delivered_each_send_one_mail(smtp, paid, customer, chef_app, committed):
    order = paid()
    chef_moves(chef_app, order, committed, "accept", "ready")
    assert len(smtp.messages_to(customer.email)) == 2  # receipt, accepted; ready mails no one

    courier_news(DeliveryPickedUp, order, committed)
    courier_news(DeliveryPickedUp, order, committed)  # heard twice
    courier_news(DeliveryCompleted, order, committed)
    courier_news(DeliveryCompleted, order, committed)

    subjects = [message["Subject"] for message in smtp.messages_to(customer.email)][2:]
    assert subjects == [f"Votre commande {number(order)} est en route", f"Votre commande {number(order)} est livrée"]
    assert "Bon appétit" in parts(smtp.messages_to(customer.email)[-1])[0]


def test_a_delivery_heard_of_without_its_pickup_sends_only_delivered(smtp, paid, customer, chef_app, committed):
    order = paid()
    chef_moves(chef_app, order, committed, "accept", "ready")

    courier_news(DeliveryCompleted, order, committed)

    assert [message["Subject"] for message in smtp.messages_to(customer.email)][2:] == [
        f"Votre commande {number(order)} est livrée"
    ]


def test_a_customer_cancel_says_the_authorization_is_released(smtp, paid, customer, customer_app, committed):
    order = paid()

    with committed():
        cancelled = customer_app.post(reverse("v1:order-cancel", args=[order.pk]), format="json")
    customer_app.post(reverse("v1:order-cancel", args=[order.pk]), format="json")  # again: nothing changes

    assert cancelled.status_code == 200
    [_, message] = smtp.messages_to(customer.email)
    assert message["Subject"] == f"Votre commande {number(order)} est annulée"
    text, html = parts(message)
    for body in (text, html):
        assert "Motif : vous l’avez annulée." in body  # noqa: RUF001
        assert f"l’autorisation de 30,74{NBSP}€ est levée" in body  # noqa: RUF001


def test_a_capture_the_provider_refuses_tells_the_customer_why_and_that_the_hold_is_released(
    smtp, paid, customer, chef_app, committed, stripe_refusing_captures
):
    order = paid()

    with committed():
        refused = chef_app.post(reverse("v1:chef-order-accept", args=[order.pk]), format="json")

    assert (refused.status_code, refused.json()["code"]) == (409, "payment_capture_failed")  # the chef is told
    [_, message] = smtp.messages_to(customer.email)
    assert message["Subject"] == f"Votre commande {number(order)} est annulée"
    text, _ = parts(message)
    assert "Motif : le paiement n’a pas pu être encaissé." in text  # noqa: RUF001
    assert f"l’autorisation de 30,74{NBSP}€ est levée" in text  # noqa: RUF001


def test_a_rejected_order_gives_the_chefs_reason_in_english_for_an_english_account(
    smtp, paid, customer, chef_app, committed
):
    customer.language = "en"
    customer.save()
    order = paid()

    with committed():
        chef_app.post(reverse("v1:chef-order-reject", args=[order.pk]), {"reason": "Out of beef."}, format="json")

    text, _ = parts(smtp.messages_to(customer.email)[-1])
    assert "Reason: Out of beef." in text
    assert "the hold of €30.74 has been released" in text


def test_an_unpaid_order_that_expires_says_nothing_was_charged(smtp, placed, customer, committed):
    order = Order.objects.get(pk=placed()["id"])

    with committed():
        assert services.orders_expire_unpaid(now=order.payment_due_at) == 1

    [message] = smtp.messages_to(customer.email)  # no receipt was ever sent
    text, _ = parts(message)
    assert "Motif : le paiement n’a pas été fait à temps." in text  # noqa: RUF001
    assert "Aucun paiement n’a été effectué." in text  # noqa: RUF001


def test_staff_cancelling_an_accepted_order_say_it_is_refunded(smtp, paid, customer, chef_app, committed):
    order = paid()
    chef_moves(chef_app, order, committed, "accept")

    with committed():
        services.order_cancel_by_staff(order_id=order.pk, reason="Le plat est arrivé renversé.")

    text, _ = parts(smtp.messages_to(customer.email)[-1])
    assert "Motif : Le plat est arrivé renversé." in text
    assert f"Nous vous remboursons 30,74{NBSP}€" in text


def test_an_erased_customer_gets_no_more_mail(smtp, paid, customer, chef_app, committed):
    order = paid()
    chef_moves(chef_app, order, committed, "accept", "ready")
    address = customer.email
    with committed():
        user_erase(user=customer)
    assert Order.objects.get(pk=order.pk).anonymised_at is not None

    courier_news(DeliveryPickedUp, order, committed)
    courier_news(DeliveryCompleted, order, committed)

    assert Order.objects.get(pk=order.pk).status == "delivered"
    assert [m["Subject"] for m in smtp.messages_to(address)][2:] == []
    assert not MailMessage.objects.filter(kind__in=["orders.picked_up", "orders.delivered"]).exists()


def test_a_move_that_is_rolled_back_owes_no_mail(smtp, paid, customer, committed):
    order = paid()

    with committed(), pytest.raises(RuntimeError), transaction.atomic():
        locked = order_lock(order_id=order.pk)
        order_move_locked(locked, "accepted", actor="chef", prep_minutes=20)
        raise RuntimeError("the capture's answer was lost")

    assert Order.objects.get(pk=order.pk).status == "paid"
    assert not MailMessage.objects.filter(kind="orders.accepted").exists()
    assert len(smtp.messages_to(customer.email)) == 1  # the receipt only


def test_an_order_paid_after_its_customer_erased_the_account_mails_only_the_chef(
    smtp, placed, pay, customer, kitchen, committed
):
    order_id = placed()["id"]
    address = customer.email
    with committed():
        user_erase(user=customer)

    pay(order_id)

    assert smtp.messages_to(address) == []
    text, _ = parts(only_mail(smtp, kitchen.chef.email))
    assert "Un client a commandé et payé." in text


__all__ = ["smtp"]
