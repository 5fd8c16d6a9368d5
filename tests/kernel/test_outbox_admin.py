"""Staff see what the outbox still owes, and why a handler fails; chefs see none of it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from foodiefast.models import OutboxMessage
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
