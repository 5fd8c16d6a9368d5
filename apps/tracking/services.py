"""Every write of tracking: deliveries opened, made ready and cancelled by the app
above (for an opaque reference), couriers' availability, claims, releases, pickups
and deliveries, location pings, and the beat sweeps (unclaimed alerts, trail purge).

Each step locks what it changes in a short transaction and announces what higher
apps need through the outbox (``DeliveryClaimed``, ``DeliveryPickedUp``,
``DeliveryCompleted``). Redis (:mod:`.positions`) is told after commit, and a failure
there never undoes a committed step: the copy it keeps expires within a minute and
is read again from PostgreSQL. The order's event channel is written by
:func:`location_announce` (the claim) and by the ping's script itself
(:mod:`.positions`).
"""

from __future__ import annotations

import atexit
import logging
import os
import queue
import threading
from datetime import UTC, datetime, timedelta
from uuid import UUID

from django.conf import settings
from django.db import IntegrityError, close_old_connections, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.accounts.models import User
from apps.accounts.selectors import staff_list_to_alert
from apps.tracking import positions, selectors
from apps.tracking.channel import LOCATION, ChannelUnavailable, channel_publish, encode_data
from apps.tracking.errors import (
    AlreadyClaimed,
    CourierBusy,
    CourierOffDuty,
    DeliveryInvalidTransition,
    DeliveryNotFound,
    PositionsUnavailable,
)
from apps.tracking.events import DeliveryClaimed, DeliveryCompleted, DeliveryPickedUp
from apps.tracking.models import (
    ACTIVE_STATUSES,
    FINAL_STATUSES,
    Assignment,
    AssignmentAction,
    CourierState,
    Delivery,
    DeliveryStatus,
    TrailPoint,
    can_move,
)
from apps.tracking.positions import Fix
from foodiefast.events import publish
from foodiefast.geo import Point, haversine_km
from foodiefast.mail import mail_request

logger = logging.getLogger("apps.tracking")

D = DeliveryStatus
MAX_BATCH = 50
SWEEP_BATCH = 200
PURGE_BATCH = 5000


# ---------------------------------------------------------------------------
# Called by the app above, in its own transaction
# ---------------------------------------------------------------------------


def delivery_open(
    *,
    reference: str,
    pickup: Point,
    dropoff: Point,
    pickup_address: str = "",
    dropoff_address: str = "",
    instructions: str = "",
    phone: str = "",
    expected_ready_at: datetime | None = None,
) -> Delivery:
    """Open the delivery of ``reference`` (idempotent: the one already open for it
    is returned unchanged). Online couriers near ``pickup`` see it at once."""
    delivery, _ = Delivery.objects.get_or_create(
        reference=reference,
        defaults={
            "pickup_lat": pickup.lat,
            "pickup_lng": pickup.lng,
            "pickup_address": pickup_address[:255],
            "dropoff_lat": dropoff.lat,
            "dropoff_lng": dropoff.lng,
            "dropoff_address": dropoff_address[:255],
            "dropoff_instructions": instructions[:500],
            "dropoff_phone": phone[:32],
            "expected_ready_at": expected_ready_at,
        },
    )
    return delivery


def _locked_by_reference(reference: str) -> Delivery | None:
    return Delivery.objects.select_for_update(of=("self",)).filter(reference=reference).first()


def delivery_mark_ready(*, reference: str, at: datetime | None = None) -> Delivery | None:
    """The food of ``reference`` is ready: the courier may pick it up, and the
    unclaimed-alert clock starts. Idempotent; None when no delivery was opened."""
    delivery = _locked_by_reference(reference)
    if delivery is None or delivery.ready_at is not None or delivery.status in FINAL_STATUSES:
        return delivery
    delivery.ready_at = at or timezone.now()
    delivery.save(update_fields=["ready_at", "updated_at"])
    if delivery.courier_id:
        duty_refresh_after_commit(delivery.courier_id)
    return delivery


def delivery_cancel(*, reference: str, at: datetime | None = None) -> Delivery | None:
    """The order of ``reference`` was cancelled: so is its delivery (a courier who
    held it is free again, an audit row says why). Idempotent; a delivery picked up
    or delivered is left alone; None when no delivery was opened."""
    delivery = _locked_by_reference(reference)
    if delivery is None or not can_move(delivery.status, D.CANCELLED):
        return delivery
    now = at or timezone.now()
    if delivery.courier_id:
        Assignment.objects.create(
            delivery=delivery, courier_id=delivery.courier_id, action=AssignmentAction.CANCELLED, at=now
        )
        duty_refresh_after_commit(delivery.courier_id)
    delivery.status = D.CANCELLED
    delivery.cancelled_at = now
    _forget_drop_off(delivery)
    delivery.save()
    return delivery


