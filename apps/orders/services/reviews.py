"""Reviews: once per delivered order; the kitchen's rating follows."""

from __future__ import annotations

from uuid import UUID

from django.db import transaction

from apps.accounts.models import User
from apps.chefs.services import kitchen_rating_add
from apps.orders.errors import ReviewNotAllowed
from apps.orders.models import OrderStatus, Review
from apps.orders.services.status import order_lock


@transaction.atomic
def order_review(*, customer: User, order_id: UUID | str, rating: int, comment: str = "") -> Review:
    """The customer reviews their delivered order, once; the kitchen's ``rating``
    and ``rating_count`` count it (chefs' service, which refreshes browse). Locks the
    order row, so two reviews sent together make one. Raises ``OrderNotFound`` and
    ``ReviewNotAllowed`` (not delivered, or reviewed already)."""
    order = order_lock(order_id=order_id, customer=customer)
    if order.status != OrderStatus.DELIVERED or Review.objects.filter(order=order).exists():
        raise ReviewNotAllowed()
    review = Review.objects.create(order=order, kitchen_id=order.kitchen_id, rating=rating, comment=comment)
    kitchen_rating_add(kitchen_id=order.kitchen_id, rating=rating)
    return review
