"""Mail tests send through Django's SMTP backend to real servers on loopback."""

from __future__ import annotations

import datetime as dt

import pytest

from foodiefast.order_mail import MoneyOutcome, OrderMail, OrderMailLine
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


def an_order_mail(**overrides) -> OrderMail:
    """Two lines of food at 10 %, the fees at 20 %, a tip: 28,62 € in all."""
    fields = {
        "order_id": "8d1c4c7e-5b0e-4c55-9a55-3b8f0c1f2a10",
        "number": "FF-7K3Q",
        "kitchen_name": "Chez Léa",
        "customer_first_name": "Ada",
        "lines": [
            OrderMailLine(
                name="Bœuf bourguignon",
                quantity=2,
                unit_price_cents=825,
                line_total_cents=1650,
                allergens=["gluten", "milk", "nuts"],
                vat_rate="10.00",
            ),
            OrderMailLine(
                name="Salade verte", quantity=1, unit_price_cents=600, line_total_cents=600, allergens=[], vat_rate=10
            ),
        ],
        "subtotal_cents": 2250,
        "delivery_fee_cents": 299,
        "service_fee_cents": 113,
        "tip_cents": 200,
        "total_cents": 2862,
        "eta_minutes": 35,
        "accept_by": dt.datetime(2026, 7, 1, 18, 40, tzinfo=dt.UTC),
        "reason": "La cuisine a fermé plus tôt.",
        "money_outcome": MoneyOutcome.RELEASED,
        "instructions": "Code 4B, 3e étage",
    }
    fields.update(overrides)
    return OrderMail(**fields)
