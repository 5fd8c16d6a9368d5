"""A delivery ready for pickup that nobody claims within UNCLAIMED_ALERT_MINUTES
alerts staff once (an email each, through the mail queue) and is listed under
"needs attention" in the admin, where staff review why each assignment happened."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from apps.tracking import services
from apps.tracking.models import Delivery
from apps.tracking.tasks import deliveries_alert_unclaimed_task
from foodiefast.models import MailMessage
from tests.factories.accounts import UserFactory
from tests.tracking.conftest import commits, go_online, open_delivery, step

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(db):
    return [UserFactory(staff=True, language="en"), UserFactory(staff=True, language="fr")]


def _ready_since(minutes: float) -> Delivery:
    delivery = open_delivery()
    services.delivery_mark_ready(reference=delivery.reference, at=timezone.now() - dt.timedelta(minutes=minutes))
    return delivery


def test_a_delivery_ready_and_unclaimed_too_long_alerts_every_staff_member_once(staff, settings):
    settings.UNCLAIMED_ALERT_MINUTES = 5
    late = _ready_since(6)
    _ready_since(4)  # not yet
    open_delivery()  # not ready: the chef is still cooking

    with commits():
        assert deliveries_alert_unclaimed_task.delay().get() == 1
    with commits():
        assert deliveries_alert_unclaimed_task.delay().get() == 0  # once

    assert Delivery.objects.get(pk=late.pk).unclaimed_alert_at is not None
    assert MailMessage.objects.filter(kind="tracking.unclaimed", object_id=str(late.pk)).count() == 2
    assert sorted(m.to[0] for m in mail.outbox) == sorted(person.email for person in staff)
    by_recipient = {m.to[0]: m for m in mail.outbox}
    assert late.reference[:8] in by_recipient[staff[0].email].subject
    assert "no courier has claimed it" in by_recipient[staff[0].email].body
    assert "aucun livreur" in by_recipient[staff[1].email].body
    assert f"/admin/tracking/delivery/{late.pk}/change/" in by_recipient[staff[0].email].body


def test_a_claimed_delivery_alerts_nobody(staff, courier_app, settings):
    settings.UNCLAIMED_ALERT_MINUTES = 5
    delivery = _ready_since(10)
    go_online(courier_app)
    step(courier_app, delivery, "claim")

    assert services.deliveries_alert_unclaimed() == 0
    assert not MailMessage.objects.exists()


def test_staff_find_unclaimed_deliveries_and_the_dispatch_audit_in_the_admin(client, staff, courier, courier_app):
    late = _ready_since(30)
    claimed = open_delivery()
    go_online(courier_app)
    step(courier_app, claimed, "claim")
    client.force_login(staff[0])

    listed = client.get(reverse("admin:tracking_delivery_changelist"), {"attention": "unclaimed"}, secure=True)
    page = client.get(reverse("admin:tracking_delivery_change", args=[claimed.pk]), secure=True)
    audit = client.get(reverse("admin:tracking_assignment_changelist"), secure=True)

    assert listed.status_code == 200
    html = listed.content.decode()
    assert late.reference in html and claimed.reference not in html
    assert "Unclaimed / needs attention" in html
    assert page.status_code == 200
    assert courier.email in page.content.decode()
    assert "claimed from the available list" in page.content.decode()
    assert audit.status_code == 200
    assert courier.email in audit.content.decode()


def test_a_chef_does_not_see_the_deliveries_admin(client, chef_user):
    client.force_login(chef_user)
    assert client.get(reverse("admin:tracking_delivery_changelist"), secure=True).status_code == 403
