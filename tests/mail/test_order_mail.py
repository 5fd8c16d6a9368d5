"""The order emails as they arrive at a real SMTP server: plain text and HTML, in the
recipient's language, amounts and allergens written out."""

from __future__ import annotations

import datetime as dt

import pytest

from foodiefast.models import MailMessage
from foodiefast.order_mail import MoneyOutcome, send_order_mail
from foodiefast.tasks import notify_mail_task
from tests.factories.accounts import UserFactory
from tests.mail.conftest import an_order_mail

pytestmark = pytest.mark.django_db

NBSP = "\xa0"


def deliver(kind, *, recipient, captured, **overrides):
    """Ask for the mail as a handler does (in its transaction), then run the task that
    the commit enqueued; the one message the server received."""
    with captured(execute=False) as callbacks:
        message = send_order_mail(kind=kind, context=an_order_mail(**overrides), recipient=recipient)
    enqueued = [callback.args for callback in callbacks]
    assert enqueued == [(notify_mail_task, (message.pk,))]
    assert notify_mail_task.apply(args=[message.pk]).get() == "sent"
    return message


def parts(message):
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    return text, html


def test_the_receipt_arrives_in_french_with_text_and_html(smtp, django_capture_on_commit_callbacks, settings):
    ada = UserFactory(email="ada@example.com")  # French unless she says otherwise

    deliver("paid", recipient=ada, captured=django_capture_on_commit_callbacks)

    [message] = smtp.messages_to("ada@example.com")
    assert message["Subject"] == "Votre reçu FoodieFast : commande FF-7K3Q"
    assert message["From"] == settings.DEFAULT_FROM_EMAIL
    assert message.get_content_type() == "multipart/alternative"
    text, html = parts(message)
    for body in (text, html):
        assert f"16,50{NBSP}€" in body  # the line
        assert f"8,25{NBSP}€" in body  # its unit price
        assert "Céréales contenant du gluten, Lait, Fruits à coque" in body  # its allergens, by name
        assert f"28,62{NBSP}€" in body  # the total
        assert f"2,99{NBSP}€" in body and f"1,13{NBSP}€" in body and f"2,00{NBSP}€" in body  # fees, tip
        # VAT included, per rate: 22,50 € of food at 10 % (2,045 → 2,05), 4,12 € of fees at 20 %.
        assert f"TVA 10{NBSP}% sur 22,50{NBSP}€" in body and f"2,05{NBSP}€" in body
        assert f"TVA 20{NBSP}% sur 4,12{NBSP}€" in body and f"0,69{NBSP}€" in body
        assert f"2,74{NBSP}€" in body
        assert "€16" not in body
    assert "Salade verte" in text and "aucun déclaré" in text
    assert '<html lang="fr">' in html


def test_an_english_account_gets_its_receipt_in_english(smtp, django_capture_on_commit_callbacks):
    bob = UserFactory(email="bob@example.com", language="en")

    deliver("paid", recipient=bob, captured=django_capture_on_commit_callbacks)

    [message] = smtp.messages_to("bob@example.com")
    assert message["Subject"] == "Your FoodieFast receipt: order FF-7K3Q"
    text, html = parts(message)
    for body in (text, html):
        assert "€16.50" in body and "€28.62" in body
        assert "Cereals containing gluten, Milk, Tree nuts" in body
        assert "VAT 10% on €22.50" in body and "€2.05" in body
        assert "Peanuts" not in body  # "nuts" are tree nuts
        assert "16,50" not in body and "Lait" not in body


