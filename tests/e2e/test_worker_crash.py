"""A worker killed mid-task: the task runs again and its effect happens once.

The Procfile's worker (late acknowledgement, ``reject_on_worker_lost``) against the
test database, a private redis-server as the broker, the session's localstripe and
an SMTP server of its own. Each task is caught mid-flight without touching the code
under test: localstripe is frozen (SIGSTOP) so the refund's request waits in its
socket, and the SMTP server stops itself right after taking a message, before it
answers QUIT, so the mail task waits for its goodbye with the message delivered.

- The whole worker killed (SIGKILL to its process group, as a lost machine): what it
  held unacknowledged is redelivered once the broker's visibility timeout has run out
  (``CELERY_VISIBILITY_TIMEOUT``, a few seconds here, 300 in production: see
  docs/operations.md), to a new worker.
- One pool child killed: the worker's main process sees it lost and requeues its task
  at once (the visibility timeout is production's here, far longer than the test).
"""

from __future__ import annotations

import os
import signal
import uuid

import pytest
import requests
from django.db import transaction

from apps.orders.models import Actor, Order
from apps.orders.services.news import settle_money_after_commit
from apps.orders.services.status import order_cancel_locked, order_lock
from apps.payments.models import Payment, Refund
from foodiefast.mail import mail_request
from foodiefast.models import MailMessage
from tests.e2e.conftest import on_test_database
from tests.e2e.ordering import DROP_OFF, open_kitchen, pay_with_webhook, place_order, signed_in
from tests.mailserver import SmtpProcess
from tests.payments.conftest import StripeDouble
from tests.processes import Process, clients_of, procfile_command, start_web, unread_requests, wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(240)]

# The broker hands a task a dead worker held to another after this long (seconds).
VISIBILITY_SECONDS = 4
DISH = {"name": "Blanquette de veau", "price_cents": 1800, "allergens": ["milk"], "portions_per_day": 10}


@pytest.fixture(scope="module")
def smtp(tmp_path_factory):
    server = SmtpProcess(record_to=tmp_path_factory.mktemp("smtp"))
    yield server
    server.close()


@pytest.fixture(scope="module")
def deployment(django_db_setup, django_db_blocker, redis_server, localstripe_process, smtp, tmp_path_factory):
    """The Procfile's web on the test database; workers are the tests' own."""
    logs = tmp_path_factory.mktemp("crash")
    env = on_test_database(
        REDIS_URL=redis_server.url,
        STRIPE_API_BASE=localstripe_process.base_url,
        EMAIL_URL=f"smtp://127.0.0.1:{smtp.port}",
        # a frozen server is waited for longer than the test takes to catch the task
        EMAIL_TIMEOUT="60",
        WEB_CONCURRENCY="1",
        CELERY_CONCURRENCY="2",
    )
    web = start_web(env, log_path=logs / "web.log")
    try:
        yield {"env": env, "base": web.base_url, "logs": logs}
    finally:
        web.stop()


@pytest.fixture
def start_worker(deployment):
    """``start_worker(**variables)``: the Procfile's worker, once ready; stopped after the test."""
    started: list[Process] = []

    def start(**variables: str) -> Process:
        log = deployment["logs"] / f"worker-{uuid.uuid4().hex[:6]}.log"
        worker = Process(procfile_command("worker"), env={**deployment["env"], **variables}, log_path=log)
        started.append(worker)
        assert wait_for(lambda: "ready" in worker.output(), timeout=60), worker.output()
        return worker

    yield start
    for worker in started:
        worker.stop()


def all_mail_sent() -> bool:
    return not MailMessage.objects.filter(sent_at__isnull=True).exists()


def ran(worker: Process, task: str, args: str, returned: str = "") -> bool:
    """Whether ``worker`` logged ``task`` with ``args`` (as Celery shows them) succeeding
    (with ``returned``)."""
    return any(
        f"{task}[" in line and "succeeded" in line and f'"args": "{args}"' in line and returned in line
        for line in worker.output().splitlines()
    )


def accepted_order(deployment, localstripe) -> tuple[str, dict, str]:
    """An order paid at localstripe and accepted (its payment captured): its id and
    the customer's API headers and email address."""
    base, env = deployment["base"], deployment["env"]
    kitchen = open_kitchen(base, env, chef_name="Hugo Petit", kitchen_name="Chez Hugo", dish=DISH)
    customer = signed_in(base, "customer", "Inès Laurent")
    email = customer.pop("email")
    placed = place_order(
        base, customer, {"items": [{"dish_id": kitchen["dish_id"], "quantity": 2}], "delivery": DROP_OFF}
    )
    assert placed.status_code == 201, placed.text
    order_id = placed.json()["id"]
    pay_with_webhook(base, StripeDouble(localstripe), placed.json()["payment"]["payment_intent_id"])
    assert wait_for(lambda: Order.objects.get(pk=order_id).status == "paid", timeout=20)
    accepted = requests.post(f"{base}/api/v1/chef/orders/{order_id}/accept", headers=kitchen["chef"], timeout=30)
    assert accepted.status_code == 200, accepted.text
    assert wait_for(all_mail_sent, timeout=30)
    return order_id, customer, email