def _forget_drop_off(delivery: Delivery) -> None:
    """The door's address, instructions and phone serve only while the delivery is open."""
    delivery.dropoff_address = ""
    delivery.dropoff_instructions = ""
    delivery.dropoff_phone = ""


# ---------------------------------------------------------------------------
# Couriers
# ---------------------------------------------------------------------------


def courier_set_availability(*, courier: User, online: bool, lat: float, lng: float) -> CourierState:
    """The courier goes online or offline at ``lat``/``lng``: kept in PostgreSQL
    (the available list reads it) and, after commit, as their newest position in
    Redis (a Redis outage is logged: PostgreSQL has it)."""
    now = timezone.now()
    with transaction.atomic():
        state, _ = CourierState.objects.update_or_create(
            courier=courier, defaults={"is_online": online, "lat": lat, "lng": lng, "position_at": now}
        )
        courier_id = str(courier.pk)
        transaction.on_commit(lambda: _store_position(courier_id, Fix(lat, lng, now.timestamp())))
        duty_refresh_after_commit(courier.pk)
    return state


def _store_position(courier_id: str, fix: Fix) -> None:
    try:
        positions.position_store(courier_id=courier_id, fix=fix)
    except positions.Unavailable:
        logger.warning("courier %s: position not stored in redis", courier_id)


def duty_refresh(courier_id: UUID | str) -> None:
    """Copy the courier's duty from PostgreSQL to Redis (logged when Redis is down:
    the copy there expires by itself)."""
    try:
        positions.duty_store(courier_id=str(courier_id), duty=selectors.courier_duty(courier_id=courier_id))
    except positions.Unavailable:
        logger.warning("courier %s: duty not copied to redis", courier_id)


def duty_refresh_after_commit(courier_id: UUID | str) -> None:
    transaction.on_commit(lambda: duty_refresh(courier_id))


def _assigned_locked(courier: User, delivery_id: UUID | str) -> Delivery:
    """Lock the delivery assigned to ``courier``; raises ``DeliveryNotFound``."""
    delivery = (
        Delivery.objects.select_for_update(of=("self",))
        .filter(pk=delivery_id, courier=courier)
        .exclude(status=D.CANCELLED)
        .first()
    )
    if delivery is None:
        raise DeliveryNotFound()
    return delivery


def delivery_claim(*, courier: User, delivery_id: UUID | str) -> Delivery:
    """The courier takes a waiting delivery. Exactly one of any number of concurrent
    claimants wins: the courier's own row is locked first (two claims of one courier
    queue), then the delivery is taken with a conditional UPDATE (waiting and
    unassigned), which one transaction only can make. Records an :class:`Assignment`
    (who, when, the distance from their last position to the kitchen), announces
    ``DeliveryClaimed``, and after commit publishes the courier's last known position
    on the order's channel. Claiming one's own delivery again answers it.

    Raises ``DeliveryNotFound`` (no such delivery, or cancelled or finished),
    ``AlreadyClaimed`` (another courier holds it) and ``CourierBusy`` (the courier
    holds another active delivery)."""
    now = timezone.now()
    try:
        with transaction.atomic():
            state, _ = CourierState.objects.select_for_update().get_or_create(courier=courier)
            delivery = Delivery.objects.filter(pk=delivery_id).first()
            if delivery is None or delivery.status in FINAL_STATUSES:
                raise DeliveryNotFound()
            if delivery.courier_id == courier.pk and delivery.status in ACTIVE_STATUSES:
                return delivery
            if Delivery.objects.filter(courier=courier, status__in=ACTIVE_STATUSES).exists():
                raise CourierBusy()
            taken = Delivery.objects.filter(pk=delivery_id, status=D.WAITING, courier__isnull=True).update(
                status=D.CLAIMED, courier=courier, claimed_at=now, updated_at=now
            )
            if not taken:
                raise AlreadyClaimed()
            delivery.refresh_from_db()
            fix = selectors.courier_position(courier_id=str(courier.pk), state=state)
            distance = (
                round(haversine_km(Point(fix.lat, fix.lng), Point(delivery.pickup_lat, delivery.pickup_lng)), 3)
                if fix is not None
                else None
            )
            Assignment.objects.create(
                delivery=delivery,
                courier=courier,
                action=AssignmentAction.CLAIMED,
                at=now,
                distance_km=distance,
                courier_lat=fix.lat if fix else None,
                courier_lng=fix.lng if fix else None,
                position_at=datetime.fromtimestamp(fix.at, tz=UTC) if fix else None,
                note="claimed from the available list",
            )
            publish(
                DeliveryClaimed(
                    reference=delivery.reference,
                    delivery_id=str(delivery.pk),
                    courier_id=str(courier.pk),
                    at=now.isoformat(),
                    distance_km=distance,
                )
            )
            duty_refresh_after_commit(courier.pk)
            if fix is not None:
                transaction.on_commit(lambda: _announce_claimed(delivery, fix))
    except IntegrityError as exc:  # the one-active-delivery index: a claim of this courier won meanwhile
        raise CourierBusy() from exc
    logger.info("delivery %s claimed by %s (%s km)", delivery.pk, courier.pk, distance)
    return delivery


