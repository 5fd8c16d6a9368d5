"""The order's timers and the moves that follow news, through the Procfile's live
web, worker and beat (on a private Redis and the test database) and localstripe, with
the timers set to fractions of a minute: an unpaid order expires and a paid one the
chef did not accept is cancelled by beat's sweep, never before its time and within
10 s after (API.md's "Timing"), its intent cancelled at localstripe and its portions
back; a webhook's and a courier's news move the order within 2 s; a declined card
leaves the order payable with the same intent; an erased customer's orders are anonymised by the worker."""

from __future__ import annotations

import datetime as dt
import time
from types import SimpleNamespace

import pytest
import requests
import stripe
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from apps.orders.models import Order
from apps.payments.models import Payment
from apps.tracking.events import DeliveryCompleted, DeliveryPickedUp
from foodiefast.events import publish
from tests.e2e.ordering import DROP_OFF, HTTPS, open_kitchen, pay_with_webhook, place_order, signed_in
from tests.payments.conftest import StripeDouble
from tests.payments.signing import event_payload, signed_delivery
from tests.processes import Process, env_with, procfile_command, start_web, wait_for

# The timers of this deployment (PAYMENT_EXPIRY_MINUTES=0.25, as fractions of a minute).
EXPIRY = dt.timedelta(seconds=15)
ACCEPTANCE = dt.timedelta(seconds=12)
# API.md's "Timing": timers act within 10 s after their time; news moves within 2 s.
TIMER_GRACE = dt.timedelta(seconds=10)
NEWS_DEADLINE_SECONDS = 2.0
PORTIONS = 6

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(scope="module")
def live(django_db_setup, redis_server, localstripe_server, mailbox, tmp_path_factory):
    """web, worker and beat from the Procfile with short timers, on the private Redis
    (this process publishes there too) and the test database."""
    db = connection.settings_dict
    logs = tmp_path_factory.mktemp("timers")
    env = env_with(
        DATABASE_URL=f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        REDIS_URL=redis_server.url,
        STRIPE_API_BASE=localstripe_server,
        EMAIL_URL=f"smtp://127.0.0.1:{mailbox.port}",
        MAIL_RETRY_SECONDS="1",
        DJANGO_LOG_LEVEL="INFO",
        WEB_CONCURRENCY="1",
        CELERY_BEAT_SCHEDULE_FILENAME=str(logs / "beat-schedule"),
        PAYMENT_EXPIRY_MINUTES=str(EXPIRY.total_seconds() / 60),
        CHEF_ACCEPTANCE_TIMEOUT_MINUTES=str(ACCEPTANCE.total_seconds() / 60),
    )
    web = start_web(env, log_path=logs / "web.log")
    worker = Process(procfile_command("worker"), env=env, log_path=logs / "worker.log")
    beat = Process(procfile_command("beat"), env=env, log_path=logs / "beat.log")
    try:
        assert wait_for(lambda: "ready" in worker.output(), timeout=30), worker.output()
        yield SimpleNamespace(
            base=web.base_url, env=env, worker=worker, beat=beat, stripe=StripeDouble(localstripe_server)
        )
    finally:
        for process in (beat, worker, web):
            process.stop()


@pytest.fixture
def shop(live):
    """An approved kitchen open all week with one dish of :data:`PORTIONS` portions."""
    dish = {"name": "Tajine d'agneau", "price_cents": 1500, "allergens": ["celery"], "portions_per_day": PORTIONS}
    return open_kitchen(live.base, live.env, chef_name="Samir Alaoui", kitchen_name="Chez Samir", dish=dish)


@pytest.fixture
def customer(live):
    headers = signed_in(live.base, "customer", "Inès Moreau")
    headers.pop("email")
    return headers


def order_of(live, customer, order_id: str) -> dict:
    answer = requests.get(f"{live.base}/api/v1/orders/{order_id}", headers=customer, timeout=10)
    assert answer.status_code == 200, answer.text
    return answer.json()


