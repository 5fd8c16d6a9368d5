"""GET /metrics: who may read it, and what it counts. Requests go through the web
entry (foodiefast/asgi.py) in this process; tests/e2e/test_metrics_processes.py
shows the figures summed over the Procfile's web workers."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from celery import current_app
from django.core.wsgi import get_wsgi_application
from django.utils import timezone

from apps.orders.models import OrderStatus
from apps.payments.models import StripeEvent
from foodiefast import metrics
from foodiefast.asgi import entry
from foodiefast.tasks import notify_mail_task, outbox_relay_task
from tests.asgi_call import asgi_get
from tests.factories.orders import OrderFactory
from tests.processes import RedisServer, publish_to
from tests.prometheus import AUTH, TOKEN, metrics_app, sample, scrape

HTTPS = ((b"x-forwarded-proto", b"https"),)


@pytest.fixture
def app(settings, db):
    return metrics_app(settings)


def test_without_a_token_metrics_are_not_found_outside_debug(settings, db):
    settings.METRICS_TOKEN = ""
    app = entry(get_wsgi_application(), threads=2)

    assert asgi_get(app, "/metrics").status == 404
    assert asgi_get(app, "/metrics", headers=AUTH).status == 404

    settings.DEBUG = True
    assert b"foodiefast_http_requests_total" in asgi_get(app, "/metrics").body


def test_with_a_token_only_its_bearer_reads_the_figures(app):
    for headers in ((), ((b"authorization", b"Bearer wrong"),), ((b"authorization", TOKEN.encode()),)):
        answer = asgi_get(app, "/metrics", headers=headers)
        assert answer.status == 401
        assert answer.body.startswith(b'{"code": "not_authenticated"')
        assert answer.headers[b"www-authenticate"].startswith(b"Bearer")

    text = scrape(app)

    for family in (
        "foodiefast_http_requests_total counter",
        "foodiefast_http_request_duration_seconds histogram",
        "foodiefast_open_streams gauge",
        "foodiefast_celery_queue_depth gauge",
        "foodiefast_orders gauge",
        "foodiefast_payment_failures_total counter",
        "foodiefast_webhook_processing_lag_seconds gauge",
        "foodiefast_webhook_oldest_unprocessed_seconds gauge",
        "foodiefast_release_info gauge",
    ):
        assert f"# TYPE {family}\n" in text, family
    assert "_created" not in text  # one series per figure
    assert sample(text, "foodiefast_release_info", release="test") == 1


def test_requests_are_counted_by_route_pattern_method_and_status_whoever_answers(app):
    before = scrape(app)
    order_id = "7f1c1c1e-0c4e-4c5e-9a55-1f8a0c1d2e3f"

    for _ in range(3):
        assert asgi_get(app, "/health/live").status == 200  # answered by the entry itself
    assert asgi_get(app, "/api/v1/features", headers=HTTPS).status == 200  # by Django
    assert asgi_get(app, f"/api/v1/orders/{order_id}", headers=HTTPS).status == 401
    assert asgi_get(app, "/no/such/page", headers=HTTPS).status == 404
    after = scrape(app)

    def moved(name: str, **labels: str) -> float:
        return sample(after, name, release="test", **labels) - sample(before, name, release="test", **labels)

    total = "foodiefast_http_requests_total"
    assert moved(total, route="/health/live", method="GET", status="200") == 3
    assert moved(total, route="/api/v1/features", method="GET", status="200") == 1
    assert moved(total, route="/api/v1/orders/<uuid:order_id>", method="GET", status="401") == 1
    assert moved(total, route="unmatched", method="GET", status="404") == 1
    assert moved(total, route="/metrics", method="GET", status="200") == 1  # the first scrape
    assert order_id not in after  # never the raw path
    timed = "foodiefast_http_request_duration_seconds_count"
    assert moved(timed, route="/health/live", method="GET") == 3
    assert moved("foodiefast_http_request_duration_seconds_bucket", route="/health/live", method="GET", le="+Inf") == 3


mid_stream: list[str] = []


async def counted_stream(scope, receive, send, *, order_id):
    mid_stream.append(metrics.exposition().decode())
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/event-stream")]})
    await send({"type": "http.response.body", "body": b"data: {}\n\n"})


def test_a_stream_counts_as_open_while_it_runs_and_is_not_timed(settings, app):
    settings.ASGI_STREAM_ROUTES = [(r"^/orders/(?P<order_id>\d+)/stream$", "tests.kernel.test_metrics.counted_stream")]
    app = entry(get_wsgi_application(), threads=2)
    mid_stream.clear()
    before = scrape(app)

    assert asgi_get(app, "/orders/42/stream").status == 200
    after = scrape(app)

    route = {"route": r"^/orders/(?P<order_id>\d+)/stream$", "method": "GET", "release": "test"}
    assert sample(mid_stream[0], "foodiefast_open_streams", release="test") == 1
    assert sample(after, "foodiefast_open_streams", release="test") == 0
    counted = sample(after, "foodiefast_http_requests_total", status="200", **route)
    assert counted - sample(before, "foodiefast_http_requests_total", status="200", **route) == 1
    assert sample(after, "foodiefast_http_request_duration_seconds_count", **route) == 0


@pytest.fixture
def broker(tmp_path, settings):
    """A private Redis as the broker, no worker: what is sent waits in its queues."""
    server = RedisServer(tmp_path)
    previous = publish_to(server.url)
    settings.CELERY_BROKER_URL = server.url
    current_app.conf.task_always_eager = False
    yield server
    publish_to(previous)
    server.close()


def test_queue_depth_is_read_from_the_broker_for_every_routed_queue(app, broker):
    for _ in range(3):
        outbox_relay_task.delay()
    notify_mail_task.delay(1)
    notify_mail_task.apply_async((2,), priority=6)  # a priority list of its own in Redis

    text = scrape(app)

    depth = "foodiefast_celery_queue_depth"
    assert sample(text, depth, queue="orders") == 3
    assert sample(text, depth, queue="notifications") == 2
    assert sample(text, depth, queue="payments") == sample(text, depth, queue="celery") == 0
    assert f'{depth}{{queue="payments"}} 0.0' in text  # an empty queue is a figure too
    assert sample(text, "foodiefast_metrics_collector_up", collector="celery_queues") == 1


def test_a_frozen_broker_costs_the_scrape_its_reading_not_the_answer(app, broker):
    outbox_relay_task.delay()
    broker.freeze()
    try:
        started = time.monotonic()
        text = scrape(app)
        assert time.monotonic() - started < 2  # one bounded read, not a hang
    finally:
        broker.thaw()

    assert sample(text, "foodiefast_metrics_collector_up", collector="celery_queues") == 0
    assert sample(text, "foodiefast_metrics_collector_up", collector="order_families") == 1
    assert "# TYPE foodiefast_orders gauge" in text


def test_orders_by_status_in_one_query_however_many(app, django_assert_num_queries):
    OrderFactory.create_batch(2)
    OrderFactory(paid=True)
    OrderFactory(status=OrderStatus.DELIVERED)

    # One grouped count of orders, one read of the latest webhook events (read in
    # the test's transaction: a scrape from the entry runs on a thread of its own).
    with django_assert_num_queries(2):
        text = metrics.exposition().decode()

    assert sample(text, "foodiefast_orders", status="pending_payment") == 2
    assert sample(text, "foodiefast_orders", status="paid") == 1
    assert sample(text, "foodiefast_orders", status="accepted") == 0
    assert 'status="delivered"' not in text  # finished orders only grow: not a figure of now


def test_webhook_lag_is_from_stripe_creating_the_event_to_its_processing(app):
    now = timezone.now()

    def event(n: int, *, created_ago: int, processed_ago: int | None):
        created = int((now - dt.timedelta(seconds=created_ago)).timestamp())
        processed = None if processed_ago is None else now - dt.timedelta(seconds=processed_ago)
        StripeEvent.objects.create(
            stripe_id=f"evt_{n}", type="payment_intent.succeeded", payload={"created": created}, processed_at=processed
        )

    event(1, created_ago=300, processed_ago=290)  # 10 s
    event(2, created_ago=100, processed_ago=60)  # 40 s: the longest
    event(3, created_ago=20, processed_ago=None)  # waiting for 20 s
    text = metrics.exposition().decode()  # in the test's transaction

    assert sample(text, "foodiefast_webhook_processing_lag_seconds") == pytest.approx(40, abs=2)
    assert sample(text, "foodiefast_webhook_oldest_unprocessed_seconds") == pytest.approx(20, abs=2)
