"""Every write of chefs: the kitchen, its opening hours, approval.

The rules of a kitchen's location and of its opening hours live here once; the chef
API's serializers and the admin's forms call the same checks before they write, so
both refuse the same input with the same message."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.dates import WEEKDAYS
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from apps.accounts.models import Role, User
from apps.chefs.errors import KitchenIncomplete, KitchenNotFound, LocationHalfGiven, OpeningHoursInvalid
from apps.chefs.events import KitchenApproved, kitchen_listing_changed
from apps.chefs.models import Kitchen, OpeningHours, parse_hhmm
from foodiefast.events import publish
from foodiefast.photos import photo_attach, photo_process
from foodiefast.tasks import delay_after_commit

KITCHEN_EDITABLE_FIELDS = (
    "display_name",
    "bio",
    "cuisine",
    "address",
    "lat",
    "lng",
    "delivery_radius_km",
    "delivery_fee_cents",
    "prep_minutes",
    "is_paused",
    "minimum_order_cents",
    "max_open_orders",
)


LAT_LNG_TOGETHER = LocationHalfGiven.detail
APPROVED_KEEPS_LOCATION = gettext_lazy("An approved kitchen keeps its location (lat and lng).")
SLOT_WITHIN_ONE_DAY = gettext_lazy(
    "A slot closes after it opens, within one day (a service past midnight is two slots)."
)

# One slot of a week: (weekday with Monday 0, opens_minute, closes_minute).
Slot = tuple[int, int, int]


def kitchen_location_check(*, kitchen: Kitchen, changes: Mapping[str, Any]) -> None:
    """The location rule for a change of ``kitchen``: ``lat`` and ``lng`` change
    together (both given, both set or both cleared), and an approved kitchen keeps
    its location. Raises ``LocationHalfGiven`` (on ``lat``) or ``KitchenIncomplete``."""
    if ("lat" in changes) != ("lng" in changes) or (changes.get("lat") is None) != (changes.get("lng") is None):
        raise LocationHalfGiven(fields={"lat": [LAT_LNG_TOGETHER]})
    if kitchen.is_approved and "lat" in changes and changes["lat"] is None:
        raise KitchenIncomplete(APPROVED_KEEPS_LOCATION)


def opening_slot_parse(*, weekday: int, opens: str, closes: str) -> Slot:
    """One slot as written by a chef (``HH:MM``, local time) in minutes since local
    midnight: within one day, ``opens`` before ``closes``, ``closes`` may be 24:00.
    Raises ``OpeningHoursInvalid`` with the message under ``opens`` or ``closes``."""
    errors: dict[str, list[str]] = {}
    minutes: dict[str, int] = {}
    for name, value, allow_midnight_end in (("opens", opens, False), ("closes", closes, True)):
        try:
            minutes[name] = parse_hhmm(value, allow_midnight_end=allow_midnight_end)
        except ValueError as exc:
            errors[name] = [str(exc)]
    if not errors and minutes["opens"] >= minutes["closes"]:
        errors["closes"] = [SLOT_WITHIN_ONE_DAY]
    if errors:
        name, messages = next(iter(errors.items()))
        raise OpeningHoursInvalid(f"{name}: {messages[0]}", fields=errors)
    return weekday, minutes["opens"], minutes["closes"]


def opening_hours_check(*, slots: Iterable[Slot]) -> None:
    """No two slots of one weekday overlap (one may start when the other ends).
    Raises ``OpeningHoursInvalid`` naming the first such weekday."""
    by_day: dict[int, list[tuple[int, int]]] = {}
    for weekday, opens_minute, closes_minute in slots:
        by_day.setdefault(weekday, []).append((opens_minute, closes_minute))
    for day in sorted(by_day):
        spans = sorted(by_day[day])
        if any(start < end for (_, end), (start, _) in itertools.pairwise(spans)):
            raise OpeningHoursInvalid(_("Slots of %(day)s overlap.") % {"day": WEEKDAYS[day]})


def catalog_changed() -> None:
    """What customers browse of a kitchen changed: announce it in-process
    (``kitchen_listing_changed``), so the browse cache above drops its answers once
    the transaction commits. Chefs knows nothing of that cache."""
    kitchen_listing_changed.send(sender=Kitchen)


def kitchen_ensure_for_chef(*, chef: User) -> Kitchen:
    """The chef's kitchen, created (unapproved, incomplete) if it does not exist yet.

    Both the ``UserRegistered`` handler and every read of "my kitchen" go through
    here, so a chef never finds themselves without one; concurrent calls end with
    the same single row (unique ``chef``)."""
    kitchen, _ = Kitchen.objects.get_or_create(
        chef=chef, defaults={"display_name": chef.full_name or chef.email.split("@")[0]}
    )
    return kitchen


def kitchen_ensure_for_user_id(*, user_id: str) -> Kitchen | None:
    """Open the kitchen of a newly registered chef (idempotent); None for other roles."""
    user = User.objects.filter(pk=user_id, role=Role.CHEF).first()
    if user is None:
        return None
    return kitchen_ensure_for_chef(chef=user)


@transaction.atomic
def kitchen_update(*, kitchen: Kitchen, photo_upload_id=None, **fields: Any) -> Kitchen:
    """Change the chef-editable profile fields (never approval or rating), and with
    ``photo_upload_id`` take that upload of the chef as the kitchen's next photo
    (``processing``; the worker's task is queued after commit, the current photo stays
    until the new one is ready). Locks the kitchen row; invalidates cached browse
    answers after commit. Raises what :func:`kitchen_location_check` raises, and
    ``InvalidInput`` for an upload that is not the chef's, unknown, expired or used."""
    unknown = set(fields) - set(KITCHEN_EDITABLE_FIELDS)
    if unknown:
        raise TypeError(f"Not editable: {sorted(unknown)}")
    kitchen = Kitchen.objects.select_for_update().get(pk=kitchen.pk)
    kitchen_location_check(kitchen=kitchen, changes=fields)
    for name, value in fields.items():
        setattr(kitchen, name, value)
    if photo_upload_id is not None:
        upload_id = photo_attach(row=kitchen, owner_id=kitchen.chef_id, upload_id=photo_upload_id)
        from apps.chefs.tasks import kitchen_photo_process_task

        delay_after_commit(kitchen_photo_process_task, str(kitchen.pk), str(upload_id))
    kitchen.save()
    catalog_changed()
    return kitchen