def placed(live, customer, shop, quantity: int = 2) -> dict:
    body = {"items": [{"dish_id": shop["dish_id"], "quantity": quantity}], "delivery": DROP_OFF}
    answer = place_order(live.base, customer, body)
    assert answer.status_code == 201, answer.text
    return answer.json()


def portions_left(live, dish_id: str) -> int:
    return requests.get(f"{live.base}/api/v1/dishes/{dish_id}", headers=HTTPS, timeout=10).json()["portions_left"]


def moment(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value)


def when(order: dict, status: str) -> dt.datetime:
    [entry] = [entry for entry in order["timeline"] if entry["status"] == status]
    return moment(entry["at"])


def sleep_until(deadline: dt.datetime) -> None:
    time.sleep(max(0.0, (deadline - timezone.now()).total_seconds()))


def seconds_until(live, customer, order_id: str, status: str, *, timeout: float = 15) -> float:
    """How long, from now, until the API shows the order in ``status`` (polled every 50 ms)."""
    start = time.monotonic()
    assert wait_for(lambda: order_of(live, customer, order_id)["status"] == status, timeout=timeout, interval=0.05), (
        live.worker.output()[-3000:]
    )
    return time.monotonic() - start


def test_beat_expires_an_unpaid_order_and_cancels_an_unaccepted_one_on_time(live, shop, customer):
    unpaid = placed(live, customer, shop)
    unaccepted = placed(live, customer, shop)
    assert portions_left(live, shop["dish_id"]) == PORTIONS - 4
    pay_with_webhook(live.base, live.stripe, unaccepted["payment"]["payment_intent_id"])
    seconds_until(live, customer, unaccepted["id"], "paid")
    payment_due = moment(unpaid["payment_due_at"])
    accept_by = moment(order_of(live, customer, unaccepted["id"])["accept_by"])
    # The fractional minutes are the deadlines: 15 s to pay, 12 s to accept.
    assert abs(payment_due - moment(unpaid["created_at"]) - EXPIRY) < dt.timedelta(seconds=1)
    assert accept_by - when(order_of(live, customer, unaccepted["id"]), "paid") == ACCEPTANCE

    # Never before its time: a moment before each deadline the order still waits.
    for deadline, order, waiting in sorted(
        [(payment_due, unpaid, "pending_payment"), (accept_by, unaccepted, "paid")], key=lambda each: each[0]
    ):
        sleep_until(deadline - dt.timedelta(seconds=1))
        assert order_of(live, customer, order["id"])["status"] == waiting
    # Within 10 s after it, swept by the live beat.
    sleep_until(max(payment_due, accept_by) + TIMER_GRACE + dt.timedelta(seconds=1))
    expired = order_of(live, customer, unpaid["id"])
    declined = order_of(live, customer, unaccepted["id"])

    assert expired["status"] == "cancelled", live.beat.output()[-3000:]
    assert payment_due <= when(expired, "cancelled") <= payment_due + TIMER_GRACE
    assert expired["cancellation_reason"] == "The payment was not made in time."
    assert declined["status"] == "cancelled"
    assert accept_by <= when(declined, "cancelled") <= accept_by + TIMER_GRACE
    assert declined["cancellation_reason"] == "The kitchen did not accept the order in time."
    # The intent of the unpaid order is cancelled, the paid one's authorization voided,
    # at localstripe (a task after the sweep), and every portion is back.
    for order in (unpaid, unaccepted):
        intent_id = order["payment"]["payment_intent_id"]
        assert wait_for(lambda i=intent_id: live.stripe.intent(i)["status"] == "canceled", timeout=10), (
            live.worker.output()[-3000:]
        )
    assert portions_left(live, shop["dish_id"]) == PORTIONS


def _news(event_cls, order_id: str) -> None:
    """tracking's announcement, as its courier endpoints will make it: an outbox row
    committed in the test database, relayed to the live worker's broker."""
    with transaction.atomic():
        publish(event_cls(reference=order_id, delivery_id="d-1", courier_id="c-1", at=timezone.now().isoformat()))


