"""Mail through the Procfile's worker, to a real SMTP server on loopback: a mail
server that is down delays the mail and loses none, and a task the broker hands out
twice sends one mail."""

from __future__ import annotations

import pytest
from django.db import transaction

from foodiefast.models import MailMessage
from foodiefast.tasks import notify_mail_task
from tests.e2e.conftest import on_test_database
from tests.factories.accounts import UserFactory
from tests.mail.conftest import owed
from tests.mailserver import SmtpServer
from tests.processes import Process, free_port, procfile_command, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(scope="module")
def smtp_port():
    return free_port()


@pytest.fixture(scope="module")
def worker(django_db_setup, redis_server, smtp_port, tmp_path_factory):
    """The Procfile's worker on the private broker and the test database, its mail
    going to ``smtp_port`` (nothing listens there until a test starts a server)."""
    env = on_test_database(
        REDIS_URL=redis_server.url,
        EMAIL_URL=f"smtp://127.0.0.1:{smtp_port}",
        EMAIL_TIMEOUT="2",
        MAIL_RETRY_SECONDS="1",
        CELERY_CONCURRENCY="2",
    )
    process = Process(procfile_command("worker"), env=env, log_path=tmp_path_factory.mktemp("worker") / "worker.log")
    try:
        assert wait_for(lambda: "ready" in process.output(), timeout=30), process.output()
        yield process
    finally:
        process.stop()


def test_mail_asked_for_while_the_mail_server_is_down_arrives_once_it_is_up(worker, smtp_port):
    ada = UserFactory(email="ada@example.com")
    with transaction.atomic():  # as an order's move does
        message = owed(ada.email)

    # The worker tries, finds no server, and tries again by itself after a pause.
    retried = wait_for(lambda: MailMessage.objects.get(pk=message.pk).attempts >= 2, timeout=30)
    assert retried, worker.output()[-3000:]
    assert MailMessage.objects.get(pk=message.pk).sent_at is None

    server = SmtpServer(smtp_port).start()
    try:
        arrived = server.wait_for_message_to("ada@example.com", timeout=60)
        assert arrived, worker.output()[-3000:]
        text = arrived[0].get_body(preferencelist=("plain",)).get_content()
        assert "Votre commande FF-1 de Chez Léa est livrée" in text
        assert wait_for(lambda: MailMessage.objects.get(pk=message.pk).sent_at is not None, timeout=10)
        assert len(server.messages_to("ada@example.com")) == 1
    finally:
        server.stop()


def test_a_task_the_broker_hands_out_twice_sends_one_mail(worker, smtp_port):
    server = SmtpServer(smtp_port).start()
    try:
        bob = UserFactory(email="bob@example.com", language="en")
        with transaction.atomic():
            message = owed(bob.email, language=bob.language)
        assert server.wait_for_message_to("bob@example.com", timeout=30), worker.output()[-3000:]

        # The same task again, as after a worker lost before its acknowledgement.
        notify_mail_task.delay(message.pk)
        assert wait_for(lambda: "'already_done'" in worker.output(), timeout=30), worker.output()[-3000:]

        [mail] = server.messages_to("bob@example.com")
        assert mail["Subject"] == "Your order FF-1 has been delivered"
    finally:
        server.stop()
