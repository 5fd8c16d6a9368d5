"""Every write of payments.

The rule that shapes this module: never call the provider while holding a row
lock. Each use case records its intention in a short transaction, calls the
gateway holding nothing, then records the answer in another short transaction that
locks the payment row (``select_for_update``). All status changes go through
:func:`_move_locked`, which only moves a payment forward (see ``STATUS_RANK``), writes
the audit row and announces the event, so that whichever path learns a new state
first (our own call, a webhook, the reconcile sweep), the change and its event
happen exactly once.
"""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import F, Sum
from django.utils import timezone

from apps.payments import errors
from apps.payments.events import (
    PaymentAuthorized,
    PaymentCanceled,
    PaymentCaptured,
    PaymentFailed,
    PaymentRefunded,
)
from apps.payments.gateways import get_gateway
from apps.payments.gateways.base import (
    CANCELED,
    REQUIRES_CAPTURE,
    REQUIRES_PAYMENT_METHOD,
    SUCCEEDED,
    GatewayError,
    GatewayInvalidRequest,
    GatewayUnavailable,
    Intent,
    PaymentDeclined,
    WebhookEvent,
)
from apps.payments.models import (
    FINAL_STATUSES,
    STATUS_RANK,
    Payment,
    PaymentStatus,
    PaymentTransition,
    Refund,
    RefundStatus,
    StripeEvent,
)
from apps.payments.selectors import Checkout, payment_checkout, payment_get, payments_to_reconcile
from foodiefast.events import Event, publish
from foodiefast.idempotency import create_once, fingerprint

logger = logging.getLogger("apps.payments")

# Stripe events after which we also list the intent's refunds.
REFUND_EVENT_TYPES = frozenset({"charge.refunded", "charge.refund.updated", "refund.created", "refund.updated"})
# Stripe events whose intent we re-read; any other type is stored and ignored.
HANDLED_EVENT_TYPES = frozenset(
    {
        "payment_intent.amount_capturable_updated",
        "payment_intent.succeeded",
        "payment_intent.payment_failed",
        "payment_intent.canceled",
        "payment_intent.requires_action",
        "payment_intent.processing",
        "charge.captured",
        "charge.failed",
        *REFUND_EVENT_TYPES,
    }
)
# The reconcile sweep asks Stripe about payments older than this that still wait...
RECONCILE_AFTER = timedelta(minutes=1)
# ...but not about abandoned ones older than this (their order expired long ago).
RECONCILE_WINDOW = timedelta(days=1)
RECONCILE_BATCH = 200


# ---------------------------------------------------------------------------
# The one status logic
# ---------------------------------------------------------------------------


def _target_status(intent: Intent) -> str | None:
    """What the provider's current intent status means for our payment (None: nothing)."""
    if intent.status == REQUIRES_CAPTURE:
        return PaymentStatus.AUTHORIZED
    if intent.status == SUCCEEDED:
        return PaymentStatus.CAPTURED
    if intent.status == CANCELED:
        return PaymentStatus.CANCELED
    if intent.status == REQUIRES_PAYMENT_METHOD and (intent.failure_code or intent.failure_message):
        return PaymentStatus.FAILED
    return None  # requires_confirmation, requires_action, processing: still waiting


