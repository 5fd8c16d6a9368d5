"""The order emails of the API contract, asked for in the transaction that moves the
order (:func:`order_notify_locked`, called by :func:`~.status.order_move_locked`).

The kernel's mail queue (:func:`foodiefast.mail.mail_request`) writes one row per
``(kind, order, recipient)`` and the worker sends it after commit: never in the
request, never twice for one move (a redelivered event finds the order already moved
and asks nothing; were it to ask, the row exists). Templates are
``orders/mail/<kind>.<fr|en>.{subject.txt,txt,html}`` in this app; the context is
plain JSON, written in the recipient's language where words come from data
(allergen names, the reason of a cancellation), and formatted by the kernel's
``mailformat`` filters when the worker renders it.

=================  =========  ============================================================
kind               to         when, and what it says
=================  =========  ============================================================
``paid``           customer   paid (authorized): the receipt, lines with their allergens
                              by full name, fees, tip, total, VAT included per rate
``chef_new_order`` chef       the same move: accept by HH:MM (Europe/Paris), the lines,
                              allergens, the customer's first name and instructions
``accepted``       customer   accepted: the ETA (prep minutes + the courier's ride)
``picked_up``      customer   a courier has it
``delivered``      customer   delivered
``cancelled``      customer   the reason, and the money: authorization voided, refunded,
                              or nothing was charged
``refunded``       customer   staff refunded (part of) a picked-up or delivered order:
                              how much, why, when it shows (once per refund)
=================  =========  ============================================================

An anonymised order (its customer erased the account) mails its customer nothing.
"""

from __future__ import annotations

import enum
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import prefetch_related_objects

from apps.accounts.models import User
from apps.menus.models import allergen_names
from apps.orders.models import Actor, MoneyOutcome, Order, OrderRefund, OrderStatus
from foodiefast.formatting import DEFAULT_LANGUAGE, LOCALES
from foodiefast.geo import Point, haversine_km, travel_minutes
from foodiefast.mail import mail_request

S = OrderStatus


class OrderMailKind(enum.StrEnum):
    PAID = "paid"
    CHEF_NEW_ORDER = "chef_new_order"
    ACCEPTED = "accepted"
    PICKED_UP = "picked_up"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"
    REFUNDED = "refunded"


K = OrderMailKind
# What each move owes the customer; a paid order also tells the chef.
CUSTOMER_MAIL: dict[str, OrderMailKind] = {
    S.PAID: K.PAID,
    S.ACCEPTED: K.ACCEPTED,
    S.PICKED_UP: K.PICKED_UP,
    S.DELIVERED: K.DELIVERED,
    S.CANCELLED: K.CANCELLED,
}

# Why an order was cancelled, in the customer's words, when no person wrote it (a chef
# rejecting or staff cancelling give their own reason, shown as written).
_REASONS: dict[tuple[str, str], dict[str, str]] = {
    (Actor.CUSTOMER, ""): {"fr": "vous l’avez annulée.", "en": "you cancelled it."},  # noqa: RUF001
    (Actor.SYSTEM, MoneyOutcome.NONE): {
        "fr": "le paiement n’a pas été fait à temps.",  # noqa: RUF001
        "en": "the payment was not made in time.",
    },
    (Actor.SYSTEM, MoneyOutcome.VOIDED): {
        "fr": "la cuisine ne l’a pas acceptée à temps.",  # noqa: RUF001
        "en": "the kitchen did not accept it in time.",
    },
    (Actor.PAYMENT, ""): {
        "fr": "le paiement n’a pas pu être encaissé.",  # noqa: RUF001
        "en": "the payment could not be captured.",
    },
}


def order_eta_minutes(order: Order) -> int:
    """Minutes from acceptance to the door: the chef's prep time plus the courier's
    ride from the kitchen to the drop-off at ``COURIER_SPEED_KMH``."""
    kitchen = order.kitchen
    prep = order.prep_minutes or kitchen.prep_minutes
    if kitchen.lat is None or kitchen.lng is None:
        return prep
    ride = haversine_km(Point(kitchen.lat, kitchen.lng), Point(order.delivery_lat, order.delivery_lng))
    return prep + travel_minutes(ride, settings.COURIER_SPEED_KMH)


def _language(person: User) -> str:
    return person.language if person.language in LOCALES else DEFAULT_LANGUAGE


