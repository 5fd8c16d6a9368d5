import datetime as dt

import factory
from django.utils import timezone

from apps.orders.models import Actor, Order, OrderEvent, OrderLine, OrderStatus
from foodiefast.localtime import local_today
from tests.factories.accounts import UserFactory
from tests.factories.menus import DishFactory


class OrderFactory(factory.django.DjangoModelFactory):
    """An order of one line (2 portions of a dish of 12.50 €) waiting for payment;
    ``paid=True`` (and the other statuses' traits) put it further along. Its
    portions are not taken from the dish's stock: tests of stock go through checkout."""

    class Meta:
        model = Order
        skip_postgeneration_save = True

    class Params:
        dish = factory.SubFactory(DishFactory)
        quantity = 2
        paid = factory.Trait(
            status=OrderStatus.PAID,
            paid_at=factory.LazyFunction(timezone.now),
            accept_by=factory.LazyFunction(lambda: timezone.now() + dt.timedelta(minutes=10)),
        )
        accepted = factory.Trait(paid=True, status=OrderStatus.ACCEPTED, prep_minutes=20)

    customer = factory.SubFactory(UserFactory)
    kitchen = factory.LazyAttribute(lambda o: o.dish.kitchen)
    subtotal_cents = factory.LazyAttribute(lambda o: o.dish.price_cents * o.quantity)
    delivery_fee_cents = 299
    service_fee_cents = factory.LazyAttribute(lambda o: (o.subtotal_cents * 5 + 50) // 100)
    tip_cents = 0
    total_cents = factory.LazyAttribute(
        lambda o: o.subtotal_cents + o.delivery_fee_cents + o.service_fee_cents + o.tip_cents
    )
    customer_name = factory.LazyAttribute(lambda o: o.customer.full_name)
    delivery_address = "12 rue de Rivoli, 75004 Paris"
    delivery_lat = 48.8566
    delivery_lng = 2.3522
    delivery_instructions = "Code 1234"
    delivery_phone = "+33 6 12 34 56 78"
    idempotency_key = factory.Sequence(lambda n: f"order-key-{n}")
    request_fingerprint = "0" * 64
    payment_due_at = factory.LazyFunction(lambda: timezone.now() + dt.timedelta(minutes=15))
    stock_date = factory.LazyFunction(local_today)

    @factory.post_generation
    def lines(obj, create, extracted, **kwargs):
        if not create:
            return
        line, events = _details(obj, obj.kitchen.dishes.first())
        line.save()
        OrderEvent.objects.bulk_create(events)

    @classmethod
    def create_bulk(cls, size: int, *, dish, **kwargs) -> list[Order]:
        """``size`` orders of ``dish`` (a ``customer`` must be given: nothing else is
        created) with their line and timeline, in three INSERTs."""
        orders = Order.objects.bulk_create(cls.build_batch(size, dish=dish, **kwargs))
        details = [_details(order, dish) for order in orders]
        OrderLine.objects.bulk_create(line for line, _ in details)
        OrderEvent.objects.bulk_create(event for _, events in details for event in events)
        return orders


def _details(order: Order, dish) -> tuple[OrderLine, list[OrderEvent]]:
    """The order's one line (unsaved) and its timeline up to its status (unsaved)."""
    quantity = order.subtotal_cents // dish.price_cents
    line = OrderLine(
        order=order,
        dish=dish,
        name=dish.name,
        unit_price_cents=dish.price_cents,
        quantity=quantity,
        allergens=dish.allergens,
        line_total_cents=dish.price_cents * quantity,
    )
    statuses = [OrderStatus.PENDING_PAYMENT, OrderStatus.PAID, OrderStatus.ACCEPTED]
    reached = statuses[: statuses.index(order.status) + 1] if order.status in statuses else [order.status]
    return line, [OrderEvent(order=order, status=status, at=timezone.now(), actor=Actor.SYSTEM) for status in reached]