def _announce_claimed(delivery: Delivery, fix: Fix) -> None:
    """After the claim's commit: the courier's last known position on the order's
    channel, so the customer sees them at once (a Redis outage is logged: the next
    ping publishes again)."""
    duty = selectors.courier_duty(courier_id=delivery.courier_id)
    try:
        _announce_position(reference=delivery.reference, duty=duty, fix=fix)
    except ChannelUnavailable:
        logger.warning("delivery %s: claimed position not published", delivery.pk)


def delivery_release(*, courier: User, delivery_id: UUID | str) -> Delivery:
    """The assigned courier gives a claimed delivery back before pickup: waiting
    again, offered to couriers near it, an :class:`Assignment` row says so. Raises
    ``DeliveryNotFound`` (not theirs) and ``DeliveryInvalidTransition`` (picked up)."""
    now = timezone.now()
    with transaction.atomic():
        delivery = _assigned_locked(courier, delivery_id)
        if delivery.status != D.CLAIMED:
            raise DeliveryInvalidTransition()
        Assignment.objects.create(delivery=delivery, courier=courier, action=AssignmentAction.RELEASED, at=now)
        delivery.status = D.WAITING
        delivery.courier = None
        delivery.claimed_at = None
        delivery.save()
        duty_refresh_after_commit(courier.pk)
    return delivery


def _courier_step(
    courier: User,
    delivery_id: UUID | str,
    *,
    source: str,
    target: str,
    event: type[DeliveryPickedUp] | type[DeliveryCompleted],
) -> Delivery:
    """Move the courier's own delivery ``source → target`` and announce ``event``
    (the order follows through the outbox)."""
    now = timezone.now()
    with transaction.atomic():
        delivery = _assigned_locked(courier, delivery_id)
        if delivery.status != source:
            raise DeliveryInvalidTransition()
        if target == D.PICKED_UP and delivery.ready_at is None:
            raise DeliveryInvalidTransition(_("The order is not ready for pickup yet."))
        delivery.status = target
        setattr(delivery, "picked_up_at" if target == D.PICKED_UP else "delivered_at", now)
        if target == D.DELIVERED:
            _forget_drop_off(delivery)
        delivery.save()
        publish(
            event(
                reference=delivery.reference,
                delivery_id=str(delivery.pk),
                courier_id=str(courier.pk),
                at=now.isoformat(),
            )
        )
        duty_refresh_after_commit(courier.pk)
    return delivery


def delivery_pick_up(*, courier: User, delivery_id: UUID | str) -> Delivery:
    """``claimed → picked_up`` once the food is ready (the order is
    ``ready_for_pickup``); announces ``DeliveryPickedUp`` (the order follows). Raises
    ``DeliveryNotFound`` (not theirs) and ``DeliveryInvalidTransition``."""
    return _courier_step(courier, delivery_id, source=D.CLAIMED, target=D.PICKED_UP, event=DeliveryPickedUp)


def delivery_complete(*, courier: User, delivery_id: UUID | str) -> Delivery:
    """``picked_up → delivered``; announces ``DeliveryCompleted`` (the order follows)
    and forgets the door's address and phone. Raises ``DeliveryNotFound`` (not
    theirs) and ``DeliveryInvalidTransition`` (not picked up yet)."""
    return _courier_step(courier, delivery_id, source=D.PICKED_UP, target=D.DELIVERED, event=DeliveryCompleted)


# ---------------------------------------------------------------------------
# Location
# ---------------------------------------------------------------------------