def _reason(order: Order, language: str) -> str:
    known = _REASONS.get((order.cancelled_by, "")) or _REASONS.get((order.cancelled_by, order.money_outcome))
    return known[language] if known else order.cancellation_reason


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def order_mail_context(order: Order, *, language: str, at: datetime) -> dict[str, Any]:
    """Everything an order mail may show, as plain JSON in ``language``: amounts in
    cents (VAT included), the VAT split per rate (:meth:`Order.vat_split`), times as
    ISO 8601. ``at`` is the moment of the move (the ETA counts from it)."""
    vat = [
        {"rate": str(share["rate"]), "total_cents": share["amount_cents"], "vat_cents": share["vat_cents"]}
        for share in order.vat_split()
    ]
    eta = order_eta_minutes(order) if order.status == S.ACCEPTED else None
    return {
        "order_id": str(order.pk),
        "number": order.number,
        "kitchen_name": order.kitchen.display_name,
        "customer_first_name": order.first_name,
        "lines": [
            {
                "name": line.name,
                "quantity": line.quantity,
                "unit_price_cents": line.unit_price_cents,
                "line_total_cents": line.line_total_cents,
                "allergen_names": allergen_names(line.allergens, language=language),
                "vat_rate": str(line.vat_rate),
            }
            for line in order.lines.all()
        ],
        "subtotal_cents": order.subtotal_cents,
        "delivery_fee_cents": order.delivery_fee_cents,
        "service_fee_cents": order.service_fee_cents,
        "tip_cents": order.tip_cents,
        "total_cents": order.total_cents,
        "currency": order.currency,
        "vat": vat,
        "vat_total_cents": sum(share["vat_cents"] for share in vat),
        "accept_by": _iso(order.accept_by),
        "eta_minutes": eta,
        "eta_at": _iso(at + timedelta(minutes=eta)) if eta is not None else None,
        "reason": _reason(order, language) if order.status == S.CANCELLED else "",
        "money_outcome": order.money_outcome or None,
        "instructions": order.delivery_instructions,
    }


def send_order_mail(
    *,
    order: Order,
    kind: OrderMailKind | str,
    recipient: User,
    at: datetime,
    object_id: str | None = None,
    extra: dict[str, Any] | None = None,
) -> None:
    """Owe ``recipient`` the ``kind`` mail about ``order`` in their language, in the
    caller's transaction; once per kind, ``object_id`` (the order's id by default)
    and recipient. ``extra`` adds to the order's context."""
    kind = OrderMailKind(kind)
    language = _language(recipient)
    mail_request(
        kind=f"orders.{kind}",
        object_id=object_id or str(order.pk),
        recipient=recipient.email,
        language=language,
        template=f"orders/mail/{kind}",
        context={**order_mail_context(order, language=language, at=at), **(extra or {})},
    )


def _customer_reachable(order: Order) -> bool:
    return order.anonymised_at is None and order.customer.deleted_at is None


def order_notify_locked(order: Order, *, at: datetime) -> None:
    """The mail the move ``order`` just made owes: the customer's (unless the order
    is anonymised or the account erased) and, for a new paid order, the chef's."""
    kind = CUSTOMER_MAIL.get(order.status)
    if kind is None:
        return
    prefetch_related_objects([order], "lines")  # read once for the context and the VAT split
    if _customer_reachable(order):
        send_order_mail(order=order, kind=kind, recipient=order.customer, at=at)
    chef = order.kitchen.chef
    if kind == K.PAID and chef.deleted_at is None:
        send_order_mail(order=order, kind=K.CHEF_NEW_ORDER, recipient=chef, at=at)


def order_notify_refund_locked(order: Order, refund: OrderRefund, *, at: datetime) -> None:
    """The customer's mail for a refund that succeeded (once per refund): the amount,
    the reason as staff wrote it, and whether it is the whole order."""
    if not _customer_reachable(order):
        return
    prefetch_related_objects([order], "lines")
    extra = {
        "refund_cents": refund.refunded_cents,
        "refund_reason": refund.reason,
        "refund_is_total": refund.refunded_cents >= order.total_cents,
    }
    send_order_mail(
        order=order, kind=K.REFUNDED, recipient=order.customer, at=at, object_id=str(refund.pk), extra=extra
    )
