"""Sending against real SMTP servers that refuse, freeze or answer slowly: a message is
sent once, retried while the server cannot take it, and never hangs the sender."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from foodiefast import mail
from foodiefast.mail import Outcome, mail_deliver, mail_purge, mail_relay
from foodiefast.models import MailMessage
from foodiefast.tasks import notify_mail_task
from tests.mail.conftest import DELIVERED, owed, point_mail_at
from tests.mailserver import SmtpProcess
from tests.processes import closed_port

pytestmark = pytest.mark.django_db


def test_a_redelivered_task_sends_once(smtp):
    message = owed()

    first = notify_mail_task.apply(args=[message.pk]).get()
    again = notify_mail_task.apply(args=[message.pk]).get()

    assert (first, again) == ("sent", "already_done")
    assert len(smtp.messages_to("ada@example.com")) == 1
    message.refresh_from_db()
    assert message.sent_at is not None and message.attempts == 0


@pytest.mark.django_db(transaction=True)
def test_two_workers_given_the_same_message_at_once_send_it_once(smtp):
    smtp.data_delay = 1.0  # the first sender is still talking to the server
    # Written as mail_request does, without the task its commit would run at once here.
    message = MailMessage.objects.create(**DELIVERED, language="fr", object_id="order-1", recipient="ada@example.com")
    outcomes: list[Outcome] = []

    def work():
        outcomes.append(mail_deliver(message_id=message.pk).outcome)

    threads = [threading.Thread(target=work) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)

    assert sorted(outcomes) == sorted([Outcome.SENT, Outcome.IN_FLIGHT])
    assert len(smtp.messages_to("ada@example.com")) == 1


def test_a_server_that_is_down_delays_the_mail_and_keeps_it(settings):
    point_mail_at(settings, closed_port())
    message = owed()

    delivery = mail_deliver(message_id=message.pk)

    assert delivery.outcome is Outcome.RETRY
    assert delivery.retry_in == settings.MAIL_RETRY_SECONDS
    message.refresh_from_db()
    assert message.sent_at is None and message.failed_at is None and message.leased_until is None
    assert message.attempts == 1
    assert "ConnectionRefusedError" in message.last_error
    assert message.next_attempt_at > timezone.now()


def test_the_pause_between_attempts_doubles_up_to_its_ceiling(settings):
    settings.MAIL_RETRY_SECONDS = 10
    settings.MAIL_RETRY_MAX_SECONDS = 900

    assert [mail.mail_retry_delay(n) for n in (1, 2, 3, 4, 5, 6, 7, 12)] == [10, 20, 40, 80, 160, 320, 640, 900]
    # The task itself only waits out the short ones: far below the broker's visibility timeout.
    assert settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"] >= mail.TASK_RETRY_MAX_SECONDS * 4


def test_a_server_that_refuses_for_now_gets_the_mail_later(smtp):
    smtp.refuse["ada@example.com"] = "451 4.3.0 Mailbox temporarily unavailable"
    message = owed()

    assert mail_deliver(message_id=message.pk).outcome is Outcome.RETRY
    del smtp.refuse["ada@example.com"]
    assert mail_deliver(message_id=message.pk).outcome is Outcome.SENT

    assert len(smtp.messages_to("ada@example.com")) == 1


def test_a_recipient_refused_for_good_is_not_retried(smtp):
    smtp.refuse["nobody@example.com"] = "550 5.1.1 No such user"
    message = owed("nobody@example.com")

    assert mail_deliver(message_id=message.pk).outcome is Outcome.FAILED
    assert mail_deliver(message_id=message.pk).outcome is Outcome.ALREADY_DONE

    message.refresh_from_db()
    assert message.failed_at is not None and message.sent_at is None
    assert "550" in message.last_error
    assert mail_relay() == 0


def test_a_frozen_server_costs_the_sender_its_timeout_then_the_mail_waits(settings):
    server = SmtpProcess()
    try:
        point_mail_at(settings, server.port, timeout=1)
        message = owed()
        server.freeze()  # connections are accepted by the kernel; no greeting ever comes

        started = time.monotonic()
        outcome = notify_mail_task.apply(args=[message.pk]).get()  # (pytest-timeout bounds a hang)
        took = time.monotonic() - started

        assert took < 10  # EMAIL_TIMEOUT is 1 s: the sender gave up, it did not hang
        assert outcome == "retry"
        message.refresh_from_db()
        assert message.sent_at is None and message.attempts == 1
        assert "timed out" in message.last_error

        server.thaw()
        assert notify_mail_task.apply(args=[message.pk]).get() == "sent"
    finally:
        server.close()


def test_a_mail_that_cannot_be_rendered_is_kept_for_a_later_release(smtp):
    message = owed(template="orders/mail/no_such_mail")

    assert mail_deliver(message_id=message.pk).outcome is Outcome.RETRY

    message.refresh_from_db()
    assert "TemplateDoesNotExist" in message.last_error
    assert message.sent_at is None and message.failed_at is None and message.leased_until is None
    assert smtp.messages_to("ada@example.com") == []


def test_the_relay_hands_over_only_what_is_due_and_unclaimed(settings):
    now = timezone.now()
    long_ago = now - timedelta(seconds=settings.MAIL_RELAY_SECONDS + 5)
    due = owed(object_id="due", next_attempt_at=long_ago)
    owed(object_id="lost-worker", next_attempt_at=long_ago, leased_until=now - timedelta(seconds=1))
    owed(object_id="waiting", next_attempt_at=now + timedelta(minutes=5))
    owed(object_id="just-asked", next_attempt_at=now)  # its task is on its way
    owed(object_id="in-flight", next_attempt_at=long_ago, leased_until=now + timedelta(minutes=1))
    owed(object_id="sent", next_attempt_at=long_ago, sent_at=now)
    owed(object_id="refused", next_attempt_at=long_ago, failed_at=now)

    handed = mail_relay()

    assert handed == 2
    assert due.pk in set(MailMessage.objects.filter(object_id__in=["due", "lost-worker"]).values_list("pk", flat=True))


def test_sent_mail_is_forgotten_after_the_retention_period(settings):
    old = timezone.now() - timedelta(days=settings.MAIL_RETENTION_DAYS + 1)
    owed(object_id="old", sent_at=old)
    owed(object_id="recent", sent_at=timezone.now())
    owed(object_id="owed-for-long", created_at=old, next_attempt_at=old)

    assert mail_purge() == 1

    assert set(MailMessage.objects.values_list("object_id", flat=True)) == {"recent", "owed-for-long"}


def test_a_server_that_hangs_after_taking_the_message_has_it_once(smtp):
    smtp.quit_delay = 3  # longer than EMAIL_TIMEOUT: the sender's QUIT times out
    message = owed()

    assert mail_deliver(message_id=message.pk).outcome is Outcome.SENT
    assert mail_deliver(message_id=message.pk).outcome is Outcome.ALREADY_DONE

    assert len(smtp.messages_to("ada@example.com")) == 1
    message.refresh_from_db()
    assert message.sent_at is not None and message.attempts == 0


def test_a_message_sent_again_keeps_its_message_id(smtp):
    message, other = owed(), owed(object_id="order-2")
    mail_deliver(message_id=message.pk)
    # what the relay does after a worker died between the server's answer and sent_at
    MailMessage.objects.filter(pk=message.pk).update(sent_at=None)
    mail_deliver(message_id=message.pk)
    mail_deliver(message_id=other.pk)

    first, again, second = (received["Message-ID"] for _, received in smtp.received)
    assert first == again != second
    assert first.endswith("@foodiefast.example>")