def _move_locked(payment: Payment, target: str, *, source: str, intent: Intent | None = None) -> bool:
    """Move a locked payment to ``target`` if that is a step forward; record the audit
    row and announce the event (after commit). Returns whether anything changed."""
    if target == payment.status or STATUS_RANK[target] <= STATUS_RANK[payment.status]:
        if target != payment.status and payment.status in FINAL_STATUSES and target in FINAL_STATUSES:
            logger.error("payment %s is %s but the provider says %s", payment.pk, payment.status, target)
        return False
    previous, now = payment.status, timezone.now()
    payment.status = target
    event: Event | None = None
    ids = {"reference": payment.reference, "payment_id": str(payment.pk)}
    if target == PaymentStatus.AUTHORIZED:
        payment.authorized_at = now
        # A dead reference's authorization is voided at once; nobody needs the news.
        if payment.cancel_requested_at is None:
            event = PaymentAuthorized(**ids, amount_cents=payment.amount_cents, currency=payment.currency)
    elif target == PaymentStatus.CAPTURED:
        received = intent.amount_received_cents if intent is not None else 0
        payment.captured_cents = min(received or payment.amount_cents, payment.amount_cents)
        payment.captured_at = now
        payment.authorized_at = payment.authorized_at or now
        event = PaymentCaptured(**ids, amount_cents=payment.captured_cents, currency=payment.currency)
    elif target == PaymentStatus.FAILED:
        payment.failure_code = intent.failure_code if intent else ""
        payment.failure_message = intent.failure_message if intent else ""
        event = PaymentFailed(**ids, failure_code=payment.failure_code)
    elif target == PaymentStatus.CANCELED:
        payment.canceled_at = now
        event = PaymentCanceled(**ids)
    payment.last_synced_at = now
    payment.save()
    PaymentTransition.objects.create(payment=payment, from_status=previous, to_status=target, source=source[:100])
    if event is not None:
        publish(event)
    logger.info("payment %s: %s -> %s (%s)", payment.pk, previous, target, source)
    return True


def _apply_intent(payment_id: uuid.UUID, intent: Intent, *, source: str) -> Payment:
    """Record what the provider said about the payment's intent. Locks the payment row."""
    with transaction.atomic():
        payment = Payment.objects.select_for_update().get(pk=payment_id)
        if payment.provider_intent_id is None:
            payment.provider_intent_id = intent.id
            payment.client_secret = intent.client_secret
            payment.save(update_fields=["provider_intent_id", "client_secret", "updated_at"])
        elif payment.provider_intent_id != intent.id:
            logger.warning(
                "payment %s: ignoring intent %s, it holds %s", payment.pk, intent.id, payment.provider_intent_id
            )
            return payment
        target = _target_status(intent)
        if target is None or not _move_locked(payment, target, source=source, intent=intent):
            Payment.objects.filter(pk=payment.pk).update(last_synced_at=timezone.now())
    return payment


def _void_if_dead(payment: Payment, *, source: str) -> Payment:
    """A payment whose reference died must not keep (or later get) a card hold:
    cancel its intent at the provider, then record the answer. Holds no lock while
    calling out."""
    if payment.cancel_requested_at is None or payment.status in FINAL_STATUSES or not payment.provider_intent_id:
        return payment
    gateway = get_gateway(payment.provider)
    try:
        intent = gateway.cancel_intent(payment.provider_intent_id, payment_id=str(payment.pk))
    except GatewayInvalidRequest:  # canceled or captured meanwhile: the provider knows which
        intent = gateway.retrieve_intent(payment.provider_intent_id)
    return _apply_intent(payment.pk, intent, source=source)


def payment_sync_from_provider(*, payment_id: uuid.UUID | str, source: str = "sync") -> Payment:
    """Re-read the payment's intent from the provider and act on its current status:
    ``requires_capture`` → authorized, ``succeeded`` → captured,
    ``requires_payment_method`` after a decline → failed (still payable),
    ``canceled`` → canceled. Duplicated, late or out-of-order news therefore ends in
    the same state, each change announced once. A payment whose reference died is
    voided at the provider. Locks the payment row only while recording. Raises
    ``PaymentProviderUnavailable`` when the provider cannot be asked."""
    payment = Payment.objects.get(pk=payment_id)
    if not payment.provider_intent_id:
        return payment
    try:
        intent = get_gateway(payment.provider).retrieve_intent(payment.provider_intent_id)
        payment = _apply_intent(payment.pk, intent, source=source)
        return _void_if_dead(payment, source=source)
    except GatewayUnavailable as exc:
        raise errors.PaymentProviderUnavailable() from exc


# ---------------------------------------------------------------------------
# Use cases
# ---------------------------------------------------------------------------


