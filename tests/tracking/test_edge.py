"""The web entry takes a courier's usual ping from Redis without Django (the same
answer, headers included, the position published on the order's channel with the
ETA Django would give, the trail's points written), and hands Django every ping it
cannot take as Django would answer it: the first of a courier, a token Django has not
vouched for, a bad body (replayed to Django as sent)."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import timedelta

import pytest
import time_machine
from django.core.signals import request_started
from django.core.wsgi import get_wsgi_application
from django.utils import timezone
from rest_framework_simplejwt.tokens import RefreshToken

from apps.tracking import positions, selectors, services
from apps.tracking.api import edge
from apps.tracking.channel import channel_events_since
from apps.tracking.models import TrailPoint
from foodiefast.asgi import entry
from tests.factories.accounts import UserFactory
from tests.tracking.conftest import DOOR, NEAR_KITCHEN, open_delivery

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def app(settings):
    settings.ASGI_STREAM_ROUTES = []
    edge._answers.clear()
    return entry(get_wsgi_application(), threads=2)


@pytest.fixture
def django_requests():
    """How many requests reached Django."""
    seen = []

    def count(**kwargs):
        seen.append(1)

    request_started.connect(count)
    yield seen
    request_started.disconnect(count)


@pytest.fixture
def on_delivery(settings):
    settings.TRAIL_MIN_SECONDS = 3600  # one trail point per delivery here: the first
    settings.TRAIL_MIN_METRES = 100_000
    courier = UserFactory(courier=True)
    services.courier_set_availability(courier=courier, online=True, lat=NEAR_KITCHEN.lat, lng=NEAR_KITCHEN.lng)
    delivery = open_delivery()
    services.delivery_claim(courier=courier, delivery_id=delivery.pk)
    return courier, delivery


def post(app, body, *, token: str) -> tuple[int, dict, dict]:
    """POST /courier/location through the entry: (status, headers, JSON)."""
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": edge.PATH,
        "raw_path": edge.PATH.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"testserver"),
            (b"x-forwarded-proto", b"https"),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(raw)).encode()),
            (b"authorization", f"Bearer {token}".encode()),
        ],
        "server": ("testserver", 80),
        "client": ("127.0.0.1", 5000),
    }
    sent: list[dict] = []
    chunks = [raw[: len(raw) // 2], raw[len(raw) // 2 :]]  # the body in two parts

    async def receive():
        chunk = chunks.pop(0) if chunks else b""
        return {"type": "http.request", "body": chunk, "more_body": bool(chunks)}

    async def send(message):
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    headers = {k.decode().lower(): v.decode() for k, v in sent[0]["headers"] if k.lower() != b"x-request-id"}
    return sent[0]["status"], headers, json.loads(b"".join(m.get("body", b"") for m in sent[1:]))


def test_a_couriers_usual_ping_is_taken_without_django_with_djangos_answer(app, on_delivery, django_requests):
    courier, delivery = on_delivery
    token = str(RefreshToken.for_user(courier).access_token)

    # Django takes the first: it writes the trail's first point and vouches for the token
    first = post(app, {"lat": NEAR_KITCHEN.lat, "lng": NEAR_KITCHEN.lng}, token=token)
    second = post(app, {"lat": DOOR.lat, "lng": DOOR.lng}, token=token)

    assert first[0] == second[0] == 202
    assert first[2] == second[2] == {"points": 1}
    assert first[1] == second[1]  # the same headers (security headers included)
    assert len(django_requests) == 1
    fix = positions.positions_read(courier_ids=[str(courier.pk)])[str(courier.pk)]
    assert (fix.lat, fix.lng) == (DOOR.lat, DOOR.lng)
    assert TrailPoint.objects.filter(delivery=delivery).count() == 1


def test_the_entry_publishes_the_eta_and_writes_the_trail_as_django_does(app, on_delivery, django_requests, settings):
    courier, delivery = on_delivery
    settings.TRAIL_MIN_METRES = 100  # the next point, 1.3 km on, is kept
    token = str(RefreshToken.for_user(courier).access_token)
    assert post(app, {"lat": NEAR_KITCHEN.lat, "lng": NEAR_KITCHEN.lng}, token=token)[0] == 202  # Django vouches

    taken = post(app, {"lat": DOOR.lat, "lng": DOOR.lng}, token=token)

    assert taken[0] == 202
    assert len(django_requests) == 1  # the entry took the second
    [*_, newest] = channel_events_since(reference=delivery.reference)
    assert (newest.kind, newest.data["lat"], newest.data["lng"]) == ("location", DOOR.lat, DOOR.lng)
    duty = selectors.courier_duty(courier_id=courier.pk)
    at = timezone.datetime.fromisoformat(newest.data["updated_at"])
    expected = selectors.eta_for_duty(duty, courier=positions.Fix(DOOR.lat, DOOR.lng, at.timestamp()), now=at)
    assert expected.minutes - 1 <= newest.data["eta_minutes"] <= expected.minutes  # computed a moment later
    deadline = time.monotonic() + 10  # the writer thread inserts it a moment after the answer
    while TrailPoint.objects.filter(delivery=delivery).count() < 2 and time.monotonic() < deadline:
        services.trail_writer.flush()
        time.sleep(0.05)
    kept = list(TrailPoint.objects.filter(delivery=delivery).order_by("recorded_at"))
    assert [(p.lat, p.lng) for p in kept] == [(NEAR_KITCHEN.lat, NEAR_KITCHEN.lng), (DOOR.lat, DOOR.lng)]


def test_what_the_entry_cannot_take_goes_to_django_as_sent(app, on_delivery, django_requests):
    courier, _ = on_delivery
    token = str(RefreshToken.for_user(courier).access_token)
    assert post(app, {"lat": 48.86, "lng": 2.34}, token=token)[0] == 202  # Django vouches for the token

    bad = post(app, {"lat": 91, "lng": 2.34}, token=token)
    broken = post(app, b"{not json", token=token)
    courier.set_password("another-long-phrase")  # every token of the courier is revoked
    courier.save()
    other = UserFactory(courier=True)
    services.courier_set_availability(courier=other, online=True, lat=48.86, lng=2.34)
    unvouched = post(app, {"lat": 48.86, "lng": 2.34}, token=str(RefreshToken.for_user(other).access_token))

    assert (bad[0], bad[2]["code"], bad[2]["fields"]) == (400, "invalid", {"lat": ["A number from -90 to 90."]})
    assert (broken[0], broken[2]["code"]) == (400, "invalid")
    assert unvouched[0] == 202
    assert len(django_requests) == 4
    # once Django saw the revocation, the entry refuses the old token too (Django answers 401)
    positions.store().client.delete(f"trk:auth:{courier.pk}")
    assert post(app, {"lat": 48.86, "lng": 2.34}, token=token)[0] == 401
    assert len(django_requests) == 5


def test_a_token_the_entry_took_is_refused_once_it_expires(app, on_delivery, django_requests):
    courier, _ = on_delivery
    token = str(RefreshToken.for_user(courier).access_token)
    assert post(app, {"lat": 48.86, "lng": 2.34}, token=token)[0] == 202  # Django vouches for the token
    assert post(app, {"lat": 48.861, "lng": 2.34}, token=token)[0] == 202  # the entry takes it
    assert len(django_requests) == 1

    with time_machine.travel(timezone.now() + timedelta(minutes=11)):  # past the token's exp
        late = post(app, {"lat": 48.862, "lng": 2.34}, token=token)

    assert late[0] == 401  # the entry did not take it: Django refused the expired token
    assert len(django_requests) == 2
