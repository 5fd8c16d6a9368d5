"""Kitchens in the admin: staff see and approve every kitchen; a chef sees and edits
only their own (with its opening hours inline), by role, with no permission rows.

The forms check with the services' rules and the saves go through the services, so
the admin and the chef API refuse and write the same things."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.utils.dates import WEEKDAYS
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from apps.accounts.admin_site import (
    ChefOwnedAdminMixin,
    add_domain_error,
    adopt_saved,
    https_formfield,
    is_kitchen_chef,
)
from apps.chefs.errors import KitchenIncomplete, OpeningHoursInvalid
from apps.chefs.models import Kitchen, OpeningHours, format_minute
from apps.chefs.services import (
    KITCHEN_EDITABLE_FIELDS,
    Slot,
    kitchen_approve,
    kitchen_ensure_for_chef,
    kitchen_location_check,
    kitchen_update,
    opening_hours_check,
    opening_hours_replace,
    opening_slot_parse,
)
from foodiefast.admin_fields import admin_names
from foodiefast.errors import DomainError
from foodiefast.photo_admin import PhotoAdminMixin

admin_names(
    Kitchen,
    singular=_("kitchen"),
    plural=_("kitchens"),
    fields={
        "chef": _("chef"),
        "display_name": _("kitchen name"),
        "bio": _("about the kitchen"),
        "cuisine": _("cuisine"),
        "address": _("address"),
        "lat": _("latitude"),
        "lng": _("longitude"),
        "delivery_radius_km": _("delivery radius (km)"),
        "delivery_fee_cents": _("delivery fee"),
        "prep_minutes": _("preparation time (minutes)"),
        "is_paused": _("paused"),
        "minimum_order_cents": _("minimum order"),
        "max_open_orders": _("open orders at most"),
        "is_approved": _("approved"),
        "approved_at": _("approved at"),
        "approved_by": _("approved by"),
        "rating": _("rating"),
        "rating_count": _("reviews"),
        "created_at": _("created at"),
    },
)
admin_names(
    OpeningHours,
    singular=_("opening hours"),
    plural=_("opening hours"),
    fields={"weekday": _("day")},
)

# What each field means and in which unit, in the reader's language.
KITCHEN_FIELD_OPTIONS = {
    "address": {"help_text": _("Where the courier picks the orders up (street, postcode, city).")},
    "lat": {
        "help_text": _(
            "Latitude of the kitchen, in degrees north (48.8566 for the Hôtel de Ville in Paris). "
            "To find it, open the address in a map (OpenStreetMap, Google Maps) and right-click "
            "the door: the map shows two numbers, this is the first."
        )
    },
    "lng": {
        "help_text": _(
            "Longitude of the kitchen, in degrees east (2.3522 for the Hôtel de Ville in Paris): "
            "the second of the two numbers the map shows."
        )
    },
    "delivery_radius_km": {
        "help_text": _("How far from the kitchen you deliver, in kilometres, as the crow flies (0.1 to 30 km).")
    },
    "delivery_fee_cents": {"help_text": _("Paid by the customer on each order, in euros, VAT included.")},
    "prep_minutes": {"help_text": _("Your usual time from accepting an order to handing it over (1 to 240 minutes).")},
    "minimum_order_cents": {"help_text": _("The smallest order you take, dishes only, in euros (0: no minimum).")},
    "max_open_orders": {"help_text": _("Orders you cook at once at most; empty: no limit.")},
    "is_paused": {"help_text": _("Ticked: customers do not see your kitchen for now.")},
    "rating": {"help_text": _("The average of your reviews (1 to 5).")},
}


class KitchenAdminForm(forms.ModelForm):
    class Meta:
        model = Kitchen
        formfield_callback = https_formfield
        fields = ["chef", *KITCHEN_EDITABLE_FIELDS]

    def clean(self):
        data = super().clean()
        if not (self.has_error("lat") or self.has_error("lng")):
            try:
                kitchen_location_check(kitchen=self.instance, changes={"lat": data.get("lat"), "lng": data.get("lng")})
            except DomainError as exc:
                add_domain_error(self, exc)
        return data


class OpeningHoursFormSet(forms.BaseInlineFormSet):
    """The week on the kitchen page, checked and saved whole like the chef API's PUT."""

    def week(self) -> list[Slot]:
        return [
            form.slot
            for form in self.forms
            if getattr(form, "slot", None) and not (self.can_delete and self._should_delete_form(form))
        ]

    def clean(self):
        super().clean()
        if any(self.errors):
            return
        try:
            opening_hours_check(slots=self.week())
        except OpeningHoursInvalid as exc:
            raise forms.ValidationError(exc.detail) from exc

    def save(self, commit=True):
        """The week goes through ``opening_hours_replace`` (only when it changed)."""
        self.new_objects, self.changed_objects, self.deleted_objects = [], [], []
        if commit and self.has_changed():
            self.new_objects = opening_hours_replace(kitchen=self.instance, slots=self.week())
        return self.new_objects


