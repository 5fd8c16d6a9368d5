"""Refunds: ours (keyed, never above what is left) and the provider's own (dashboard)."""

from __future__ import annotations

import logging
import uuid

from django.db import transaction
from django.db.models import F, Sum

from apps.payments import errors
from apps.payments.events import PaymentRefunded
from apps.payments.gateways import get_gateway
from apps.payments.gateways.base import GatewayError, GatewayUnavailable, RefundResult
from apps.payments.models import Payment, PaymentStatus, Refund, RefundStatus
from apps.payments.selectors import payment_get
from foodiefast.events import publish

logger = logging.getLogger("apps.payments")


def payment_refund(*, reference: str, amount_cents: int | None = None, key: str | None = None) -> Refund:
    """Refund a captured payment, in full (``amount_cents=None``: what is left) or in
    part. ``key`` names the refund: the same key is the same refund however often it
    is asked (a full refund is keyed ``"full"`` by default; a partial one without a
    key is a new refund each time); a refund the provider refused frees its key.
    Our code refuses a refund above what is left (the provider may not). The refund
    row is created under the payment row lock; the provider is called holding
    nothing (idempotency key from the refund id); success is recorded under the lock
    again and ``PaymentRefunded`` announced. A pending refund asked again (a retry, a
    redelivered task after a worker was killed mid-call) is first looked for at the
    provider by its id, so a refund the provider made is recorded, never made twice.
    Raises ``PaymentNotFound``, ``PaymentNotRefundable``, ``RefundExceedsCaptured``,
    ``RefundFailed`` and ``PaymentProviderUnavailable`` (the refund stays pending;
    asking again with the same key retries it safely)."""
    key = key or ("full" if amount_cents is None else uuid.uuid4().hex)
    with transaction.atomic():
        payment = payment_get(reference=reference, for_update=True)
        refund = Refund.objects.filter(payment=payment, key=key).first()
        asked_before = refund is not None
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
    if asked_before and (made := _made_at_provider(payment, refund)) is not None:
        return _record_refund(refund.pk, provider_refund_id=made.id, failed=made.status in ("failed", "canceled"))
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


def _made_at_provider(payment: Payment, refund: Refund) -> RefundResult | None:
    """The provider's refund made for our pending ``refund`` by an earlier call whose
    answer was never recorded (the worker was killed, the answer lost), or None. Asked
    before calling again: the idempotency key would make the same refund at Stripe, but
    only for 24 hours, and not every provider (nor localstripe) keeps keys."""
    try:
        found = get_gateway(payment.provider).list_refunds(payment.provider_intent_id)
    except GatewayUnavailable as exc:
        raise errors.PaymentProviderUnavailable() from exc
    return next((made for made in found if _our_refund_id(made.our_refund_id) == refund.pk), None)


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
