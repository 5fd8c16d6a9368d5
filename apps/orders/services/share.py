"""Live links to an order's tracking page (``/t/{token}``), made and revoked by the
order's customer."""

from __future__ import annotations

import secrets
from uuid import UUID

from django.db import transaction

from apps.accounts.models import User
from apps.orders.errors import OrderNotFound
from apps.orders.models import Order, OrderShare

# 32 random bytes: 256 bits, far beyond guessing (at least 128 asked).
TOKEN_BYTES = 32


def order_share(*, customer: User, order_id: UUID | str) -> tuple[OrderShare, bool]:
    """The live link of the customer's own order, made on the first call: the link and
    whether it was made now. Two calls at once make one link (the order is locked).
    Raises ``OrderNotFound`` for anyone else's order."""
    with transaction.atomic():
        order = Order.objects.select_for_update().filter(customer=customer, pk=order_id).only("pk").first()
        if order is None:
            raise OrderNotFound()
        share = OrderShare.objects.filter(order=order).first()
        if share is not None:
            return share, False
        return OrderShare.objects.create(order=order, token=secrets.token_urlsafe(TOKEN_BYTES)), True


def order_share_revoke(*, customer: User, order_id: UUID | str) -> None:
    """Revoke the live link of the customer's own order (nothing to do without one):
    its page and stream answer 404 from now on. Raises ``OrderNotFound`` for anyone
    else's order."""
    with transaction.atomic():
        if not Order.objects.filter(customer=customer, pk=order_id).exists():
            raise OrderNotFound()
        OrderShare.objects.filter(order_id=order_id).delete()
