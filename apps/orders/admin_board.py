"""The order board in the admin: the kitchen's orders of the day by status, for a
home chef working from it during service, refreshing by itself.

A chef sees and works only their own kitchen's orders (another kitchen's order is
not found); staff see every kitchen's board, one kitchen at a time if they choose,
without acting for the chef. Accept, reject and ready call the same services as
the chef API; their domain errors show as admin messages.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from apps.accounts.admin_site import is_kitchen_chef
from apps.chefs.models import Kitchen
from apps.menus.models import allergen_names
from apps.orders import selectors, services
from apps.orders.errors import OrderNotFound
from apps.orders.models import Order, OrderStatus
from foodiefast.errors import DomainError

S = OrderStatus
REFRESH_SECONDS = 10
# The board's columns, in the order of the kitchen's work.
COLUMNS: tuple[tuple[str, str, frozenset[str]], ...] = (
    ("to-accept", gettext_lazy("To accept"), frozenset({S.PAID})),
    ("cooking", gettext_lazy("Cooking"), frozenset({S.ACCEPTED})),
    ("ready", gettext_lazy("Ready for pickup"), frozenset({S.READY_FOR_PICKUP})),
    ("done", gettext_lazy("Picked up, delivered, cancelled today"), frozenset({S.PICKED_UP, S.DELIVERED, S.CANCELLED})),
)


class AcceptForm(forms.Form):
    prep_minutes = forms.IntegerField(
        label=gettext_lazy("preparation time (minutes)"), min_value=1, max_value=240, required=False
    )


class RejectForm(forms.Form):
    reason = forms.CharField(label=gettext_lazy("reason"), max_length=500, strip=True)


@dataclass
class Card:
    """An order as the board shows it: no address, phone or payment."""

    order: Order
    short_id: str
    placed_at: dt.datetime
    first_name: str
    instructions: str
    lines: list[dict]
    prep_minutes: int
    accept_by: dt.datetime | None = None
    ready_by: dt.datetime | None = None
    kitchen_name: str = ""


@dataclass
class Column:
    slug: str
    title: str
    cards: list[Card] = field(default_factory=list)


def _paris(moment: dt.datetime | None) -> dt.datetime | None:
    return timezone.localtime(moment, ZoneInfo(settings.LOCAL_TIME_ZONE)) if moment else None


def _card(order: Order, language: str) -> Card:
    prep = order.prep_minutes or order.kitchen.prep_minutes
    ready_by = order.accepted_at + dt.timedelta(minutes=prep) if order.accepted_at and order.prep_minutes else None
    return Card(
        order=order,
        short_id=order.number,
        placed_at=_paris(order.created_at),
        first_name=order.first_name,
        instructions=order.delivery_instructions,
        lines=[
            {
                "quantity": line.quantity,
                "name": line.name,
                "allergens": allergen_names(list(line.allergens), language=language),
            }
            for line in order.lines.all()
        ],
        prep_minutes=prep,
        accept_by=_paris(order.accept_by) if order.status == S.PAID else None,
        ready_by=_paris(ready_by),
        kitchen_name=order.kitchen.display_name,
    )


def _kitchen_filter(request: HttpRequest) -> Kitchen | None:
    wanted = request.GET.get("kitchen") or ""
    if is_kitchen_chef(request.user) or not wanted:
        return None
    kitchen = Kitchen.objects.filter(pk=wanted).first() if _is_uuid(wanted) else None
    if kitchen is None:
        raise Http404(_("No such kitchen."))
    return kitchen


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _board_context(request: HttpRequest) -> dict:
    chef = request.user if is_kitchen_chef(request.user) else None
    if chef is None and not request.user.is_staff:
        raise PermissionDenied
    kitchen = _kitchen_filter(request)
    orders = selectors.order_board(chef=chef, kitchen_id=kitchen.pk if kitchen else None)
    language = get_language() or "en"
    columns = [Column(slug, title) for slug, title, _statuses in COLUMNS]
    for order in orders:
        for column, (_slug, _title, statuses) in zip(columns, COLUMNS, strict=True):
            if order.status in statuses:
                column.cards.append(_card(order, language))
    query = f"?kitchen={kitchen.pk}" if kitchen else ""
    return {
        "columns": columns,
        "may_act": chef is not None,
        "show_kitchen": chef is None and kitchen is None,
        "kitchen": kitchen,
        "query": query,
        "updated_at": _paris(timezone.now()),
        "time_zone": settings.LOCAL_TIME_ZONE,
    }


@require_GET
def board_view(request: HttpRequest) -> HttpResponse:
    context = {**admin.site.each_context(request), **_board_context(request)}
    kitchen = context["kitchen"]
    context["title"] = (
        _("Order board: %(kitchen)s") % {"kitchen": kitchen.display_name} if kitchen else _("Order board")
    )
    context["refresh_seconds"] = REFRESH_SECONDS
    context["fragment_url"] = reverse("admin:orders_board_fragment") + context["query"]
    if not is_kitchen_chef(request.user):
        context["kitchens"] = Kitchen.objects.order_by("display_name").only("id", "display_name")
    return TemplateResponse(request, "admin/orders/board.html", context)


@require_GET
def board_fragment_view(request: HttpRequest) -> HttpResponse:
    """The board's columns alone, which its script fetches every few seconds."""
    response = TemplateResponse(request, "admin/orders/board_columns.html", _board_context(request))
    response["Cache-Control"] = "no-store"
    return response