def kitchen_photo_process(*, kitchen_id, upload_id) -> str:
    """The worker's step for a kitchen's new photo (see :func:`foodiefast.photos.photo_process`):
    published (browse shows it once the transaction commits) or rejected with a reason."""
    return photo_process(model=Kitchen, pk=kitchen_id, upload_id=upload_id, on_ready=catalog_changed)


@transaction.atomic
def kitchen_approve(*, kitchen: Kitchen, by: User | None) -> Kitchen:
    """Staff approve a kitchen: it becomes visible to customers (unless paused).

    Locks the row; raises ``KitchenIncomplete`` without a location. Approving an
    approved kitchen changes nothing. Announces ``KitchenApproved`` after commit."""
    kitchen = Kitchen.objects.select_for_update().get(pk=kitchen.pk)
    if kitchen.is_approved:
        return kitchen
    if not kitchen.has_location:
        raise KitchenIncomplete()
    kitchen.is_approved = True
    kitchen.approved_at = timezone.now()
    kitchen.approved_by = by
    kitchen.save(update_fields=["is_approved", "approved_at", "approved_by", "updated_at"])
    catalog_changed()
    publish(KitchenApproved(kitchen_id=str(kitchen.pk), chef_id=str(kitchen.chef_id)))
    return kitchen


def kitchen_approve_by_email(*, email: str, by: User | None = None) -> Kitchen:
    """``approve_chef <email>``: approve the kitchen of the chef with this email.
    Raises ``KitchenNotFound`` when no chef has it, ``KitchenIncomplete`` as above."""
    chef = User.objects.filter(email__iexact=email.strip(), role=Role.CHEF).first()
    if chef is None:
        raise KitchenNotFound(_("No chef account with the email %(email)s.") % {"email": email})
    return kitchen_approve(kitchen=kitchen_ensure_for_chef(chef=chef), by=by)


@transaction.atomic
def opening_hours_replace(*, kitchen: Kitchen, slots: list[Slot]) -> list[OpeningHours]:
    """Replace the whole week with ``slots`` of ``(weekday, opens_minute, closes_minute)``
    (each from :func:`opening_slot_parse`; ``[]`` closes the kitchen all week).
    Raises ``OpeningHoursInvalid`` for overlapping slots (nothing changes). Locks the kitchen
    row so two replacements do not interleave; invalidates cached browse answers."""
    opening_hours_check(slots=slots)
    Kitchen.objects.select_for_update().filter(pk=kitchen.pk).first()
    OpeningHours.objects.filter(kitchen=kitchen).delete()
    created = OpeningHours.objects.bulk_create(
        [OpeningHours(kitchen=kitchen, weekday=d, opens_minute=o, closes_minute=c) for d, o, c in sorted(slots)]
    )
    catalog_changed()
    return created


@transaction.atomic
def kitchen_rating_add(*, kitchen_id, rating: int) -> Kitchen:
    """Count one more review of ``rating`` (1-5) in the kitchen's average. Locks the
    kitchen row; customers see the new ``rating`` and ``rating_count`` in browse
    (cached answers are dropped after commit)."""
    kitchen = Kitchen.objects.select_for_update().get(pk=kitchen_id)
    total = (kitchen.rating or 0) * kitchen.rating_count + rating
    kitchen.rating_count += 1
    kitchen.rating = total / kitchen.rating_count
    kitchen.save(update_fields=["rating", "rating_count", "updated_at"])
    catalog_changed()
    return kitchen


@transaction.atomic
def kitchen_withdraw_for_user_id(*, user_id: str) -> None:
    """The chef erased their account: their kitchen leaves the catalog for good
    (unapproved and paused; the row stays for past orders). Idempotent."""
    updated = Kitchen.objects.filter(chef_id=user_id).exclude(is_approved=False, is_paused=True)
    if updated.update(is_approved=False, is_paused=True, approved_at=None, updated_at=timezone.now()):
        catalog_changed()