def test_news_from_the_webhook_and_the_courier_moves_the_order_within_2_seconds(live, shop, customer):
    order = placed(live, customer, shop, quantity=1)

    pay_with_webhook(live.base, live.stripe, order["payment"]["payment_intent_id"])
    answered = timezone.now()
    paid_after = seconds_until(live, customer, order["id"], "paid")
    paid = order_of(live, customer, order["id"])
    for action in ("accept", "ready"):
        moved = requests.post(
            f"{live.base}/api/v1/chef/orders/{order['id']}/{action}", headers=shop["chef"], timeout=30
        )
        assert moved.status_code == 200, moved.text
    _news(DeliveryPickedUp, order["id"])
    picked_up_after = seconds_until(live, customer, order["id"], "picked_up")
    _news(DeliveryCompleted, order["id"])
    delivered_after = seconds_until(live, customer, order["id"], "delivered")

    print(
        f"paid {paid_after:.2f} s, picked up {picked_up_after:.2f} s, delivered {delivered_after:.2f} s after the news"
    )
    # The paid move is stamped by the worker that made it: within 2 s of the webhook.
    assert (when(paid, "paid") - answered).total_seconds() <= NEWS_DEADLINE_SECONDS
    assert paid_after <= NEWS_DEADLINE_SECONDS
    assert picked_up_after <= NEWS_DEADLINE_SECONDS
    assert delivered_after <= NEWS_DEADLINE_SECONDS


def test_a_declined_card_leaves_the_order_payable_and_another_card_pays_it(live, shop, customer):
    order = placed(live, customer, shop, quantity=1)
    intent_id = order["payment"]["payment_intent_id"]

    with pytest.raises(stripe.CardError):
        live.stripe.pay(intent_id, card="pm_card_chargeCustomerFail")
    event = event_payload("payment_intent.payment_failed", live.stripe.intent(intent_id))
    payload, headers = signed_delivery(event, settings.STRIPE_WEBHOOK_SECRET)
    hooked = requests.post(f"{live.base}/api/v1/payments/stripe/webhook", data=payload, headers=headers, timeout=10)
    assert hooked.status_code == 200, hooked.text
    assert wait_for(lambda: Payment.objects.get(reference=order["id"]).status == "failed", timeout=10)
    still = order_of(live, customer, order["id"])

    assert still["status"] == "pending_payment"
    assert still["payment"]["client_secret"] == order["payment"]["client_secret"]
    # Stripe's own "payable again" (localstripe refuses a second confirm of a declined
    # intent, so another card is not tried here).
    assert live.stripe.intent(intent_id)["status"] == "requires_payment_method"


def test_an_erased_customer_s_orders_are_kept_anonymised_by_the_worker(live, shop, customer):
    order = placed(live, customer, shop, quantity=1)
    pay_with_webhook(live.base, live.stripe, order["payment"]["payment_intent_id"])
    seconds_until(live, customer, order["id"], "paid")

    erased = requests.delete(f"{live.base}/api/v1/me", headers=customer, timeout=10)
    assert erased.status_code == 204, erased.text

    assert wait_for(lambda: Order.objects.get(pk=order["id"]).anonymised_at is not None, timeout=10), (
        live.worker.output()[-3000:]
    )
    kept = Order.objects.get(pk=order["id"])
    assert (kept.customer_name, kept.delivery_address, kept.delivery_instructions, kept.delivery_phone) == (
        "",
        "(erased)",
        "",
        "",
    )
    assert (kept.status, kept.total_cents) == ("paid", order["total_cents"])
    listed = requests.get(f"{live.base}/api/v1/chef/orders", headers=shop["chef"], timeout=10).json()["results"]
    [shown] = [each for each in listed if each["id"] == order["id"]]
    assert shown["customer"] == {"first_name": ""}