def payment_start(*, reference: str, amount_cents: int, currency: str) -> Checkout:
    """Start (or find again) the one payment for ``reference`` and return its checkout.

    The amount and currency come from the caller's own record, never from a client.
    Idempotent per reference: a replay (or a concurrent twin) gets the same payment
    and intent; another amount for the same reference raises
    ``IdempotencyKeyReused``. The row is created in its own short transaction, then
    the provider intent (manual capture, idempotency key from the payment id) is
    created holding no lock, then recorded. Call it outside any transaction. With
    the demo gateway the card is authorized at once (``PaymentAuthorized`` is
    announced). Raises ``PaymentInvalidAmount`` and ``PaymentProviderUnavailable``
    (a retry resumes with the same idempotency key).
    """
    currency = (currency or "").upper()
    if not isinstance(amount_cents, int) or amount_cents <= 0 or len(currency) != 3 or not currency.isalpha():
        raise errors.PaymentInvalidAmount()
    gateway = get_gateway()
    request_fingerprint = fingerprint({"amount_cents": amount_cents, "currency": currency})
    payment, _ = create_once(
        Payment,
        lookup={"reference": reference},
        request_fingerprint=request_fingerprint,
        create=lambda: Payment.objects.create(
            reference=reference,
            request_fingerprint=request_fingerprint,
            amount_cents=amount_cents,
            currency=currency,
            provider=gateway.name,
        ),
    )
    if payment.provider_intent_id is None and payment.cancel_requested_at is None:
        gateway = get_gateway(payment.provider)
        try:
            intent = gateway.create_intent(
                payment_id=str(payment.pk),
                reference=payment.reference,
                amount_cents=payment.amount_cents,
                currency=payment.currency,
            )
        except GatewayError as exc:
            logger.warning("payment %s: the provider did not create the intent: %r", payment.pk, exc)
            raise errors.PaymentProviderUnavailable() from exc
        payment = _apply_intent(payment.pk, intent, source="start")
        if payment.cancel_requested_at is not None:  # the reference died while we were creating the intent
            try:
                payment = _void_if_dead(payment, source="start")
            except GatewayError as exc:  # the wish is recorded: reconcile voids it
                logger.warning("payment %s: void after start failed: %r", payment.pk, exc)
    return payment_checkout(payment)


def payment_capture(*, reference: str) -> Payment:
    """Capture an authorized payment (the chef accepted). Idempotent: a captured
    payment is returned as is. Calls the provider holding no lock (idempotency key
    from the payment id), then records; announces ``PaymentCaptured`` once. Raises
    ``PaymentNotFound``, ``PaymentNotCapturable`` (not authorized, or its reference
    died), ``PaymentCaptureFailed`` (the provider refused: e.g. the hold expired) and
    ``PaymentProviderUnavailable``."""
    payment = payment_get(reference=reference)
    if payment.status == PaymentStatus.CAPTURED:
        return payment
    if payment.status != PaymentStatus.AUTHORIZED or payment.cancel_requested_at is not None:
        raise errors.PaymentNotCapturable()
    gateway = get_gateway(payment.provider)
    try:
        intent = gateway.capture_intent(payment.provider_intent_id, payment_id=str(payment.pk))
    except GatewayUnavailable as exc:
        raise errors.PaymentProviderUnavailable() from exc
    except (GatewayInvalidRequest, PaymentDeclined) as exc:
        payment = payment_sync_from_provider(payment_id=payment.pk, source="capture")
        if payment.status == PaymentStatus.CAPTURED:  # a concurrent twin captured it
            return payment
        raise errors.PaymentCaptureFailed() from exc
    return _apply_intent(payment.pk, intent, source="capture")


def payment_cancel(*, reference: str) -> Payment:
    """Say that ``reference`` is dead (order cancelled, rejected or expired before
    acceptance): void the card hold, or drop the payment before any card. Idempotent.
    The wish is recorded first (under the row lock), so an authorization that
    arrives later is voided automatically by the sync. Calls the provider holding no
    lock, then records; announces ``PaymentCanceled`` once. Raises
    ``PaymentNotFound``, ``PaymentNotCancelable`` (captured: refund instead) and
    ``PaymentProviderUnavailable`` (the wish stays recorded and reconcile voids it)."""
    with transaction.atomic():
        payment = payment_get(reference=reference, for_update=True)
        if payment.status == PaymentStatus.CANCELED:
            return payment
        if payment.status == PaymentStatus.CAPTURED:
            raise errors.PaymentNotCancelable()
        if payment.cancel_requested_at is None:
            payment.cancel_requested_at = timezone.now()
            payment.save(update_fields=["cancel_requested_at", "updated_at"])
        if not payment.provider_intent_id:
            _move_locked(payment, PaymentStatus.CANCELED, source="cancel")
            return payment
    try:
        payment = _void_if_dead(payment, source="cancel")
    except GatewayError as exc:
        raise errors.PaymentProviderUnavailable() from exc
    if payment.status == PaymentStatus.CAPTURED:  # a capture won the race: the money must be refunded
        raise errors.PaymentNotCancelable()
    return payment


