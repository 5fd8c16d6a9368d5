"""The order emails through the Procfile's processes (web, worker, beat), localstripe
and a real SMTP server on loopback: an order placed over HTTP and paid by the webhook
brings the customer's receipt and the chef's new order; the chef's accept brings the
accepted mail, late but once when the mail server was down; a customer's cancel says
the card authorization is released."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import requests

from tests.e2e.ordering import DROP_OFF, open_kitchen, pay_with_webhook, place_order, signed_in
from tests.payments.conftest import StripeDouble
from tests.processes import wait_for

NBSP = "\xa0"


@pytest.fixture(scope="module")
def kitchen(web, worker, beat, released):
    dish = {"name": "Mezze platter", "price_cents": 1450, "allergens": ["sesame"], "portions_per_day": 8}
    opened = open_kitchen(web.base_url, released, chef_name="Léa Roux", kitchen_name="Chez Léa", dish=dish)
    return {"base": web.base_url, **opened}


def text_of(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def place_and_pay(kitchen, customer, stripe: StripeDouble) -> dict:
    """Two Mezze platters (14,50 €, sesame) placed over HTTP and paid by card: the
    order's JSON once the webhook made it ``paid``."""
    base = kitchen["base"]
    body = {"items": [{"dish_id": kitchen["dish_id"], "quantity": 2}], "delivery": DROP_OFF}
    placed = place_order(base, customer, body)
    assert placed.status_code == 201, placed.text
    order = placed.json()
    pay_with_webhook(base, stripe, order["payment"]["payment_intent_id"])

    def paid() -> bool:
        answer = requests.get(f"{base}/api/v1/orders/{order['id']}", headers=customer, timeout=10).json()
        return answer["status"] == "paid"

    assert wait_for(paid, timeout=15)
    return order


def test_each_move_of_an_order_mails_the_right_person_once(kitchen, mailbox, localstripe_server, worker, beat):
    base, chef = kitchen["base"], kitchen["chef"]
    customer = signed_in(base, "customer", "Camille Martin")
    email = customer.pop("email")
    stripe = StripeDouble(localstripe_server)

    order = place_and_pay(kitchen, customer, stripe)
    number = order["id"][:8]

    received = mailbox.wait_for_message_to(email, timeout=30)
    assert received, worker.output()[-3000:]
    [receipt] = received
    assert receipt["Subject"] == f"Votre reçu FoodieFast : commande {number}"
    text = text_of(receipt)
    assert "2 × Mezze platter" in text  # noqa: RUF001
    assert f"29,00{NBSP}€" in text and "Graines de sésame" in text
    assert f"TVA 10{NBSP}% sur 29,00{NBSP}€" in text

    received = mailbox.wait_for_message_to(kitchen["email"], timeout=30)
    assert received, worker.output()[-3000:]
    [new_order] = received
    listed = requests.get(f"{base}/api/v1/chef/orders", params={"status": "paid"}, headers=chef, timeout=10).json()
    [shown] = [o for o in listed["results"] if o["id"] == order["id"]]
    deadline = dt.datetime.fromisoformat(shown["accept_by"]).astimezone(ZoneInfo("Europe/Paris"))
    assert new_order["Subject"] == f"Nouvelle commande {number} à accepter avant {deadline:%H:%M}"

    # The mail server goes down: the chef's accept answers all the same, and the
    # accepted mail arrives, once, after the server is back.
    failures = worker.output().count("not sent (attempt")
    mailbox.stop()
    try:
        accepted = requests.post(
            f"{base}/api/v1/chef/orders/{order['id']}/accept", json={"prep_minutes": 20}, headers=chef, timeout=30
        )
        assert accepted.status_code == 200, accepted.text
        tried = wait_for(lambda: worker.output().count("not sent (attempt") > failures, timeout=30)
        assert tried, worker.output()[-3000:]
    finally:
        mailbox.start()
    subject = f"Chez Léa prépare votre commande {number}"
    arrived = wait_for(lambda: [m for m in mailbox.messages_to(email) if m["Subject"] == subject], timeout=60)
    assert arrived, worker.output()[-3000:]
    assert "Livraison estimée dans" in text_of(arrived[0])

    # Another order, cancelled by the customer before the chef accepts it.
    second = place_and_pay(kitchen, customer, stripe)
    cancelled = requests.post(f"{base}/api/v1/orders/{second['id']}/cancel", headers=customer, timeout=30)
    assert cancelled.json()["status"] == "cancelled"
    second_number = second["id"][:8]
    subject = f"Votre commande {second_number} est annulée"
    [cancel_mail] = wait_for(lambda: [m for m in mailbox.messages_to(email) if m["Subject"] == subject], timeout=30)
    euros, cents = divmod(second["total_cents"], 100)
    assert f"l’autorisation de {euros},{cents:02d}{NBSP}€ est levée" in text_of(cancel_mail)  # noqa: RUF001

    # Each person got each mail once: receipt, accepted, receipt, cancelled; the chef two new orders.
    assert wait_for(lambda: len(mailbox.messages_to(kitchen["email"])) == 2, timeout=30)
    subjects = sorted(m["Subject"] for m in mailbox.messages_to(email))
    assert subjects == sorted(
        [
            f"Votre reçu FoodieFast : commande {number}",
            f"Chez Léa prépare votre commande {number}",
            f"Votre reçu FoodieFast : commande {second_number}",
            f"Votre commande {second_number} est annulée",
        ]
    )
