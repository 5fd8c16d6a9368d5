"""Checkout: an order placed once per ``Idempotency-Key``, its portions reserved, its
price computed here, and its PaymentIntent started holding no lock.

1. The request is checked against the dishes and their kitchen (no lock, one query):
   unknown dishes, several kitchens, closed kitchens, the delivery area, the minimum.
2. One short transaction inserts the order first (unique per customer and key, so a
   concurrent replay waits on that index and then finds it through the violation),
   its lines, timeline row and payment row (payments' ``payment_open``), checks the
   kitchen's limit of open orders under its row lock, and reserves the portions last
   (menus' conditional update, dishes in primary-key order), so that the dish rows
   stay locked only for the commit. No savepoint: any refusal rolls the whole
   transaction back.
3. After commit, holding nothing, one request (the lease ``payment_claimed_until``)
   asks payments for the manual-capture intent; its replays wait for it. When the
   provider cannot be reached, nothing is kept: the portions go back, the order is
   deleted (its key is free again) and 503 ``payment_provider_unavailable`` answers.

A replay is found by its key only when the order cannot be written (the key's unique
violation, or a check that now refuses the body): a new order, the usual case, reads
nothing before writing.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from uuid import UUID

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.accounts.models import User
from apps.chefs.models import Kitchen
from apps.menus.errors import DishUnavailable
from apps.menus.models import Dish
from apps.menus.selectors import dishes_for_checkout
from apps.menus.services import dish_portions_reserve
from apps.orders.errors import ChefClosed, OutOfDeliveryArea
from apps.orders.models import (
    MAX_QUANTITY,
    OPEN_STATUSES,
    VAT_FOOD_BP,
    Actor,
    Order,
    OrderEvent,
    OrderLine,
    OrderStatus,
)
from apps.orders.selectors import order_with_details
from apps.orders.services.status import portions_release_locked
from apps.payments.errors import PaymentNotFound, PaymentProviderUnavailable
from apps.payments.models import Payment
from apps.payments.selectors import Checkout, payment_checkout, payment_get
from apps.payments.services import payment_cancel, payment_open, payment_start
from foodiefast.errors import DomainError, InvalidInput
from foodiefast.formatting import money
from foodiefast.geo import Point, haversine_km
from foodiefast.idempotency import IdempotencyKeyReused, fingerprint
from foodiefast.localtime import local_today
from foodiefast.rows import insert

# The smallest subtotal any kitchen takes (card fees make less pointless).
MIN_SUBTOTAL_CENTS = 50
# How long one request may spend creating the intent before a replay takes over:
# longer than the gateway's connect and read timeouts together.
PAYMENT_CLAIM_SECONDS = 30
REPLAY_POLL_SECONDS = 0.05


@dataclass(frozen=True)
class Placed:
    """The order (when ``created``, carrying the lines and timeline it was written
    with: it renders without reading it back), its checkout, whether it is new."""

    order: Order
    checkout: Checkout | None
    created: bool


@dataclass(frozen=True)
class _Priced:
    kitchen: Kitchen
    lines: list[OrderLine]
    subtotal_cents: int
    delivery_fee_cents: int
    service_fee_cents: int
    tip_cents: int

    @property
    def total_cents(self) -> int:
        return self.subtotal_cents + self.delivery_fee_cents + self.service_fee_cents + self.tip_cents


def service_fee_for(subtotal_cents: int) -> int:
    """``PLATFORM_FEE_PERCENT`` of the subtotal, rounded half up to the cent."""
    fee = Decimal(subtotal_cents) * Decimal(str(settings.PLATFORM_FEE_PERCENT)) / Decimal(100)
    return int(fee.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _merged(items: list[tuple[UUID | str, int]]) -> dict[str, int]:
    """Quantities per dish (a dish named twice is one line)."""
    merged: dict[str, int] = {}
    for dish_id, quantity in items:
        merged[str(dish_id)] = merged.get(str(dish_id), 0) + quantity
    return merged


def _invalid(detail: str, field: str = "items") -> InvalidInput:
    return InvalidInput(detail, fields={field: [detail]})


def _price(*, items: list[tuple[UUID | str, int]], delivery: dict[str, Any], tip_cents: int) -> _Priced:
    """Check the request against the dishes and their kitchen, and price it. Raises
    ``InvalidInput``, ``DishUnavailable`` (via the lines), ``ChefClosed`` and
    ``OutOfDeliveryArea``."""
    merged = _merged(items)
    if not merged:
        raise _invalid(_("An order needs at least one item."))
    too_many = [dish_id for dish_id, quantity in merged.items() if quantity > MAX_QUANTITY]
    if too_many:
        raise _invalid(_("At most %(count)d portions of one dish per order.") % {"count": MAX_QUANTITY})
    dishes = dishes_for_checkout(dish_ids=list(merged))
    unknown = [dish_id for dish_id in merged if dish_id not in dishes]
    if unknown:
        raise _invalid(_("Unknown dish: %(dish)s.") % {"dish": unknown[0]})
    kitchens = {dish.kitchen_id for dish in dishes.values()}
    if len(kitchens) > 1:
        raise _invalid(_("All dishes of an order come from one chef."))
    for dish_id in sorted(merged):
        dish: Dish = dishes[dish_id]
        if dish.is_deleted or not dish.is_available:
            raise DishUnavailable(_("%(dish)s cannot be ordered right now.") % {"dish": dish.name}, dish_id=dish_id)
    kitchen = next(iter(dishes.values())).kitchen
    if not kitchen.is_approved or kitchen.is_paused or not kitchen.has_location:
        raise ChefClosed()
    if not dish.kitchen_is_open:  # its opening hours, read with the dishes
        raise ChefClosed(_("This kitchen is closed right now."))
    distance = haversine_km(Point(delivery["lat"], delivery["lng"]), Point(kitchen.lat, kitchen.lng))
    if distance > kitchen.delivery_radius_km:
        raise OutOfDeliveryArea()
    lines = [
        OrderLine(
            dish=dishes[dish_id],
            name=dishes[dish_id].name,
            unit_price_cents=dishes[dish_id].price_cents,
            quantity=quantity,
            allergens=dishes[dish_id].allergens,
            vat_rate_bp=VAT_FOOD_BP,
            line_total_cents=dishes[dish_id].price_cents * quantity,
        )
        for dish_id, quantity in sorted(merged.items())
    ]
    subtotal = sum(line.line_total_cents for line in lines)
    minimum = max(MIN_SUBTOTAL_CENTS, kitchen.minimum_order_cents)
    if subtotal < minimum:
        raise _invalid(_("This kitchen takes orders from %(amount)s.") % {"amount": money(minimum, settings.CURRENCY)})
    return _Priced(
        kitchen=kitchen,
        lines=lines,
        subtotal_cents=subtotal,
        delivery_fee_cents=kitchen.delivery_fee_cents,
        service_fee_cents=service_fee_for(subtotal),
        tip_cents=tip_cents,
    )


def _record(
    *, customer: User, key: str, request_fingerprint: str, priced: _Priced, delivery: dict
) -> tuple[Order, Payment]:
    """Insert the order, its lines, first timeline row and payment row (inside the
    caller's transaction; raises ``ChefClosed`` at the kitchen's limit, and then
    nothing is kept). The portions are reserved by :func:`_reserve`."""
    now = timezone.now()
    kitchen = priced.kitchen
    order = Order(
        customer=customer,
        kitchen=kitchen,
        subtotal_cents=priced.subtotal_cents,
        delivery_fee_cents=priced.delivery_fee_cents,
        service_fee_cents=priced.service_fee_cents,
        tip_cents=priced.tip_cents,
        total_cents=priced.total_cents,
        currency=settings.CURRENCY,
        customer_name=customer.full_name,
        delivery_address=delivery["address"],
        delivery_lat=delivery["lat"],
        delivery_lng=delivery["lng"],
        delivery_instructions=delivery.get("instructions") or "",
        delivery_phone=delivery.get("phone") or "",
        idempotency_key=key,
        request_fingerprint=request_fingerprint,
        payment_due_at=now + timedelta(minutes=settings.PAYMENT_EXPIRY_MINUTES),
        payment_claimed_until=now + timedelta(seconds=PAYMENT_CLAIM_SECONDS),
        stock_date=local_today(),
    )
    # Plain statements (foodiefast.rows): what create() and bulk_create() would write.
    insert(order)
    for line in priced.lines:
        line.order = order
    insert(*priced.lines)
    event = OrderEvent(order=order, status=OrderStatus.PENDING_PAYMENT, at=now, actor=Actor.CUSTOMER)
    insert(event)
    order_with_details(order, lines=priced.lines, events=[event])
    payment = payment_open(reference=str(order.pk), amount_cents=order.total_cents, currency=order.currency)
    if kitchen.max_open_orders is not None:
        # Under the kitchen's row lock, so two checkouts cannot both take the last place.
        limit = Kitchen.objects.select_for_update().values_list("max_open_orders", flat=True).get(pk=kitchen.pk)
        open_orders = Order.objects.filter(kitchen=kitchen, status__in=OPEN_STATUSES).exclude(pk=order.pk).count()
        if limit is not None and open_orders >= limit:
            raise ChefClosed(_("This kitchen has as many orders as it can take right now."))
    return order, payment


def _reserve(order: Order, lines: list[OrderLine]) -> None:
    """Reserve the order's portions, the last statement of the checkout's transaction:
    the dish rows it locks are held for the commit only. Raises ``SoldOut`` and
    ``DishUnavailable``, and then the whole transaction is rolled back."""
    items = [(line.dish_id, line.quantity) for line in lines]
    stock_date = dish_portions_reserve(items=items, savepoint=False)
    if stock_date != order.stock_date:  # local midnight passed in between
        order.stock_date = stock_date
        order.save(update_fields=["stock_date"])


def order_fingerprint(*, items: list[tuple[UUID | str, int]], delivery: dict[str, Any], tip_cents: int) -> str:
    return fingerprint(
        {"items": [[str(d), q] for d, q in items], "delivery": dict(sorted(delivery.items())), "tip_cents": tip_cents}
    )


def order_place(
    *,
    customer: User,
    idempotency_key: str,
    items: list[tuple[UUID | str, int]],
    delivery: dict[str, Any],
    tip_cents: int = 0,
) -> Placed:
    """Place an order, or answer the one placed with this key before.

    ``delivery`` holds ``address, lat, lng`` and optionally ``instructions, phone``.
    A replay with the same body (even one arriving together with the first) returns
    the same order and payment; another body raises ``IdempotencyKeyReused``. Raises
    ``InvalidInput``, ``DishUnavailable``, ``SoldOut`` (nothing reserved),
    ``ChefClosed``, ``OutOfDeliveryArea`` and ``PaymentProviderUnavailable`` (nothing
    kept). Call it outside any transaction: the provider is called after commit."""
    request_fingerprint = order_fingerprint(items=items, delivery=delivery, tip_cents=tip_cents)
    lookup = {"customer": customer, "idempotency_key": idempotency_key}
    try:
        priced = _price(items=items, delivery=delivery, tip_cents=tip_cents)
        with transaction.atomic():
            order, payment = _record(
                customer=customer,
                key=idempotency_key,
                request_fingerprint=request_fingerprint,
                priced=priced,
                delivery=delivery,
            )
            _reserve(order, priced.lines)
    except (DomainError, IntegrityError):
        # Maybe a replay: the key's unique violation (a twin committed first, or long
        # ago), or a body the menu now refuses (a dish sold out since). The order
        # placed with this key answers; without one, the error stands.
        order = _placed_before(lookup, request_fingerprint)
        if order is None:
            raise
        return Placed(order=order, checkout=_payment_for(order, claimed=False), created=False)
    return Placed(order=order, checkout=_payment_for(order, claimed=True, opened=payment), created=True)


def _placed_before(lookup: dict[str, Any], request_fingerprint: str) -> Order | None:
    """The order placed with this key before, if any; ``IdempotencyKeyReused`` when
    it was placed with another body."""
    existing = Order.objects.filter(**lookup).first()
    if existing is not None and existing.request_fingerprint != request_fingerprint:
        raise IdempotencyKeyReused()
    return existing


def _intent_checkout(reference: str) -> Checkout | None:
    try:
        checkout = payment_checkout(payment_get(reference=reference))
    except PaymentNotFound:
        return None
    return checkout if checkout.payment_intent_id else None


def _claim(order: Order) -> bool:
    """Take the lease on starting the order's payment (a conditional update that
    commits at once: no lock is held afterwards)."""
    now = timezone.now()
    return bool(
        Order.objects.filter(pk=order.pk, status=OrderStatus.PENDING_PAYMENT)
        .filter(Q(payment_claimed_until__isnull=True) | Q(payment_claimed_until__lt=now))
        .update(payment_claimed_until=now + timedelta(seconds=PAYMENT_CLAIM_SECONDS))
    )


def _payment_for(order: Order, *, claimed: bool, opened: Payment | None = None) -> Checkout | None:
    """The order's checkout: started by the request holding the lease (``opened``: the
    payment row it wrote with the order), waited for by its replays (which take over
    if the lease runs out)."""
    reference = str(order.pk)
    deadline = time.monotonic() + PAYMENT_CLAIM_SECONDS + 5
    while True:
        # The request that has just placed the order holds the lease it was created
        # with: no intent can exist yet, so it need not look for one.
        checkout = None if claimed else _intent_checkout(reference)
        if checkout is not None:
            return checkout
        if claimed or _claim(order):
            try:
                return payment_start(
                    reference=reference, amount_cents=order.total_cents, currency=order.currency, opened=opened
                )
            except PaymentProviderUnavailable:
                _discard(order)
                raise
        current = Order.objects.filter(pk=order.pk).values_list("status", flat=True).first()
        if current is None or time.monotonic() > deadline:
            raise PaymentProviderUnavailable()  # the first request could not start it: the key is free
        if current != OrderStatus.PENDING_PAYMENT:
            return None  # expired or cancelled before any intent existed
        time.sleep(REPLAY_POLL_SECONDS)


def _discard(order: Order) -> None:
    """No intent could be created: give the portions back and delete the order, so
    that nothing is kept and the same key may be sent again. The payment row (if
    any) is marked dead, which needs no provider call before an intent exists."""
    with transaction.atomic():
        locked = Order.objects.select_for_update().filter(pk=order.pk, status=OrderStatus.PENDING_PAYMENT).first()
        if locked is None:
            return
        portions_release_locked(locked)
        locked.delete()
    with contextlib.suppress(PaymentNotFound, PaymentProviderUnavailable):
        payment_cancel(reference=str(order.pk))