def payment_refund(*, reference: str, amount_cents: int | None = None, key: str | None = None) -> Refund:
    """Refund a captured payment, in full (``amount_cents=None``: what is left) or in
    part. ``key`` names the refund: the same key is the same refund however often it
    is asked (a full refund is keyed ``"full"`` by default; a partial one without a
    key is a new refund each time); a refund the provider refused frees its key.
    Our code refuses a refund above what is left (the provider may not). The refund
    row is created under the payment row lock; the provider is called holding
    nothing (idempotency key from the refund id); success is recorded under the lock
    again and ``PaymentRefunded`` announced.
    Raises ``PaymentNotFound``, ``PaymentNotRefundable``, ``RefundExceedsCaptured``,
    ``RefundFailed`` and ``PaymentProviderUnavailable`` (the refund stays pending;
    asking again with the same key retries it safely)."""
    key = key or ("full" if amount_cents is None else uuid.uuid4().hex)
    with transaction.atomic():
        payment = payment_get(reference=reference, for_update=True)
        refund = Refund.objects.filter(payment=payment, key=key).first()
        if refund is None:
            if payment.status != PaymentStatus.CAPTURED:
                raise errors.PaymentNotRefundable()
            pending = (
                payment.refunds.filter(status=RefundStatus.PENDING).aggregate(total=Sum("amount_cents"))["total"] or 0
            )
            left = payment.captured_cents - payment.refunded_cents - pending
            amount = left if amount_cents is None else amount_cents
            if amount <= 0 or amount > left:
                raise errors.RefundExceedsCaptured(
                    f"{amount / 100:.2f} {payment.currency} cannot be refunded: "
                    f"{max(left, 0) / 100:.2f} {payment.currency} is left to refund."
                )
            refund = Refund.objects.create(payment=payment, key=key, amount_cents=amount)
    if refund.status != RefundStatus.PENDING:
        return refund
    try:
        result = get_gateway(payment.provider).refund(
            payment.provider_intent_id, refund_id=str(refund.pk), amount_cents=refund.amount_cents
        )
    except GatewayUnavailable as exc:
        raise errors.PaymentProviderUnavailable() from exc
    except GatewayError as exc:
        Refund.objects.filter(pk=refund.pk, status=RefundStatus.PENDING).update(
            status=RefundStatus.FAILED, key=_failed_key(refund), error=(exc.message or exc.code)[:255]
        )
        raise errors.RefundFailed() from exc
    return _record_refund(refund.pk, provider_refund_id=result.id, failed=result.status in ("failed", "canceled"))


def _failed_key(refund: Refund) -> str:
    """A failed refund gives its key back, so that asking again with it tries anew."""
    return f"failed-{refund.pk}"


def _record_refund(refund_id: uuid.UUID, *, provider_refund_id: str, failed: bool) -> Refund:
    with transaction.atomic():
        payment_id = Refund.objects.values_list("payment_id", flat=True).get(pk=refund_id)
        payment = Payment.objects.select_for_update().get(pk=payment_id)
        refund = Refund.objects.select_for_update().get(pk=refund_id)
        if refund.status != RefundStatus.PENDING:
            return refund
        refund.provider_refund_id = provider_refund_id
        refund.status = RefundStatus.FAILED if failed else RefundStatus.SUCCEEDED
        if failed:
            refund.key = _failed_key(refund)
        refund.save()
        if not failed:
            _add_refunded_locked(payment, refund)
    if failed:
        raise errors.RefundFailed()
    return refund


