"""Every write of menus: dishes, their daily stock and reservations of portions."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from typing import Any
from uuid import UUID

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from apps.chefs.models import Kitchen
from apps.menus.browse.catalog import catalog_changed
from apps.menus.browse.stock import stock_changed, stock_written
from apps.menus.errors import DishUnavailable, SoldOut
from apps.menus.models import ALLERGENS, DIETARY_TAGS, Dish, effective_portions, to_mask
from foodiefast.localtime import local_today
from foodiefast.photos import photo_attach, photo_process
from foodiefast.tasks import delay_after_commit

DISH_EDITABLE_FIELDS = (
    "name",
    "description",
    "price_cents",
    "dietary_tags",
    "allergens",
    "portions_per_day",
    "portions_left",
    "is_available",
)


@transaction.atomic
def dish_create(
    *,
    kitchen: Kitchen,
    name: str,
    price_cents: int,
    allergens: Iterable[str],
    portions_per_day: int,
    description: str = "",
    dietary_tags: Iterable[str] = (),
    is_available: bool = True,
    portions_left: int | None = None,
) -> Dish:
    """Add a dish to ``kitchen``'s menu with today's stock full (``portions_per_day``)
    unless ``portions_left`` says otherwise.

    ``allergens`` is the required declaration (an empty list: none of the 14); an
    unknown code raises ``ValueError`` (the API validates first). Invalidates cached
    browse answers after commit."""
    if allergens is None:
        raise ValueError("The allergen declaration is required.")
    dish = Dish.objects.create(
        kitchen=kitchen,
        name=name,
        description=description,
        price_cents=price_cents,
        dietary_mask=to_mask(dietary_tags, DIETARY_TAGS),
        allergen_mask=to_mask(allergens, ALLERGENS),
        portions_per_day=portions_per_day,
        portions_left=portions_per_day if portions_left is None else portions_left,
        stock_date=local_today(),
        is_available=is_available,
    )
    catalog_changed()
    return dish


@transaction.atomic
def dish_update(*, dish: Dish, photo_upload_id=None, **fields: Any) -> Dish:
    """Change a dish. ``portions_left`` sets today's stock (≥ 0); it alone does not
    invalidate cached menus (stock is laid over them live), every other field does.
    ``photo_upload_id``: that upload of the kitchen's chef becomes the dish's next
    photo (``processing``, the worker's task queued after commit; the current photo
    stays until the new one is ready; ``InvalidInput`` for an upload that is not the
    chef's, unknown, expired or used). Locks the dish row."""
    unknown = set(fields) - set(DISH_EDITABLE_FIELDS)
    if unknown:
        raise TypeError(f"Not editable: {sorted(unknown)}")
    dish = Dish.objects.select_for_update().get(pk=dish.pk, deleted_at__isnull=True)
    if photo_upload_id is not None:
        chef_id = Kitchen.objects.filter(pk=dish.kitchen_id).values_list("chef_id", flat=True).get()
        upload_id = photo_attach(row=dish, owner_id=chef_id, upload_id=photo_upload_id)
        from apps.menus.tasks import dish_photo_process_task

        delay_after_commit(dish_photo_process_task, str(dish.pk), str(upload_id))
    for name, value in fields.items():
        if name == "allergens":
            if value is None:
                raise ValueError("The allergen declaration is required.")
            dish.allergen_mask = to_mask(value, ALLERGENS)
        elif name == "dietary_tags":
            dish.dietary_mask = to_mask(value, DIETARY_TAGS)
        elif name == "portions_left":
            dish.portions_left = value
            dish.stock_date = local_today()
        else:
            setattr(dish, name, value)
    dish.stock_seq += 1  # the row is locked
    dish.save()
    if set(fields) - {"portions_left"}:
        catalog_changed()
    else:
        stock_changed(dish_ids=[dish.pk])
    return dish


def dish_photo_process(*, dish_id, upload_id) -> str:
    """The worker's step for a dish's new photo (see :func:`foodiefast.photos.photo_process`):
    published (browse shows it once the transaction commits) or rejected with a reason."""
    return photo_process(model=Dish, pk=dish_id, upload_id=upload_id, on_ready=catalog_changed)


@transaction.atomic
def dish_delete(*, dish: Dish) -> None:
    """Take a dish off the menu for good. Soft: the row stays because orders refer
    to it; it is 404 everywhere afterwards and can no longer be reserved."""
    Dish.objects.filter(pk=dish.pk, deleted_at__isnull=True).update(
        deleted_at=timezone.now(), is_available=False, updated_at=timezone.now()
    )
    catalog_changed()


def _merged(items: Iterable[tuple[UUID | str, int]]) -> list[tuple[UUID, int]]:
    """Quantities summed per dish, in primary-key order: every transaction that
    touches several dishes locks them in the same order, so none can deadlock."""
    total: dict[UUID, int] = defaultdict(int)
    for dish_id, quantity in items:
        if quantity < 1:
            raise ValueError("Quantities are whole numbers from 1.")
        total[UUID(str(dish_id))] += quantity
    return sorted(total.items())


# Only the table name is interpolated; values go as parameters. The new figures come
# back with the update (RETURNING), so the write-through to Redis reads nothing again.
_RESERVE_SQL = f"""
UPDATE "{Dish._meta.db_table}"
   SET "portions_left" = (CASE WHEN "stock_date" < %(today)s THEN "portions_per_day"
                               ELSE "portions_left" END) - %(quantity)s,
       "stock_date" = %(today)s,
       "stock_seq" = "stock_seq" + 1
 WHERE "id" = %(id)s AND "deleted_at" IS NULL AND "is_available"
   AND (("stock_date" < %(today)s AND "portions_per_day" >= %(quantity)s)
        OR ("stock_date" >= %(today)s AND "portions_left" >= %(quantity)s))
RETURNING "portions_left", "stock_seq"
"""  # noqa: S608


def dish_portions_reserve(*, items: Iterable[tuple[UUID | str, int]], savepoint: bool = True) -> dt.date:
    """Take ``quantity`` portions of each dish from today's stock, all or nothing.

    One conditional ``UPDATE`` per dish, in primary-key order::

        UPDATE menus_dish
           SET portions_left = (CASE WHEN stock_date < :today THEN portions_per_day
                                     ELSE portions_left END) - :q,
               stock_date = :today, stock_seq = stock_seq + 1
         WHERE id = :id AND deleted_at IS NULL AND is_available
           AND ((stock_date < :today AND portions_per_day >= :q)
                OR (stock_date >= :today AND portions_left >= :q))
        RETURNING portions_left, stock_seq

    The row lock PostgreSQL takes makes concurrent reservations of one dish queue up
    and re-check the condition, so stock never goes below zero (and the check
    constraint would refuse it anyway). Runs inside the caller's transaction, in a
    savepoint: when one dish is short, ``SoldOut`` (with ``dish_id`` and
    ``portions_left``) or ``DishUnavailable`` is raised and nothing is taken.
    ``savepoint=False`` for a caller that rolls its whole transaction back on those
    errors (checkout): the same, two round trips fewer. After commit the figures the
    updates returned are written through to Redis.

    Returns the local stock date the portions were taken from: give it back to
    :func:`dish_portions_release`.
    """
    today = local_today()
    merged = _merged(items)
    stock = {}
    pk, day = Dish._meta.pk, connection.ops.adapt_datefield_value(today)
    with transaction.atomic(savepoint=savepoint), connection.cursor() as cursor:
        for dish_id, quantity in merged:
            params = {"today": day, "quantity": quantity, "id": pk.get_db_prep_value(dish_id, connection)}
            cursor.execute(_RESERVE_SQL, params)
            taken = cursor.fetchone()
            if taken is None:
                raise _shortage(dish_id, today)
            stock[str(dish_id)] = taken
        stock_written(stock=stock)
    return today


def _shortage(dish_id: UUID, today: dt.date) -> Exception:
    dish = Dish.objects.filter(pk=dish_id).first()
    if dish is None or dish.is_deleted or not dish.is_available:
        return DishUnavailable(dish_id=str(dish_id))
    left = effective_portions(dish.portions_left, dish.stock_date, dish.portions_per_day, today)
    noun = "portion" if left == 1 else "portions"
    return SoldOut(f"Only {left} {noun} of {dish.name} left.", dish_id=str(dish_id), portions_left=left)


def dish_portions_release(*, items: Iterable[tuple[UUID | str, int]], stock_date: dt.date) -> None:
    """Give back portions reserved from the stock of local day ``stock_date`` (a
    cancelled order). Portions of an earlier day are not added to today's stock: the
    update only matches a dish whose stock still counts that day. Primary-key order,
    inside the caller's transaction."""
    merged = _merged(items)
    with transaction.atomic():
        for dish_id, quantity in merged:
            Dish.objects.filter(pk=dish_id, stock_date=stock_date).update(
                portions_left=F("portions_left") + quantity, stock_seq=F("stock_seq") + 1
            )
        stock_changed(dish_ids=[dish_id for dish_id, _ in merged])


def dish_stock_reset_daily(*, today: dt.date | None = None) -> int:
    """Start a new local day: every dish whose stock counts an earlier day gets
    ``portions_per_day`` again. Idempotent: a second run the same day matches no row.
    Returns how many dishes were reset. Cached menus and cached stock are untouched:
    no effective figure changes (a row of an earlier day already counts as
    ``portions_per_day``)."""
    today = today or local_today()
    return Dish.objects.filter(stock_date__lt=today).update(portions_left=F("portions_per_day"), stock_date=today)