def test_a_worker_killed_mid_task_runs_it_again_and_each_effect_happens_once(
    deployment, localstripe, localstripe_process, smtp, start_worker
):
    first = start_worker(CELERY_VISIBILITY_TIMEOUT=str(VISIBILITY_SECONDS))
    order_id, customer, email = accepted_order(deployment, localstripe)
    received_before = len(smtp.messages())
    stripe_port = int(localstripe.rsplit(":", 1)[1])

    # Staff cancel the accepted order: the worker refunds it at Stripe and mails the
    # customer. Stripe hangs on the refund; the mail server takes the mail and hangs.
    os.kill(localstripe_process.pid, signal.SIGSTOP)
    try:
        smtp.freeze_on_next_quit()
        with transaction.atomic():
            order = order_lock(order_id=order_id)
            order_cancel_locked(order, actor=Actor.STAFF, reason="The kitchen had a power cut.")
            settle_money_after_commit(order.pk)
        caught = wait_for(lambda: smtp.frozen() and unread_requests(stripe_port) > 0, timeout=30)
        assert caught, first.output()[-3000:]
        first.kill()  # the whole worker, as a machine lost: nothing acknowledged
    finally:
        os.kill(localstripe_process.pid, signal.SIGCONT)
        smtp.thaw()

    # both tasks run again in a new worker ...
    second = start_worker(CELERY_VISIBILITY_TIMEOUT=str(VISIBILITY_SECONDS))
    cancelled = MailMessage.objects.get(kind="orders.cancelled", recipient=email)
    assert wait_for(
        lambda: (
            ran(second, "order_settle_money_task", f"('{order_id}',)")
            and ran(second, "notify_mail_task", f"({cancelled.pk},)", "already_done")
        ),
        timeout=60,
    ), second.output()[-3000:]
    assert wait_for(all_mail_sent, timeout=30)
    # ... and each effect happened once: one refund at Stripe, each mail received once
    payment = Payment.objects.get(reference=order_id)
    assert payment.refunded_cents == payment.captured_cents > 0
    assert StripeDouble(localstripe).count("refunds") == 1
    assert [refund.status for refund in Refund.objects.filter(payment=payment)] == ["succeeded"]
    received = smtp.messages()[received_before:]
    assert len({message["Message-ID"] for message in received}) == len(received)
    assert [m["To"] for m in received if m["Message-ID"].startswith(f"<mail-{cancelled.pk}.")] == [email]
    shown = requests.get(f"{deployment['base']}/api/v1/orders/{order_id}", headers=customer, timeout=10).json()
    assert shown["status"] == "cancelled"


def test_a_pool_child_killed_mid_task_is_requeued_at_once(smtp, start_worker, deployment):
    worker = start_worker()  # production's visibility timeout: longer than this test
    received_before = len(smtp.messages())
    smtp.freeze_on_next_quit()
    try:
        with transaction.atomic():
            message = mail_request(
                kind="tests.worker_crash",
                object_id=uuid.uuid4().hex,
                recipient="ops@example.com",
                language="en",
                template="tracking/mail/unclaimed",
                context={
                    "number": "FF-1",
                    "reference": "FF-1",
                    "pickup_address": "1 rue de Rivoli",
                    "minutes": 5,
                    "admin_path": "/admin/",
                },
            )
        assert wait_for(smtp.frozen, timeout=30), worker.output()[-3000:]
        [child] = clients_of(smtp.port)  # the pool child talking to the mail server
        os.kill(child, signal.SIGKILL)
    finally:
        smtp.thaw()

    # the main process saw its child lost and put the task back: another child ran it
    requeued = wait_for(lambda: ran(worker, "notify_mail_task", f"({message.pk},)", "already_done"), timeout=30)
    assert requeued, worker.output()[-3000:]
    assert "WorkerLostError" in worker.output()
    assert worker.popen.poll() is None
    MailMessage.objects.get(pk=message.pk, sent_at__isnull=False)
    assert [m["To"] for m in smtp.messages()[received_before:]] == ["ops@example.com"]