def _add_refunded_locked(payment: Payment, refund: Refund) -> None:
    """Count a succeeded refund on the locked payment and announce it (after commit)."""
    Payment.objects.filter(pk=payment.pk).update(refunded_cents=F("refunded_cents") + refund.amount_cents)
    payment.refresh_from_db()
    publish(
        PaymentRefunded(
            reference=payment.reference,
            payment_id=str(payment.pk),
            refund_id=str(refund.pk),
            amount_cents=refund.amount_cents,
            refunded_total_cents=payment.refunded_cents,
            currency=payment.currency,
        )
    )
    logger.info("payment %s: refunded %s cents (refund %s)", payment.pk, refund.amount_cents, refund.pk)


def _our_refund_id(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value) if value else None
    except ValueError:
        return None


def payment_sync_refunds(*, payment_id: uuid.UUID | str) -> list[Refund]:
    """Record the refunds the provider holds for a captured payment that we have not
    recorded: one made outside our API (the Stripe dashboard), recorded and announced
    like ours, and one of ours whose answer was never recorded (the process stopped
    right after the call). Lists the refunds holding no lock, then records each under
    the payment row lock. A refund above what is left is logged, not recorded.
    Returns the refunds recorded now. Raises ``PaymentProviderUnavailable``."""
    payment = Payment.objects.get(pk=payment_id)
    if not payment.provider_intent_id or payment.status != PaymentStatus.CAPTURED:
        return []
    try:
        found = get_gateway(payment.provider).list_refunds(payment.provider_intent_id)
    except GatewayError as exc:
        raise errors.PaymentProviderUnavailable() from exc
    recorded: list[Refund] = []
    for result in found:
        if result.status in ("failed", "canceled"):
            continue
        ours = _our_refund_id(result.our_refund_id)
        if ours is not None and Refund.objects.filter(pk=ours, payment=payment).exists():
            if Refund.objects.filter(pk=ours, status=RefundStatus.PENDING).exists():
                recorded.append(_record_refund(ours, provider_refund_id=result.id, failed=False))
            continue
        with transaction.atomic():
            locked = Payment.objects.select_for_update().get(pk=payment.pk)
            if Refund.objects.filter(provider_refund_id=result.id).exists():
                continue
            if result.amount_cents > locked.captured_cents - locked.refunded_cents:
                logger.error("payment %s: provider refund %s exceeds what is left", locked.pk, result.id)
                continue
            refund = Refund.objects.create(
                payment=locked,
                key=f"provider-{result.id}"[:100],
                amount_cents=result.amount_cents,
                status=RefundStatus.SUCCEEDED,
                provider_refund_id=result.id,
            )
            _add_refunded_locked(locked, refund)
            recorded.append(refund)
    return recorded


def payment_reconcile(*, now=None) -> int:
    """The beat sweep: ask the provider about payments still waiting for the card a
    minute after they started (a webhook can be late or lost), and about authorized
    payments whose reference died; apply the same status logic. Then finish refunds
    left pending for a minute (the answer was lost): record them if the provider
    made them, ask again with the same idempotency key if not. Returns how many
    payments and refunds changed; a second run right after changes nothing. A
    provider outage skips the item until the next run."""
    now = now or timezone.now()
    cutoff, window = now - RECONCILE_AFTER, now - RECONCILE_WINDOW
    changed = 0
    for payment in payments_to_reconcile(created_before=cutoff, created_after=window)[:RECONCILE_BATCH]:
        before = payment.status
        try:
            after = payment_sync_from_provider(payment_id=payment.pk, source="reconcile").status
        except (errors.PaymentProviderUnavailable, GatewayError) as exc:
            logger.warning("reconcile: payment %s skipped: %r", payment.pk, exc)
            continue
        changed += after != before
    pending = Refund.objects.filter(status=RefundStatus.PENDING, created_at__lte=cutoff, created_at__gte=window)
    for refund in pending.select_related("payment").order_by("created_at")[:RECONCILE_BATCH]:
        try:
            if not any(r.pk == refund.pk for r in payment_sync_refunds(payment_id=refund.payment_id)):
                payment_refund(reference=refund.payment.reference, key=refund.key)
        except (errors.PaymentProviderUnavailable, errors.RefundFailed, GatewayError) as exc:
            logger.warning("reconcile: refund %s skipped: %r", refund.pk, exc)
            continue
        changed += 1
    return changed


