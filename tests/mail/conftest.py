"""Mail tests send through Django's SMTP backend to real servers on loopback."""

from __future__ import annotations

import pytest

from foodiefast.mail import mail_request
from foodiefast.models import MailMessage
from tests.mailserver import SmtpServer


def point_mail_at(settings, port: int, *, timeout: float = 2) -> None:
    # pytest-django swaps in the in-memory backend for every test; these use SMTP.
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = port
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = timeout


@pytest.fixture
def smtp(settings):
    """A running SMTP server that the app's mail goes to."""
    server = SmtpServer().start()
    point_mail_at(settings, server.port)
    yield server
    server.stop()


# A short mail of the orders app, with the little context it needs.
DELIVERED = {
    "kind": "orders.delivered",
    "template": "orders/mail/delivered",
    "context": {"number": "FF-1", "kitchen_name": "Chez Léa", "customer_first_name": "Ada"},
}


def owed(recipient="ada@example.com", *, object_id="order-1", language="fr", **fields) -> MailMessage:
    """A delivered-order mail asked for as the orders app does; ``fields`` then set on its row."""
    message = mail_request(**DELIVERED, language=language, object_id=object_id, recipient=recipient)
    if fields:
        MailMessage.objects.filter(pk=message.pk).update(**fields)
    return message
