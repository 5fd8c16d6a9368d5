"""The one status logic: what the provider's intent says, recorded once.

All status changes go through :func:`_move_locked`, which only moves a payment
forward (see ``STATUS_RANK``), writes the audit row and announces the event, so that
whichever path learns a new state first (our own call, a webhook, the reconcile
sweep), the change and its event happen exactly once. The provider is never called
while a row is locked.
"""

from __future__ import annotations

import logging
import uuid

from django.db import transaction
from django.utils import timezone

from apps.payments import errors
from apps.payments.events import PaymentAuthorized, PaymentCanceled, PaymentCaptured, PaymentFailed
from apps.payments.gateways import get_gateway
from apps.payments.gateways.base import (
    CANCELED,
    REQUIRES_CAPTURE,
    REQUIRES_PAYMENT_METHOD,
    SUCCEEDED,
    GatewayInvalidRequest,
    GatewayUnavailable,
    Intent,
)
from apps.payments.models import FINAL_STATUSES, STATUS_RANK, Payment, PaymentStatus, PaymentTransition
from apps.payments.selectors import PAYMENT_FAILURES
from foodiefast.events import Event, publish
from foodiefast.rows import get_by_pk, insert, update
from foodiefast.tally import tally_add

logger = logging.getLogger("apps.payments")


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
        tally_add(PAYMENT_FAILURES, payment.failure_code[:40] or "unknown")
    elif target == PaymentStatus.CANCELED:
        payment.canceled_at = now
        event = PaymentCanceled(**ids)
    payment.last_synced_at = now
    # Plain statements (foodiefast.rows): what save() and create() would write.
    update(payment)
    insert(PaymentTransition(payment=payment, from_status=previous, to_status=target, source=source[:100]))
    if event is not None:
        publish(event)
    logger.info("payment %s: %s -> %s (%s)", payment.pk, previous, target, source)
    return True


def _apply_intent(payment_id: uuid.UUID, intent: Intent, *, source: str) -> Payment:
    """Record what the provider said about the payment's intent. Locks the payment row."""
    with transaction.atomic():
        payment = get_by_pk(Payment, payment_id, for_update=True)  # plain SQL: see foodiefast.rows
        new_intent = payment.provider_intent_id is None
        if new_intent:  # written below, with the move or the sync time (one UPDATE)
            payment.provider_intent_id = intent.id
            payment.client_secret = intent.client_secret
        elif payment.provider_intent_id != intent.id:
            logger.warning(
                "payment %s: ignoring intent %s, it holds %s", payment.pk, intent.id, payment.provider_intent_id
            )
            return payment
        target = _target_status(intent)
        if target is None or not _move_locked(payment, target, source=source, intent=intent):
            payment.last_synced_at = timezone.now()
            fields = ["provider_intent_id", "client_secret", "updated_at"] if new_intent else []
            update(payment, [*fields, "last_synced_at"])
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
