"""The order emails of the API contract, written against a plain context.

The orders app builds an :class:`OrderMail` from its order (lines as snapshotted at
checkout) and calls :func:`send_order_mail` from its event handlers, in their
transaction; nothing here needs the order model. The templates live in
``foodiefast/templates/mail/orders/<kind>.<language>.{subject.txt,txt,html}``;
allergen codes are named by menus' ``allergen_names`` filter, amounts, rates and
times by the kernel's ``mailformat`` filters, all in the recipient's language.

=================  =========  ============================================================
kind               to         says
=================  =========  ============================================================
``paid``           customer   the receipt: lines with their allergens, fees, tip, total,
                              VAT included with the split per rate
``accepted``       customer   the chef accepted; ETA in minutes
``picked_up``      customer   the courier has the order
``delivered``      customer   delivered
``cancelled``      customer   the reason, and the money: authorization released, refunded
``chef_new_order`` chef       a new paid order to accept by HH:MM (Europe/Paris), its lines,
                              allergens and the delivery instructions
=================  =========  ============================================================
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
from decimal import Decimal
from typing import Any, Protocol

from foodiefast.formatting import vat_split
from foodiefast.mail import mail_request
from foodiefast.models import MailMessage

# VAT included in the platform's fees (delivery and service); a tip carries none.
FEE_VAT_RATE = Decimal("20")


class OrderMailKind(enum.StrEnum):
    PAID = "paid"
    ACCEPTED = "accepted"
    PICKED_UP = "picked_up"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"
    CHEF_NEW_ORDER = "chef_new_order"


class MoneyOutcome(enum.StrEnum):
    """What became of the customer's money when an order was cancelled."""

    RELEASED = "released"  # the card authorization was voided: nothing was charged
    REFUNDED = "refunded"  # a captured payment was refunded
    NOT_CHARGED = "not_charged"  # the order was never paid


class Recipient(Protocol):
    """Who gets the mail: an account (``email``, ``language``: ``fr`` or ``en``)."""

    email: str
    language: str


@dataclasses.dataclass(frozen=True)
class OrderMailLine:
    name: str
    quantity: int
    unit_price_cents: int
    line_total_cents: int
    allergens: list[str]  # EU codes, as the line snapshotted them
    vat_rate: Decimal | str | int  # percent, VAT included in line_total_cents


@dataclasses.dataclass(frozen=True)
class OrderMail:
    """What every order mail may show. Amounts in cents, VAT included. The fields a
    kind does not use may stay at their defaults: ``eta_minutes`` (accepted),
    ``accept_by`` (chef_new_order, an aware datetime), ``reason`` and
    ``money_outcome`` (cancelled), ``instructions`` (chef_new_order)."""

    order_id: str
    number: str  # the short reference people read and quote
    kitchen_name: str
    customer_first_name: str
    lines: list[OrderMailLine]
    subtotal_cents: int
    delivery_fee_cents: int
    service_fee_cents: int
    tip_cents: int
    total_cents: int
    currency: str = "EUR"
    eta_minutes: int | None = None
    accept_by: dt.datetime | None = None
    reason: str = ""
    money_outcome: MoneyOutcome | None = None
    instructions: str = ""


def order_mail_context(mail: OrderMail) -> dict[str, Any]:
    """The templates' context: the mail's fields as plain JSON, plus the VAT split
    (food at each line's rate, the delivery and service fees at 20 %, no VAT on
    the tip) and the VAT in total."""
    split = vat_split(
        [(line.vat_rate, line.line_total_cents) for line in mail.lines]
        + [(FEE_VAT_RATE, mail.delivery_fee_cents), (FEE_VAT_RATE, mail.service_fee_cents)]
    )
    context = dataclasses.asdict(mail)
    context.update(
        order_id=str(mail.order_id),
        accept_by=mail.accept_by.isoformat() if mail.accept_by else None,
        money_outcome=str(mail.money_outcome) if mail.money_outcome else None,
        lines=[{**line, "vat_rate": str(line["vat_rate"])} for line in context["lines"]],
        vat=[{"rate": str(s.rate), "total_cents": s.total_cents, "vat_cents": s.vat_cents} for s in split],
        vat_total_cents=sum(s.vat_cents for s in split),
    )
    return context


def order_mail_template(kind: OrderMailKind | str) -> str:
    return f"mail/orders/{OrderMailKind(kind)}"


def send_order_mail(*, kind: OrderMailKind | str, context: OrderMail, recipient: Recipient) -> MailMessage:
    """Owe ``recipient`` the ``kind`` mail about the order, in their language; sent by
    the worker after the caller's transaction commits (:func:`foodiefast.mail.mail_request`).
    Once per order, kind and recipient: a handler run twice sends one mail."""
    kind = OrderMailKind(kind)
    return mail_request(
        kind=f"orders.{kind}",
        object_id=str(context.order_id),
        recipient=recipient.email,
        language=recipient.language,
        template=order_mail_template(kind),
        context=order_mail_context(context),
    )
