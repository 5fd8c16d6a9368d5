"""Reads of tracking with their visibility rules: deliveries near a courier, a
courier's own delivery, a delivery's live view for the app above (courier, ETA)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils import timezone

from apps.accounts.models import User
from apps.tracking import positions
from apps.tracking.errors import DeliveryNotFound
from apps.tracking.eta import Eta, eta_of
from apps.tracking.models import ACTIVE_STATUSES, CourierState, Delivery, DeliveryStatus
from apps.tracking.positions import Duty, Fix
from foodiefast.geo import Point, bounding_box, haversine_km

D = DeliveryStatus


def courier_state_get(*, courier: User) -> CourierState | None:
    return CourierState.objects.filter(courier=courier).first()


def _fix_from_state(state: CourierState | None) -> Fix | None:
    if state is None or state.lat is None or state.lng is None or state.position_at is None:
        return None
    return Fix(state.lat, state.lng, state.position_at.timestamp())


def courier_position(*, courier_id: str, state: CourierState | None) -> Fix | None:
    """The courier's newest position: Redis's (pings), else the one they gave with
    their availability (PostgreSQL), else None."""
    live = positions.positions_read(courier_ids=[courier_id])
    return (live or {}).get(courier_id) or _fix_from_state(state)


@dataclass(frozen=True)
class Nearby:
    delivery: Delivery
    distance_km: float


def delivery_list_available(*, courier: User) -> list[Nearby]:
    """Deliveries waiting for a courier whose kitchen lies within
    ``DISPATCH_RADIUS_KM`` of the courier's newest position, nearest first (then
    oldest). Empty for an offline courier or one who never gave a position. Two
    queries (the courier's state, the deliveries) however many are listed."""
    state = courier_state_get(courier=courier)
    if state is None or not state.is_online:
        return []
    fix = courier_position(courier_id=str(courier.pk), state=state)
    if fix is None:
        return []
    here = Point(fix.lat, fix.lng)
    radius = settings.DISPATCH_RADIUS_KM
    box = bounding_box(here, radius)
    candidates = Delivery.objects.filter(
        status=D.WAITING,
        pickup_lat__range=(box.min_lat, box.max_lat),
        pickup_lng__range=(box.min_lng, box.max_lng),
    )
    nearby = []
    for delivery in candidates:
        distance = haversine_km(here, Point(delivery.pickup_lat, delivery.pickup_lng))
        if distance <= radius:
            nearby.append(Nearby(delivery, distance))
    nearby.sort(key=lambda n: (n.distance_km, n.delivery.created_at))
    return nearby


def delivery_get_for_courier(*, courier: User, delivery_id: UUID | str) -> Delivery:
    """The delivery assigned to ``courier`` (any status); raises ``DeliveryNotFound``."""
    delivery = Delivery.objects.filter(pk=delivery_id, courier=courier).first()
    if delivery is None:
        raise DeliveryNotFound()
    return delivery


def delivery_active_for(*, courier_id: UUID | str) -> Delivery | None:
    return Delivery.objects.filter(courier_id=courier_id, status__in=ACTIVE_STATUSES).first()


def courier_duty(*, courier_id: UUID | str) -> Duty:
    """What the courier is doing, from PostgreSQL (the copy :mod:`.positions` keeps)."""
    state = CourierState.objects.filter(courier_id=courier_id).only("is_online").first()
    online = bool(state and state.is_online)
    delivery = delivery_active_for(courier_id=courier_id)
    if delivery is None:
        return Duty(online=online)
    return Duty(
        online=online,
        delivery=str(delivery.pk),
        reference=delivery.reference,
        phase=delivery.status,
        pickup=(delivery.pickup_lat, delivery.pickup_lng),
        dropoff=(delivery.dropoff_lat, delivery.dropoff_lng),
        ready_by=delivery.expected_ready_at.timestamp() if delivery.expected_ready_at else None,
        ready=delivery.ready_at is not None,
    )


def eta_for_duty(duty: Duty, *, courier: Fix | None, now: datetime) -> Eta:
    """The ETA of the delivery ``duty`` names, from the courier's position ``courier``."""
    if not duty.delivery or duty.pickup is None or duty.dropoff is None:
        return Eta.unknown()
    return eta_of(
        phase=duty.phase,
        now=now,
        pickup=Point(*duty.pickup),
        dropoff=Point(*duty.dropoff),
        courier=Point(courier.lat, courier.lng) if courier is not None else None,
        ready_by=datetime.fromtimestamp(duty.ready_by, tz=UTC) if duty.ready_by else None,
        ready=duty.ready,
    )


@dataclass(frozen=True)
class CourierShown:
    """The courier as the customer sees them: first name, newest position."""

    name: str
    lat: float
    lng: float
    updated_at: datetime


@dataclass(frozen=True)
class Tracking:
    """A delivery's live view: ``courier`` None before assignment and once the
    delivery ended; ``eta`` unknown when nothing can be said."""

    delivery: Delivery | None
    courier: CourierShown | None
    eta: Eta


def first_name(user: User) -> str:
    return (user.full_name or "").split(" ")[0]


def delivery_tracking(*, reference: str, now: datetime | None = None) -> Tracking:
    """The live view of the delivery opened for ``reference`` (one query, plus the
    courier's availability row when Redis has no position for them)."""
    now = now or timezone.now()
    delivery = Delivery.objects.select_related("courier").filter(reference=reference).first()
    if delivery is None or delivery.status in (D.DELIVERED, D.CANCELLED):
        return Tracking(delivery=delivery, courier=None, eta=Eta.unknown())
    shown, fix = None, None
    if delivery.courier is not None:
        live = positions.positions_read(courier_ids=[str(delivery.courier_id)]) or {}
        fix = live.get(str(delivery.courier_id)) or _fix_from_state(
            CourierState.objects.filter(courier_id=delivery.courier_id).first()
        )
        if fix is not None:
            shown = CourierShown(
                name=first_name(delivery.courier),
                lat=fix.lat,
                lng=fix.lng,
                updated_at=datetime.fromtimestamp(fix.at, tz=UTC),
            )
    eta = eta_of(
        phase=delivery.status,
        now=now,
        pickup=Point(delivery.pickup_lat, delivery.pickup_lng),
        dropoff=Point(delivery.dropoff_lat, delivery.dropoff_lng),
        courier=Point(fix.lat, fix.lng) if fix is not None else None,
        ready_by=delivery.expected_ready_at,
        ready=delivery.ready_at is not None,
    )
    return Tracking(delivery=delivery, courier=shown, eta=eta)


def unclaimed_q(*, now: datetime | None = None) -> Q:
    """Deliveries ready for pickup that nobody claimed within ``UNCLAIMED_ALERT_MINUTES``."""
    cutoff = (now or timezone.now()) - timedelta(minutes=settings.UNCLAIMED_ALERT_MINUTES)
    return Q(status=D.WAITING, ready_at__isnull=False, ready_at__lte=cutoff)


def deliveries_unclaimed_unalerted(*, now: datetime | None = None, limit: int = 200) -> QuerySet[Delivery]:
    return Delivery.objects.filter(unclaimed_q(now=now), unclaimed_alert_at__isnull=True).order_by("ready_at")[:limit]