@pytest.mark.parametrize(
    ("kind", "language", "subject", "facts"),
    [
        ("accepted", "fr", "Chez Léa prépare votre commande FF-7K3Q", ["dans 35 minutes", f"28,62{NBSP}€"]),
        ("accepted", "en", "Chez Léa is cooking your order FF-7K3Q", ["in 35 minutes", "€28.62"]),
        ("picked_up", "fr", "Votre commande FF-7K3Q est en route", ["récupéré votre commande FF-7K3Q"]),
        ("picked_up", "en", "Your order FF-7K3Q is on its way", ["picked up your order FF-7K3Q"]),
        ("delivered", "fr", "Votre commande FF-7K3Q est livrée", ["Bon appétit"]),
        ("delivered", "en", "Your order FF-7K3Q has been delivered", ["Enjoy your meal"]),
        (
            "cancelled",
            "fr",
            "Votre commande FF-7K3Q est annulée",
            ["Motif : La cuisine a fermé plus tôt.", f"l’autorisation de 28,62{NBSP}€ est levée"],  # noqa: RUF001
        ),
        (
            "cancelled",
            "en",
            "Your order FF-7K3Q has been cancelled",
            ["Reason: La cuisine a fermé plus tôt.", "the hold of €28.62 has been released"],
        ),
        (
            "chef_new_order",
            "fr",
            "Nouvelle commande FF-7K3Q à accepter avant 20:40",  # 18:40 UTC is 20:40 in Paris in July
            ["avant 20:40 (heure de Paris)", "Fruits à coque", "Code 4B, 3e étage"],
        ),
        (
            "chef_new_order",
            "en",
            "New order FF-7K3Q: accept it by 20:40",
            ["by 20:40 (Paris time)", "Tree nuts", "Code 4B, 3e étage"],
        ),
    ],
)
def test_every_order_mail_in_both_languages(smtp, django_capture_on_commit_callbacks, kind, language, subject, facts):
    person = UserFactory(language=language)

    deliver(kind, recipient=person, captured=django_capture_on_commit_callbacks)

    [message] = smtp.messages_to(person.email)
    assert message["Subject"] == subject
    text, html = parts(message)
    for fact in facts:
        assert fact in text
        assert fact in html.replace("&nbsp;", " ")


def test_a_refunded_cancellation_says_the_money_comes_back(smtp, django_capture_on_commit_callbacks):
    person = UserFactory()

    deliver(
        "cancelled", recipient=person, captured=django_capture_on_commit_callbacks, money_outcome=MoneyOutcome.REFUNDED
    )

    text, _ = parts(smtp.messages_to(person.email)[0])
    assert f"Nous vous remboursons 28,62{NBSP}€" in text
    assert "levée" not in text


def test_the_chefs_deadline_is_on_paris_time_in_winter_too(smtp, django_capture_on_commit_callbacks):
    chef = UserFactory(chef=True)

    deliver(
        "chef_new_order",
        recipient=chef,
        captured=django_capture_on_commit_callbacks,
        accept_by=dt.datetime(2026, 12, 1, 18, 40, tzinfo=dt.UTC),
    )

    assert smtp.messages_to(chef.email)[0]["Subject"] == "Nouvelle commande FF-7K3Q à accepter avant 19:40"


def test_asking_twice_for_the_same_news_sends_one_mail(smtp, django_capture_on_commit_callbacks):
    ada = UserFactory()
    first = deliver("paid", recipient=ada, captured=django_capture_on_commit_callbacks)

    # A handler that runs again (its event redelivered) asks again: nothing new is owed.
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        again = send_order_mail(kind="paid", context=an_order_mail(), recipient=ada)

    assert again.pk == first.pk
    assert callbacks == []
    assert MailMessage.objects.filter(recipient=ada.email).count() == 1
    assert len(smtp.messages_to(ada.email)) == 1


def test_the_customer_and_the_chef_each_get_their_own_mail_about_one_order(smtp, django_capture_on_commit_callbacks):
    ada, chef = UserFactory(), UserFactory(chef=True, language="en")

    deliver("paid", recipient=ada, captured=django_capture_on_commit_callbacks)
    deliver("chef_new_order", recipient=chef, captured=django_capture_on_commit_callbacks)

    assert len(smtp.messages_to(ada.email)) == 1
    assert smtp.messages_to(chef.email)[0]["Subject"] == "New order FF-7K3Q: accept it by 20:40"
