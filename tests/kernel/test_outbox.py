"""The event outbox: news is written with the change, reaches each handler at least
once and its effect once, and waits out a broker that could not take it."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import timedelta

import pytest
import time_machine
from celery import current_app
from django.db import connection, transaction
from django.utils import timezone

from apps.accounts.models import User
from apps.chefs.models import Kitchen
from foodiefast.events import Event, publish, subscribe
from foodiefast.models import OutboxMessage
from foodiefast.outbox import outbox_deliver, outbox_purge, outbox_relay
from tests.factories.chefs import KitchenFactory

pytestmark = pytest.mark.django_db(transaction=True)

WAIT = 10


@dataclass(frozen=True)
class ParcelShipped(Event):
    parcel_id: str


shipped: list[str] = []
labelled: list[str] = []


def count_shipment(event: ParcelShipped) -> None:
    shipped.append(event.parcel_id)


def print_label(event: ParcelShipped) -> None:
    labelled.append(event.parcel_id)


subscribe(ParcelShipped, count_shipment)
subscribe(ParcelShipped, print_label)


@dataclass(frozen=True)
class ParcelHeld(Event):
    parcel_id: str


class Gate:
    """Holds a handler mid-run until the test lets it go."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()
        self.runs = 0

    def __call__(self) -> None:
        self.runs += 1
        self.entered.set()
        assert self.release.wait(WAIT)


gate = Gate()


def hold_parcel(event: ParcelHeld) -> None:
    gate()


@dataclass(frozen=True)
class CustomerSignedUp(Event):
    email: str


signup_failures: list[str] = []


def welcome_customer(event: CustomerSignedUp) -> None:
    """Writes, then fails while ``signup_failures`` says so."""
    User.objects.create_user(email=event.email, password=None)
    if signup_failures:
        raise RuntimeError(signup_failures.pop())


subscribe(ParcelHeld, hold_parcel)
subscribe(CustomerSignedUp, welcome_customer)


@pytest.fixture(autouse=True)
def _clear():
    shipped.clear()
    labelled.clear()
    signup_failures.clear()
    global gate  # noqa: PLW0603 - one gate per test
    gate = Gate()
    yield
    gate.release.set()


def message_for(handler) -> OutboxMessage:
    return OutboxMessage.objects.get(handler=f"{handler.__module__}.{handler.__qualname__}")


def left_behind(event: Event, handler, **fields) -> OutboxMessage:
    """A message as ``publish`` writes it, that no relay has sent yet."""
    return OutboxMessage.objects.create(
        event_type=event.type_name(),
        handler=f"{handler.__module__}.{handler.__qualname__}",
        payload=event.to_payload(),
        **fields,
    )


def in_thread(fn, results: list) -> threading.Thread:
    def run():
        try:
            results.append(fn())
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_each_handler_gets_a_message_written_with_the_change_and_sent_after_commit():
    with transaction.atomic():
        publish(ParcelShipped(parcel_id="p-1"))
        assert OutboxMessage.objects.count() == 2  # in the publisher's transaction
        assert shipped == labelled == []

    assert shipped == labelled == ["p-1"]
    for handler in (count_shipment, print_label):
        message = message_for(handler)
        assert message.relayed_at is not None
        assert message.delivered_at is not None


def test_a_rolled_back_change_leaves_no_message():
    with pytest.raises(RuntimeError), transaction.atomic():
        publish(ParcelShipped(parcel_id="p-2"))
        raise RuntimeError("the write failed")

    assert not OutboxMessage.objects.exists()


def test_news_the_broker_could_not_take_waits_in_the_outbox_for_the_periodic_relay(broker_down):
    publish(ParcelShipped(parcel_id="p-3"))  # no exception reaches the publisher

    assert shipped == []
    assert OutboxMessage.objects.filter(relayed_at=None, delivered_at=None).count() == 2

    # the broker is back
    current_app.conf.task_always_eager = True
    assert outbox_relay() == 2
    assert shipped == labelled == ["p-3"]
    assert not OutboxMessage.objects.filter(delivered_at=None).exists()


def test_registration_and_erasure_answer_while_the_broker_is_down_and_take_effect_later(broker_down, api, make_client):
    kitchen = KitchenFactory()

    registered = api.post(
        "/api/v1/auth/register",
        {"email": "new.chef@example.com", "password": "a-long-secret-42", "full_name": "New Chef", "role": "chef"},
    )
    erased = make_client(kitchen.chef).delete("/api/v1/me")

    assert registered.status_code == 201
    assert erased.status_code == 204
    assert not Kitchen.objects.filter(chef__email="new.chef@example.com").exists()
    assert api.get("/api/v1/chefs?lat=48.861&lng=2.336").json()["count"] == 1  # not withdrawn yet

    # the broker is back: the periodic relay sends both events
    current_app.conf.task_always_eager = True
    outbox_relay()
    assert Kitchen.objects.filter(chef__email="new.chef@example.com", is_approved=False).count() == 1
    assert api.get("/api/v1/chefs?lat=48.861&lng=2.336").json()["count"] == 0


