"""The stream as the schema documents it, and as a server without the stream route
answers it (the Django view): the first events, then the end with a retry hint."""

from __future__ import annotations

import pytest
import yaml

from apps.tracking.channel import channel_publish
from tests.factories.accounts import UserFactory
from tests.factories.orders import OrderFactory

pytestmark = pytest.mark.django_db


def _url(order) -> str:
    return f"/api/v1/orders/{order.pk}/tracking/stream"


def test_the_schema_documents_the_event_stream(api):
    document = yaml.safe_load(api.get("/api/schema/").content)

    operation = document["paths"]["/api/v1/orders/{order_id}/tracking/stream"]["get"]
    assert "text/event-stream" in operation["responses"]["200"]["content"]
    assert {"204", "401", "403", "404", "503"} <= set(operation["responses"])
    assert any(p["name"] == "Last-Event-ID" and p["in"] == "header" for p in operation["parameters"])


def test_without_the_stream_route_the_view_answers_the_first_events(make_client):
    order = OrderFactory(accepted=True)
    channel_publish(reference=str(order.pk), kind="location", data={"lat": 48.86, "lng": 2.34})

    answer = make_client(order.customer).get(_url(order))

    assert answer.status_code == 200
    assert answer["Content-Type"].startswith("text/event-stream")
    body = answer.content.decode()
    assert body.index("event: status") < body.index("event: location") < body.index("retry: ")
    assert '"status":"accepted"' in body


def test_an_ended_order_answers_204(make_client):
    order = OrderFactory(status="cancelled")

    assert make_client(order.customer).get(_url(order)).status_code == 204


def test_other_people_get_404_and_other_roles_403(make_client):
    order = OrderFactory()

    stranger = make_client(UserFactory()).get(_url(order))
    chef = make_client(UserFactory(chef=True)).get(_url(order))
    nobody = make_client().get(_url(order))

    assert (stranger.status_code, stranger.json()["code"]) == (404, "not_found")
    assert (chef.status_code, chef.json()["code"]) == (403, "permission_denied")
    assert (nobody.status_code, nobody.json()["code"]) == (401, "not_authenticated")


def test_the_retry_hints_of_streams_ended_together_are_spread(make_client, settings):
    settings.TRACKING_STREAM_RETRY_MILLISECONDS = 1000
    settings.TRACKING_STREAM_RETRY_JITTER_MILLISECONDS = 2000
    order = OrderFactory(accepted=True)
    client = make_client(order.customer)

    hints = [int(client.get(_url(order)).content.decode().rsplit("retry: ", 1)[1]) for _ in range(12)]

    assert all(1000 <= hint <= 3000 for hint in hints)
    assert len(set(hints)) > 1  # clients told to come back at different moments
