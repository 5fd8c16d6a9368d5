"""Staff see what the outbox and the mail queue still owe, and why a handler or a send
fails; chefs see none of it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from foodiefast.mail import mail_relay
from foodiefast.models import MailMessage, OutboxMessage
from tests.factories.accounts import DEFAULT_PASSWORD, UserFactory
from tests.factories.chefs import KitchenFactory

pytestmark = pytest.mark.django_db


def logged_in(user) -> Client:
    client = Client(HTTP_X_FORWARDED_PROTO="https")
    response = client.post(reverse("admin:login"), {"username": user.email, "password": DEFAULT_PASSWORD})
    assert response.status_code == 302, "login refused"
    return client


def message(**fields) -> OutboxMessage:
    return OutboxMessage.objects.create(
        event_type="apps.accounts.events.UserErased", handler="apps.chefs.handlers.h", payload={}, **fields
    )


def test_staff_find_failing_messages_and_send_them_again_at_once():
    failing = message(attempts=3, last_error="OperationalError: boom", available_at=timezone.now() + timedelta(hours=1))
    delivered = message(delivered_at=timezone.now())
    staff = logged_in(UserFactory(staff=True))

    listed = staff.get(reverse("admin:foodiefast_outboxmessage_changelist") + "?state=failing").content.decode()
    response = staff.post(
        reverse("admin:foodiefast_outboxmessage_changelist"),
        {"action": "send_again_now", "_selected_action": [failing.pk, delivered.pk]},
    )

    assert f'<a href="{reverse("admin:foodiefast_outboxmessage_change", args=[failing.pk])}' in listed
    assert f'<a href="{reverse("admin:foodiefast_outboxmessage_change", args=[delivered.pk])}' not in listed
    assert response.status_code == 302
    failing.refresh_from_db()
    delivered.refresh_from_db()
    assert failing.available_at <= timezone.now()
    assert failing.relayed_at is None
    assert failing.attempts == 3  # the history stays
    assert delivered.delivered_at is not None  # a delivered handler never runs again


def test_chefs_cannot_see_the_outbox():
    chef = logged_in(KitchenFactory().chef)
    assert chef.get(reverse("admin:foodiefast_outboxmessage_changelist")).status_code == 403


def mail(object_id: str, **fields) -> MailMessage:
    return MailMessage.objects.create(
        kind="orders.paid",
        object_id=object_id,
        recipient="ada@example.com",
        language="fr",
        template="orders/mail/paid",
        context={},
        **fields,
    )


def test_staff_find_mail_the_server_refused_and_send_it_again_but_never_sent_mail():
    later = timezone.now() + timedelta(hours=1)
    failing = mail("failing", attempts=4, last_error="ConnectionRefusedError", next_attempt_at=later)
    refused = mail("refused", attempts=1, last_error="SMTPRecipientsRefused 550", failed_at=timezone.now())
    sent = mail("sent", sent_at=timezone.now())
    staff = logged_in(UserFactory(staff=True))
    changelist = reverse("admin:foodiefast_mailmessage_changelist")

    listed = staff.get(changelist + "?state=failing").content.decode()
    response = staff.post(
        changelist, {"action": "send_again_now", "_selected_action": [failing.pk, refused.pk, sent.pk]}
    )

    assert f'<a href="{reverse("admin:foodiefast_mailmessage_change", args=[failing.pk])}' in listed
    assert f'<a href="{reverse("admin:foodiefast_mailmessage_change", args=[sent.pk])}' not in listed
    assert response.status_code == 302
    for message in (failing, refused):
        message.refresh_from_db()
    assert failing.next_attempt_at <= timezone.now() and failing.attempts == 4
    assert refused.failed_at is None and refused.next_attempt_at <= timezone.now()
    assert MailMessage.objects.filter(pk=sent.pk, next_attempt_at=sent.next_attempt_at).exists()  # sent once only
    assert mail_relay() == 2


def test_chefs_cannot_see_the_mail_queue():
    chef = logged_in(KitchenFactory().chef)
    assert chef.get(reverse("admin:foodiefast_mailmessage_changelist")).status_code == 403
