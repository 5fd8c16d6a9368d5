"""Every write of chefs: the kitchen, its opening hours, approval."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from apps.accounts.models import Role, User
from apps.chefs.errors import KitchenIncomplete, KitchenNotFound
from apps.chefs.events import KitchenApproved
from apps.chefs.models import Kitchen, OpeningHours
from apps.chefs.selectors import CATALOG_CACHE_NAMESPACE
from foodiefast.cache import namespace_bump
from foodiefast.events import publish

KITCHEN_EDITABLE_FIELDS = (
    "display_name",
    "bio",
    "cuisine",
    "photo_url",
    "address",
    "lat",
    "lng",
    "delivery_radius_km",
    "delivery_fee_cents",
    "prep_minutes",
    "is_paused",
)


def catalog_changed() -> None:
    """What customers browse changed: cached browse answers are dropped after commit."""
    namespace_bump(CATALOG_CACHE_NAMESPACE)


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
def kitchen_update(*, kitchen: Kitchen, **fields: Any) -> Kitchen:
    """Change the chef-editable profile fields (never approval or rating).
    Locks the kitchen row; invalidates cached browse answers after commit."""
    unknown = set(fields) - set(KITCHEN_EDITABLE_FIELDS)
    if unknown:
        raise TypeError(f"Not editable: {sorted(unknown)}")
    kitchen = Kitchen.objects.select_for_update().get(pk=kitchen.pk)
    for name, value in fields.items():
        setattr(kitchen, name, value)
    if kitchen.is_approved and not kitchen.has_location:
        raise KitchenIncomplete("An approved kitchen cannot lose its location.")
    kitchen.save()
    catalog_changed()
    return kitchen


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
        raise KitchenNotFound(f"No chef account with the email {email}.")
    return kitchen_approve(kitchen=kitchen_ensure_for_chef(chef=chef), by=by)


@transaction.atomic
def opening_hours_replace(*, kitchen: Kitchen, slots: list[tuple[int, int, int]]) -> list[OpeningHours]:
    """Replace the whole week with ``slots`` of ``(weekday, opens_minute, closes_minute)``
    (already validated: ``[]`` closes the kitchen all week). Locks the kitchen row so
    two replacements do not interleave; invalidates cached browse answers."""
    Kitchen.objects.select_for_update().filter(pk=kitchen.pk).first()
    OpeningHours.objects.filter(kitchen=kitchen).delete()
    created = OpeningHours.objects.bulk_create(
        [OpeningHours(kitchen=kitchen, weekday=d, opens_minute=o, closes_minute=c) for d, o, c in sorted(slots)]
    )
    catalog_changed()
    return created


@transaction.atomic
def kitchen_withdraw_for_user_id(*, user_id: str) -> None:
    """The chef erased their account: their kitchen leaves the catalog for good
    (unapproved and paused; the row stays for past orders). Idempotent."""
    updated = Kitchen.objects.filter(chef_id=user_id).exclude(is_approved=False, is_paused=True)
    if updated.update(is_approved=False, is_paused=True, approved_at=None, updated_at=timezone.now()):
        catalog_changed()