def _act(request: HttpRequest, order_id, action, form_class: type[forms.Form] | None = None) -> HttpResponse:
    """Run ``action(chef, data)`` for the chef's own order with the POSTed form's
    cleaned data; a form error or a domain error becomes a message on the board."""
    if not is_kitchen_chef(request.user):
        raise PermissionDenied(_("Only the kitchen's chef works its orders."))
    short = str(order_id)[:8]
    form = form_class(request.POST) if form_class else None
    if form is not None and not form.is_valid():
        problems = "; ".join(f"{form.fields[name].label}: {' '.join(errors)}" for name, errors in form.errors.items())
        messages.error(request, _("Order %(order)s: %(message)s") % {"order": short, "message": problems})
        return HttpResponseRedirect(reverse("admin:orders_board"))
    try:
        done = action(request.user, form.cleaned_data if form else {})
    except OrderNotFound as exc:
        raise Http404(_("No such order in your kitchen.")) from exc
    except DomainError as exc:
        messages.error(request, _("Order %(order)s: %(message)s") % {"order": short, "message": exc.detail})
    else:
        messages.success(request, _("Order %(order)s: %(message)s") % {"order": short, "message": done})
    return HttpResponseRedirect(reverse("admin:orders_board"))


def _accept(chef, order_id, data) -> str:
    order = services.order_accept(chef=chef, order_id=order_id, prep_minutes=data["prep_minutes"])
    return _("accepted, ready in %(minutes)d min.") % {"minutes": order.prep_minutes}


def _reject(chef, order_id, data) -> str:
    services.order_reject(chef=chef, order_id=order_id, reason=data["reason"])
    return _("rejected, the card hold is released.")


def _ready(chef, order_id, data) -> str:
    services.order_mark_ready(chef=chef, order_id=order_id)
    return _("ready for pickup.")


# The board's buttons: their route, their form, the service they call.
ACTIONS = {"accept": (_accept, AcceptForm), "reject": (_reject, RejectForm), "ready": (_ready, None)}


@require_POST
def action_view(request: HttpRequest, order_id, name: str) -> HttpResponse:
    run, form_class = ACTIONS[name]
    return _act(request, order_id, lambda chef, data: run(chef, order_id, data), form_class)


def board_visible(request: HttpRequest) -> bool:
    return is_kitchen_chef(request.user) or bool(request.user.is_staff)


URLS = [
    path("orders/board/", board_view, name="orders_board"),
    path("orders/board/fragment/", board_fragment_view, name="orders_board_fragment"),
    *(
        path(f"orders/board/<uuid:order_id>/{name}/", action_view, {"name": name}, name=f"orders_board_{name}")
        for name in ACTIONS
    ),
]
