"""Redis stopped, frozen and back, against the Procfile's processes: the web process,
a worker and beat on a private redis-server and the test database. News made while
the broker was away is delivered once it is back, with no manual step, and a burst
of mail never holds up a payment."""

from __future__ import annotations

import time
import uuid

import pytest
import requests
from celery import current_app
from django.db import transaction
from kombu.exceptions import OperationalError
from rest_framework_simplejwt.tokens import RefreshToken

from apps.accounts.events import UserErased, UserRegistered
from apps.chefs.models import Kitchen
from foodiefast.events import publish, subscribers
from foodiefast.models import OutboxMessage
from foodiefast.tasks import deliver_event_task
from tests.e2e.conftest import on_test_database
from tests.e2e.outbox_probe import STARTS, ProbeHappened, record_start_task
from tests.factories.chefs import KitchenFactory
from tests.processes import Process, free_port, procfile_command, wait_for

HTTPS = {"X-Forwarded-Proto": "https"}
LOUVRE = {"lat": 48.861, "lng": 2.336}
WORKER_CONCURRENCY = 2

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(scope="module")
def live(django_db_setup, redis_server, tmp_path_factory):
    """web, worker (with the probe tasks) and beat from the Procfile, on the private
    Redis and the test database."""
    logs = tmp_path_factory.mktemp("processes")
    port = free_port()
    env = on_test_database(
        REDIS_URL=redis_server.url,
        PORT=str(port),
        WEB_CONCURRENCY="1",
        CELERY_CONCURRENCY=str(WORKER_CONCURRENCY),
        CELERY_BEAT_SCHEDULE_FILENAME=str(logs / "beat-schedule"),
    )
    web = Process(procfile_command("web").replace("0.0.0.0", "127.0.0.1"), env=env, log_path=logs / "web.log")  # noqa: S104
    worker = Process(
        f"{procfile_command('worker')} --include tests.e2e.outbox_probe", env=env, log_path=logs / "worker.log"
    )
    beat = Process(procfile_command("beat"), env=env, log_path=logs / "beat.log")
    processes = (web, worker, beat)
    try:
        web.base_url = f"http://127.0.0.1:{port}"
        web.wait_http(f"{web.base_url}/health/live")
        assert wait_for(lambda: "ready" in worker.output(), timeout=30), worker.output()
        yield {"web": web, "worker": worker, "beat": beat}
    finally:
        for process in processes:
            process.stop()


def listed_kitchens(base: str) -> list[str]:
    response = requests.get(f"{base}/api/v1/chefs", params=LOUVRE, headers=HTTPS, timeout=10)
    assert response.status_code == 200, response.text
    return [kitchen["id"] for kitchen in response.json()["results"]]


def sign_up_chef(base: str, email: str) -> requests.Response:
    return requests.post(
        f"{base}/api/v1/auth/register",
        json={"email": email, "password": "a-long-unusual-phrase", "full_name": "New Chef", "role": "chef"},
        headers=HTTPS,
        timeout=30,
    )


def test_an_erasure_and_a_sign_up_made_while_redis_is_down_take_effect_once_it_is_back(live, redis_server):
    base = live["web"].base_url
    kitchen = KitchenFactory()
    token = RefreshToken.for_user(kitchen.chef).access_token
    assert str(kitchen.pk) in listed_kitchens(base)

    redis_server.kill()
    erased = requests.delete(f"{base}/api/v1/me", headers={**HTTPS, "Authorization": f"Bearer {token}"}, timeout=10)
    registered = sign_up_chef(base, "late.chef@example.com")

    assert erased.status_code == 204, erased.text
    assert registered.status_code == 201, registered.text
    assert str(kitchen.pk) in listed_kitchens(base)  # served from PostgreSQL, the news not delivered
    assert not Kitchen.objects.filter(chef__email="late.chef@example.com").exists()
    # Kept for the relay: one message per handler of the erasure and of the sign-up.
    owed = len(subscribers(UserErased)) + len(subscribers(UserRegistered))
    assert OutboxMessage.objects.filter(relayed_at=None).count() == owed

    redis_server.start()
    back = time.monotonic()
    gone = wait_for(lambda: str(kitchen.pk) not in listed_kitchens(base), timeout=60)
    opened = wait_for(lambda: Kitchen.objects.filter(chef__email="late.chef@example.com").exists(), timeout=5)
    print(f"news delivered {time.monotonic() - back:.1f} s after Redis came back")

    assert gone, live["worker"].output()[-3000:] + live["beat"].output()[-2000:]
    assert opened
    assert not OutboxMessage.objects.filter(delivered_at=None).exists()