def test_two_relays_never_send_the_same_message():
    left_behind(ParcelHeld(parcel_id="p-4"), hold_parcel)
    first: list[int] = []
    thread = in_thread(outbox_relay, first)
    assert gate.entered.wait(WAIT)  # the first relay holds the message, its handler running

    second = outbox_relay()
    gate.release.set()
    thread.join(WAIT)

    assert (first, second) == ([1], 0)
    assert gate.runs == 1


def test_the_periodic_relay_never_sends_what_its_publisher_is_sending():
    def place_hold() -> None:
        with transaction.atomic():
            publish(ParcelHeld(parcel_id="p-5"))
            assert OutboxMessage.objects.get().relayed_at is not None  # written marked

    sent: list[None] = []
    thread = in_thread(place_hold, sent)
    assert gate.entered.wait(WAIT)  # sent after commit by its publisher, its handler running

    periodic = outbox_relay()
    gate.release.set()
    thread.join(WAIT)

    assert periodic == 0
    assert gate.runs == 1
    assert OutboxMessage.objects.get().delivered_at is not None


def test_a_message_delivered_twice_at_once_runs_its_handler_once():
    # The broker accepted the task twice (a relay died before marking the row).
    message = left_behind(ParcelHeld(parcel_id="p-5"), hold_parcel)
    results: list[str] = []
    first = in_thread(lambda: outbox_deliver(message_id=message.pk), results)
    assert gate.entered.wait(WAIT)
    second = in_thread(lambda: outbox_deliver(message_id=message.pk), results)
    second.join(0.5)
    assert second.is_alive()  # waits for the first delivery to end

    gate.release.set()
    first.join(WAIT)
    second.join(WAIT)

    assert results == ["delivered", "duplicate"]
    assert gate.runs == 1
    assert outbox_deliver(message_id=message.pk) == "duplicate"
    assert gate.runs == 1


def test_a_failing_handler_is_rolled_back_and_tried_again_after_a_pause():
    signup_failures.append("mail server said no")
    message = left_behind(CustomerSignedUp(email="eve@example.com"), welcome_customer)

    assert outbox_relay() == 1

    message.refresh_from_db()
    assert not User.objects.filter(email="eve@example.com").exists()  # its write was rolled back
    assert (message.attempts, message.delivered_at, message.relayed_at) == (1, None, None)
    assert "mail server said no" in message.last_error
    assert outbox_relay() == 0  # not before the pause is over

    with time_machine.travel(timezone.now() + timedelta(seconds=11)):
        assert outbox_relay() == 1

    message.refresh_from_db()
    assert message.delivered_at is not None
    assert User.objects.filter(email="eve@example.com").count() == 1


def test_a_message_relayed_long_ago_and_never_delivered_is_sent_again(settings):
    now = timezone.now()
    lost = left_behind(
        ParcelShipped(parcel_id="p-lost"),
        count_shipment,
        relayed_at=now - timedelta(seconds=settings.OUTBOX_REDELIVER_AFTER_SECONDS + 1),
    )
    in_flight = left_behind(ParcelShipped(parcel_id="p-queued"), print_label, relayed_at=now - timedelta(seconds=30))

    assert outbox_relay() == 1

    assert shipped == ["p-lost"]
    assert labelled == []
    lost.refresh_from_db()
    in_flight.refresh_from_db()
    assert lost.delivered_at is not None
    assert in_flight.delivered_at is None


def test_delivered_messages_are_purged_after_the_retention_period(settings):
    now = timezone.now()
    retention = timedelta(days=settings.OUTBOX_RETENTION_DAYS)
    event = ParcelShipped(parcel_id="p-old")
    old = left_behind(
        event, count_shipment, relayed_at=now - retention * 2, delivered_at=now - retention - timedelta(1)
    )
    recent = left_behind(event, print_label, relayed_at=now, delivered_at=now - timedelta(hours=1))
    owed = left_behind(event, count_shipment, created_at=now - retention * 3, relayed_at=now - retention * 3)

    assert outbox_purge() == 1

    assert set(OutboxMessage.objects.values_list("pk", flat=True)) == {recent.pk, owed.pk}
    assert not OutboxMessage.objects.filter(pk=old.pk).exists()
