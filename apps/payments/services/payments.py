"""Payment use cases: start, capture, cancel, and the reconcile sweep.

Each records its intention in a short transaction, calls the gateway holding
nothing, then records the answer through the one status logic (``status.py``).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from apps.payments import errors
from apps.payments.gateways import get_gateway
from apps.payments.gateways.base import GatewayError, GatewayInvalidRequest, GatewayUnavailable, PaymentDeclined
from apps.payments.models import Payment, PaymentStatus, Refund, RefundStatus
from apps.payments.selectors import Checkout, payment_checkout, payment_get, payments_to_reconcile
from apps.payments.services.refunds import payment_refund, payment_sync_refunds
from apps.payments.services.status import _apply_intent, _move_locked, _void_if_dead, payment_sync_from_provider
from foodiefast.idempotency import IdempotencyKeyReused, create_once, fingerprint
from foodiefast.rows import insert

logger = logging.getLogger("apps.payments")

# The reconcile sweep asks Stripe about payments older than this that still wait...
RECONCILE_AFTER = timedelta(minutes=1)
# ...but not about abandoned ones older than this (their order expired long ago).
RECONCILE_WINDOW = timedelta(days=1)
RECONCILE_BATCH = 200


def _checked(amount_cents: int, currency: str) -> str:
    """The currency, upper case; ``PaymentInvalidAmount`` for a bad amount or currency."""
    currency = (currency or "").upper()
    if not isinstance(amount_cents, int) or amount_cents <= 0 or len(currency) != 3 or not currency.isalpha():
        raise errors.PaymentInvalidAmount()
    return currency


def _new_payment(*, reference: str, request_fingerprint: str, amount_cents: int, currency: str) -> Payment:
    payment = Payment(
        reference=reference,
        request_fingerprint=request_fingerprint,
        amount_cents=amount_cents,
        currency=currency,
        provider=get_gateway().name,
    )
    insert(payment)  # plain SQL (foodiefast.rows): what create() would write
    return payment


def payment_open(*, reference: str, amount_cents: int, currency: str) -> Payment:
    """The payment row of a new ``reference``, written in the caller's transaction, so
    that it exists exactly when the caller's own record does (checkout writes it with
    the order); :func:`payment_start` with ``opened=`` then creates its intent after
    commit. A reference that has a payment already is a unique violation
    (``IntegrityError``): use :func:`payment_start` alone for those. Raises
    ``PaymentInvalidAmount``."""
    currency = _checked(amount_cents, currency)
    request_fingerprint = fingerprint({"amount_cents": amount_cents, "currency": currency})
    return _new_payment(
        reference=reference, request_fingerprint=request_fingerprint, amount_cents=amount_cents, currency=currency
    )


def payment_start(*, reference: str, amount_cents: int, currency: str, opened: Payment | None = None) -> Checkout:
    """Start (or find again) the one payment for ``reference`` and return its checkout.

    The amount and currency come from the caller's own record, never from a client.
    Idempotent per reference: a replay (or a concurrent twin) gets the same payment
    and intent; another amount for the same reference raises
    ``IdempotencyKeyReused``. The row is created in its own short transaction (or was,
    ``opened``, by :func:`payment_open` in the caller's committed one), then the
    provider intent (manual capture, idempotency key from the payment id) is created
    holding no lock, then recorded. Call it outside any transaction. With the demo
    gateway the card is authorized at once (``PaymentAuthorized`` is announced).
    Raises ``PaymentInvalidAmount`` and ``PaymentProviderUnavailable`` (a retry
    resumes with the same idempotency key).
    """
    currency = _checked(amount_cents, currency)
    request_fingerprint = fingerprint({"amount_cents": amount_cents, "currency": currency})
    if opened is not None:
        if opened.reference != reference or opened.request_fingerprint != request_fingerprint:
            raise IdempotencyKeyReused()
        payment = opened
    else:
        payment, _ = create_once(
            Payment,
            lookup={"reference": reference},
            request_fingerprint=request_fingerprint,
            create=lambda: _new_payment(
                reference=reference,
                request_fingerprint=request_fingerprint,
                amount_cents=amount_cents,
                currency=currency,
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