def test_with_redis_frozen_publishing_gives_up_within_seconds_and_the_news_waits(live, redis_server):
    redis_server.freeze()
    try:
        started = time.monotonic()
        with pytest.raises(OperationalError):
            record_start_task.delay("while frozen")
        plain_delay = time.monotonic() - started

        started = time.monotonic()
        with transaction.atomic():
            publish(ProbeHappened(key="frozen"))
        publish_and_relay = time.monotonic() - started
        [message] = OutboxMessage.objects.all()
        assert message.relayed_at is None

        started = time.monotonic()
        registered = sign_up_chef(live["web"].base_url, "cold.chef@example.com")
        register = time.monotonic() - started
    finally:
        redis_server.thaw()
    print(f"frozen Redis: .delay() {plain_delay:.2f} s, publish() {publish_and_relay:.2f} s, register {register:.2f} s")

    # About a second or two, with a margin.
    assert plain_delay < 3
    assert publish_and_relay < 3
    assert registered.status_code == 201, registered.text
    assert wait_for(lambda: not OutboxMessage.objects.filter(delivered_at=None).exists(), timeout=60)
    assert Kitchen.objects.filter(chef__email="cold.chef@example.com").count() == 1


def test_a_message_the_broker_took_twice_has_its_effect_once(live, redis_server):
    key = uuid.uuid4().hex
    with transaction.atomic():
        publish(ProbeHappened(key=key))  # relayed after commit
    [message] = OutboxMessage.objects.all()
    assert message.relayed_at is not None

    # As if a relay died after the broker accepted the task, before its mark committed:
    # the same message is sent again, and reaches the worker while the first one runs.
    deliver_event_task.delay(message.pk)

    broker = redis_server.client()
    assert wait_for(
        lambda: OutboxMessage.objects.filter(pk=message.pk, delivered_at__isnull=False).exists(), timeout=30
    )
    assert wait_for(lambda: broker.llen("orders") == 0 and broker.hlen("unacked") == 0, timeout=30)
    assert int(broker.get(f"probe:effect:{key}")) == 1


def test_a_burst_of_mail_does_not_hold_up_payments(live, redis_server):
    broker = redis_server.client()
    broker.delete(STARTS)
    mail, payments = 30, 10
    for _ in range(mail):
        record_start_task.apply_async(args=["mail"], queue="notifications")
    assert wait_for(lambda: broker.llen(STARTS) >= WORKER_CONCURRENCY, timeout=30)  # the worker is busy with mail

    for _ in range(payments):
        record_start_task.apply_async(args=["payment"], queue="payments")
    mail_started_before = broker.lrange(STARTS, 0, -1).count(b"mail")
    assert wait_for(lambda: broker.lrange(STARTS, 0, -1).count(b"payment") == payments, timeout=30)

    starts = broker.lrange(STARTS, 0, -1)
    last_payment = len(starts) - 1 - starts[::-1].index(b"payment")
    mail_before_last_payment = starts[:last_payment].count(b"mail")
    # Only what was already running (one per worker slot) may start before the payments.
    assert mail_before_last_payment <= mail_started_before + WORKER_CONCURRENCY
    assert mail - mail_before_last_payment >= 15
    assert wait_for(lambda: broker.llen(STARTS) == mail + payments, timeout=30)  # the burst drains


def test_each_kind_of_task_goes_to_its_queue():
    def queue_of(name: str) -> str:
        return current_app.amqp.router.route({}, name)["queue"].name

    assert queue_of("apps.payments.tasks.process_stripe_event_task") == "payments"
    assert queue_of("apps.payments.tasks.payments_reconcile_task") == "payments"
    assert queue_of("foodiefast.tasks.deliver_event_task") == "orders"
    assert queue_of("foodiefast.tasks.outbox_relay_task") == "orders"
    assert queue_of("apps.orders.tasks.notify_chef_of_order_task") == "notifications"
    assert queue_of("apps.payments.tasks.notify_receipt_task") == "notifications"
    assert queue_of("foodiefast.tasks.notify_mail_task") == "notifications"
    assert queue_of("foodiefast.tasks.notify_mail_relay_task") == "notifications"
    assert queue_of("apps.menus.tasks.dish_stock_reset_daily_task") == "celery"
    assert queue_of("foodiefast.tasks.outbox_purge_task") == "celery"