class OpeningHoursForm(forms.ModelForm):
    weekday = forms.TypedChoiceField(label=_("day"), choices=sorted(WEEKDAYS.items()), coerce=int)
    opens = forms.CharField(label=_("opens"), max_length=5, help_text=_("HH:MM, Paris time"))
    closes = forms.CharField(label=_("closes"), max_length=5, help_text=_("HH:MM, up to 24:00"))

    class Meta:
        model = OpeningHours
        fields = ["weekday"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.instance._state.adding:
            self.initial.setdefault("opens", format_minute(self.instance.opens_minute))
            self.initial.setdefault("closes", format_minute(self.instance.closes_minute))

    def clean(self):
        data = super().clean()
        self.slot = None
        if "weekday" in data and "opens" in data and "closes" in data:
            try:
                self.slot = opening_slot_parse(weekday=data["weekday"], opens=data["opens"], closes=data["closes"])
            except OpeningHoursInvalid as exc:
                add_domain_error(self, exc)
        return data


class OpeningHoursInline(ChefOwnedAdminMixin, admin.TabularInline):
    model = OpeningHours
    form = OpeningHoursForm
    formset = OpeningHoursFormSet
    chef_field = "kitchen__chef"
    chef_may_add = True
    chef_may_delete = True
    extra = 0

    def _chef_owns(self, request, obj) -> bool:
        # Inlines are asked about the parent kitchen.
        return obj is None or obj.chef_id == request.user.pk


CHEF_READONLY = ("chef", "is_approved", "approved_at", "approved_by", "rating", "rating_count", "created_at")


@admin.register(Kitchen)
class KitchenAdmin(PhotoAdminMixin, ChefOwnedAdminMixin, admin.ModelAdmin):
    form = KitchenAdminForm
    field_options = KITCHEN_FIELD_OPTIONS
    hidden_from_chef = ("chef",)  # their own kitchen
    list_display = ("display_name", "chef", "cuisine", "is_approved", "is_paused", "rating", "rating_count")
    list_filter = ("is_approved", "is_paused", "cuisine")
    search_fields = ("display_name", "cuisine", "address", "chef__email", "chef__full_name")
    list_select_related = ("chef",)
    raw_id_fields = ("chef",)
    inlines = [OpeningHoursInline]
    actions = ["approve"]
    fieldsets = (
        (None, {"fields": ("chef", "display_name", "cuisine", "bio", "photo_url")}),
        (
            _("Delivery"),
            {"fields": ("address", "lat", "lng", "delivery_radius_km", "delivery_fee_cents", "prep_minutes")},
        ),
        (_("Orders"), {"fields": ("minimum_order_cents", "max_open_orders")}),
        (_("Status"), {"fields": ("is_paused", "is_approved", "approved_at", "approved_by", "rating", "rating_count")}),
    )

    def get_readonly_fields(self, request, obj=None):
        if is_kitchen_chef(request.user) or obj is not None:
            return CHEF_READONLY
        return CHEF_READONLY[1:]  # staff pick the chef of a new kitchen

    def changelist_view(self, request, extra_context=None):
        if is_kitchen_chef(request.user):
            kitchen_ensure_for_chef(chef=request.user)  # never an empty list for a chef
        return super().changelist_view(request, extra_context)

    def has_delete_permission(self, request, obj=None):
        return False  # a kitchen leaves the catalog paused or with its chef's erasure; orders refer to it

    def save_model(self, request, obj, form, change):
        """Staff add a kitchen for a chef, or anyone changes one: through the services."""
        fields = {name: form.cleaned_data[name] for name in form.changed_data if name in KITCHEN_EDITABLE_FIELDS}
        kitchen = obj if change else kitchen_ensure_for_chef(chef=obj.chef)
        if fields:
            kitchen = kitchen_update(kitchen=kitchen, **fields)
        adopt_saved(obj, kitchen)

    def photo_attach(self, obj, upload_id) -> None:
        kitchen_update(kitchen=obj, photo_upload_id=upload_id)

    def has_approve_permission(self, request) -> bool:
        return bool(request.user.is_active and request.user.is_staff)

    @admin.action(description=_("Approve selected kitchens"), permissions=["approve"])
    def approve(self, request, queryset: QuerySet[Kitchen]) -> None:
        approved, incomplete = 0, []
        for kitchen in queryset:
            try:
                kitchen_approve(kitchen=kitchen, by=request.user)
                approved += 1
            except KitchenIncomplete:
                incomplete.append(str(kitchen))
        if approved:
            done = ngettext("%(count)d kitchen approved.", "%(count)d kitchens approved.", approved)
            self.message_user(request, done % {"count": approved}, messages.SUCCESS)
        if incomplete:
            self.message_user(
                request,
                _("Not approved, no location yet: %(kitchens)s.") % {"kitchens": ", ".join(incomplete)},
                messages.WARNING,
            )