def courier_location_record(*, courier: User, points: list[Fix]) -> bool:
    """A batch of positions (oldest first, at most 50): the newest becomes the
    courier's position in Redis and, when they hold a delivery, is published on its
    order's channel with the ETA; the trail keeps a downsampled few in PostgreSQL.
    One Redis round trip (a Lua script does all three); PostgreSQL is read when
    Redis has no copy of the courier's duty and written when the trail keeps a
    point. Whether the courier's position moved. Raises ``CourierOffDuty`` (offline,
    no delivery) and ``PositionsUnavailable`` (Redis unreachable: nothing recorded)."""
    courier_id = str(courier.pk)
    try:
        pinged = positions.ping(courier_id=courier_id, points=points, event_of=_event_of(points))
        if pinged.duty is None:
            positions.duty_store(courier_id=courier_id, duty=selectors.courier_duty(courier_id=courier_id))
            pinged = positions.ping(courier_id=courier_id, points=points, event_of=_event_of(points))
    except positions.Unavailable as exc:
        raise PositionsUnavailable() from exc
    duty = pinged.duty
    if duty is None or (not duty.online and not duty.delivery):
        raise CourierOffDuty()
    if pinged.kept:
        trail_record(courier_id=courier_id, delivery_id=duty.delivery, points=[points[i] for i in pinged.kept])
    return pinged.moved


async def courier_location_record_in_redis_async(*, courier_id: str, points: list[Fix], vouched: str) -> bool | None:
    """:func:`courier_location_record` on the event loop (the ASGI entry's fast path):
    the same Redis round trip; the trail's points, when it keeps any, are handed to
    :data:`trail_writer` (written in PostgreSQL a moment later). Whether the position
    moved, or None when the ping needs what only the full path does (read the duty
    from PostgreSQL, or answer an error), which then takes it over from the start;
    also None unless Django vouched for this sign-in (``vouched``,
    :func:`courier_vouch`) within the last minute. Raises nothing."""
    try:
        pinged = await positions.ping_async(
            courier_id=courier_id, points=points, event_of=_event_of(points), vouched=vouched
        )
    except positions.Unavailable:
        return None
    duty = pinged.duty
    if duty is None or (not duty.online and not duty.delivery):
        return None
    if pinged.kept:
        trail_writer.put(courier_id, duty.delivery, [points[i] for i in pinged.kept])
    return pinged.moved


class TrailWriter:
    """The trail points the web entry's pings keep, written to PostgreSQL by a thread
    of their own, whatever is waiting in one INSERT: a ping never waits for the
    database. A write that fails is logged and its points are lost, as the full path
    loses them when its INSERT fails (the trail is a downsampled history); what waits
    when the process exits is written first."""

    def __init__(self) -> None:
        self.queue: queue.SimpleQueue = queue.SimpleQueue()
        self.thread: threading.Thread | None = None
        self.lock = threading.Lock()
        os.register_at_fork(after_in_child=self._forked)
        atexit.register(self.flush)

    def _forked(self) -> None:
        self.queue, self.thread, self.lock = queue.SimpleQueue(), None, threading.Lock()

    def put(self, courier_id: str, delivery_id: str, points: list[Fix]) -> None:
        self.queue.put((courier_id, delivery_id, points))
        if self.thread is None:
            with self.lock:
                if self.thread is None:
                    self.thread = threading.Thread(target=self._write_forever, name="trail-writer", daemon=True)
                    self.thread.start()

    def _write_forever(self) -> None:
        while True:
            waiting = [self.queue.get()]
            self._write(waiting + self._waiting())

    def _waiting(self) -> list:
        found = []
        while True:
            try:
                found.append(self.queue.get_nowait())
            except queue.Empty:
                return found

    def _write(self, batches: list) -> None:
        try:
            close_old_connections()  # as a request would: a connection past its age or broken is replaced
            TrailPoint.objects.bulk_create(
                _trail_point(courier_id, delivery_id, point)
                for courier_id, delivery_id, points in batches
                for point in points
            )
        except Exception:
            logger.exception("trail: %d points not written", sum(len(points) for _, _, points in batches))

    def flush(self) -> None:
        """Write what waits now (in the calling thread)."""
        batches = self._waiting()
        if batches:
            self._write(batches)


trail_writer = TrailWriter()


def _trail_point(courier_id: str, delivery_id: str, point: Fix) -> TrailPoint:
    return TrailPoint(
        delivery_id=delivery_id,
        courier_id=courier_id,
        lat=point.lat,
        lng=point.lng,
        recorded_at=datetime.fromtimestamp(point.at, tz=UTC),
    )


