"""Payment gateways. Only this package talks to Stripe (an import-linter contract)."""

from __future__ import annotations

from django.conf import settings

from apps.payments.gateways.base import Gateway


def get_gateway(provider: str | None = None) -> Gateway:
    """The gateway for ``provider`` ("stripe" or "demo"), or the one the settings
    choose, read at call time: the demo one with ``PAYMENTS_DEMO``, Stripe otherwise."""
    if provider == "demo" or (provider is None and settings.PAYMENTS_DEMO):
        from apps.payments.gateways.demo import DemoGateway

        return DemoGateway()
    from apps.payments.gateways.stripe import StripeGateway

    return StripeGateway()