# ---------------------------------------------------------------------------
# Webhook events
# ---------------------------------------------------------------------------


def _intent_id_of(event: WebhookEvent) -> str:
    obj = event.object
    if obj.get("object") == "payment_intent":
        return obj.get("id") or ""
    intent = obj.get("payment_intent")
    if isinstance(intent, dict):
        return intent.get("id") or ""
    return intent or ""


def _redacted(payload: dict) -> dict:
    """The event as stored: the intent's client secret is not kept a second time."""
    obj = (payload.get("data") or {}).get("object")
    if isinstance(obj, dict) and obj.get("client_secret"):
        obj["client_secret"] = "[redacted]"  # noqa: S105 - a placeholder, not a secret
    return payload


def stripe_event_record(*, event: WebhookEvent) -> tuple[StripeEvent, bool]:
    """Store a verified event once (unique on its Stripe id) and enqueue its
    processing after commit; ``(row, created)``. A duplicate, even a concurrent one,
    is found and nothing is enqueued again. A type we do not act on is stored as
    processed ("ignored")."""
    handled = event.type in HANDLED_EVENT_TYPES
    try:
        with transaction.atomic():
            row = StripeEvent.objects.create(
                stripe_id=event.id,
                type=event.type,
                payload=_redacted(event.payload),
                intent_id=_intent_id_of(event)[:255],
                processed_at=None if handled else timezone.now(),
                outcome="" if handled else "ignored: type not handled",
            )
            if handled:
                from apps.payments.tasks import process_stripe_event_task

                process_stripe_event_task.delay_on_commit(row.pk)
    except IntegrityError:
        return StripeEvent.objects.get(stripe_id=event.id), False
    return row, True


class PaymentNotYetRecorded(Exception):
    """An event came before our own start recorded its intent: retried later."""


def _process(row: StripeEvent) -> tuple[str, Payment | None]:
    if row.type not in HANDLED_EVENT_TYPES:
        return "ignored: type not handled", None
    payment = Payment.objects.filter(provider_intent_id=row.intent_id).first() if row.intent_id else None
    if payment is None:
        obj = (row.payload.get("data") or {}).get("object") or {}
        reference = (obj.get("metadata") or {}).get("reference")
        payment = Payment.objects.filter(reference=reference).first() if reference else None
        if payment is None:
            return "ignored: no payment for this intent", None
        if payment.provider_intent_id is None:
            raise PaymentNotYetRecorded(f"payment {payment.pk} has not recorded intent {row.intent_id} yet")
        if payment.provider_intent_id != row.intent_id:
            return "ignored: not the payment's intent", payment
    before = payment.status
    payment = payment_sync_from_provider(payment_id=payment.pk, source=f"webhook {row.stripe_id}")
    outcome = f"{before} -> {payment.status}" if payment.status != before else "no change"
    if row.type in REFUND_EVENT_TYPES:
        outcome += f", {len(payment_sync_refunds(payment_id=payment.pk))} refund(s) recorded"
    return outcome, payment


def stripe_event_process(*, event_pk: int, force: bool = False) -> str:
    """Process a stored event: find its payment and sync it from the provider (the
    event's own content is only a hint, so order and repetition do not matter).
    Counts the attempt; a failure is recorded (``error``) and re-raised for the
    task to retry with backoff. ``force`` re-runs an already processed event
    (``replay_stripe_event``). Returns the outcome."""
    row = StripeEvent.objects.filter(pk=event_pk).first()
    if row is None:
        return "missing"
    if row.processed_at is not None and not force:
        return row.outcome
    StripeEvent.objects.filter(pk=row.pk).update(attempts=F("attempts") + 1)
    try:
        outcome, payment = _process(row)
    except Exception as exc:
        StripeEvent.objects.filter(pk=row.pk).update(error=f"{type(exc).__name__}: {exc}"[:2000])
        raise
    StripeEvent.objects.filter(pk=row.pk).update(
        processed_at=timezone.now(), outcome=outcome[:100], payment=payment, error=""
    )
    return outcome