def trail_record(*, courier_id: str, delivery_id: str, points: list[Fix]) -> None:
    """Write the points the trail keeps (one INSERT)."""
    TrailPoint.objects.bulk_create(_trail_point(courier_id, delivery_id, point) for point in points)


def _event_of(points: list[Fix]) -> positions.EventOf:
    """The ``location`` event of a batch's newest point, for a duty (its data as JSON)."""
    newest, now = points[-1], timezone.now()
    return lambda duty: encode_data(location_event(duty=duty, fix=newest, now=now))


def courier_vouch(*, courier_id: str, digest: str) -> None:
    """Django signed this courier in: the ASGI entry may take their pings for a minute
    (``digest`` of the claim their tokens carry). A Redis outage is logged."""
    try:
        positions.auth_store(user_id=courier_id, record=digest)
    except positions.Unavailable:
        logger.warning("courier %s: sign-in not remembered for the fast path", courier_id)


def location_event(*, duty: positions.Duty, fix: Fix, now: datetime | None = None) -> dict:
    """The ``location`` event's data: ``{lat, lng, updated_at, eta_minutes,
    estimated_arrival_at}``."""
    eta = selectors.eta_for_duty(duty, courier=fix, now=now or timezone.now())
    return {
        "lat": fix.lat,
        "lng": fix.lng,
        "updated_at": datetime.fromtimestamp(fix.at, tz=UTC).isoformat(),
        "eta_minutes": eta.minutes,
        "estimated_arrival_at": eta.arrival_at.isoformat() if eta.arrival_at else None,
    }


def _announce_position(*, reference: str, duty: positions.Duty, fix: Fix) -> None:
    location_announce(reference=reference, data=location_event(duty=duty, fix=fix))


def location_announce(*, reference: str, data: dict) -> str:
    """Publish a ``location`` event on the order's channel (the customer's stream
    follows it); its id. Raises ``ChannelUnavailable`` when Redis is unreachable."""
    return channel_publish(reference=reference, kind=LOCATION, data=data)


# ---------------------------------------------------------------------------
# Beat sweeps
# ---------------------------------------------------------------------------


def deliveries_alert_unclaimed(*, now: datetime | None = None) -> int:
    """Beat: each delivery ready for pickup that nobody claimed within
    ``UNCLAIMED_ALERT_MINUTES`` alerts staff once (an email to every active staff
    member through the mail queue; the admin lists it under "needs attention").
    Rows are locked with SKIP LOCKED and re-checked: two sweeps never alert twice.
    How many were alerted."""
    now = now or timezone.now()
    ids = list(selectors.deliveries_unclaimed_unalerted(now=now).values_list("pk", flat=True))
    if not ids:
        return 0
    staff = staff_list_to_alert()
    alerted = 0
    for delivery_id in ids:
        with transaction.atomic():
            delivery = (
                Delivery.objects.select_for_update(skip_locked=True)
                .filter(selectors.unclaimed_q(now=now), pk=delivery_id, unclaimed_alert_at__isnull=True)
                .first()
            )
            if delivery is None:
                continue
            delivery.unclaimed_alert_at = now
            delivery.save(update_fields=["unclaimed_alert_at", "updated_at"])
            waited = int((now - delivery.ready_at).total_seconds() // 60)
            for person in staff:
                mail_request(
                    kind="tracking.unclaimed",
                    object_id=str(delivery.pk),
                    recipient=person.email,
                    language=person.language,
                    template="tracking/mail/unclaimed",
                    context={
                        "number": delivery.reference[:8],
                        "reference": delivery.reference,
                        "pickup_address": delivery.pickup_address,
                        "minutes": waited,
                        "admin_path": f"/admin/tracking/delivery/{delivery.pk}/change/",
                    },
                )
        alerted += 1
    if alerted:
        logger.warning("%d deliveries ready and unclaimed: staff alerted", alerted)
    return alerted


def trail_purge(*, now: datetime | None = None) -> int:
    """Beat: forget trail points older than ``LOCATION_RETENTION_DAYS``; how many."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.LOCATION_RETENTION_DAYS)
    purged = 0
    while True:
        ids = list(TrailPoint.objects.filter(recorded_at__lt=cutoff).values_list("pk", flat=True)[:PURGE_BATCH])
        if not ids:
            return purged
        purged += TrailPoint.objects.filter(pk__in=ids).delete()[0]
