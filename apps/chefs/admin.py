"""Kitchens in the admin: staff see and approve every kitchen; a chef sees and edits
only their own (with its opening hours inline), by role, with no permission rows.

The forms check with the services' rules and the saves go through the services, so
the admin and the chef API refuse and write the same things."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet

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
from foodiefast.errors import DomainError


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
    opens = forms.CharField(max_length=5, help_text="HH:MM, Paris time")
    closes = forms.CharField(max_length=5, help_text="HH:MM, up to 24:00")

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
class KitchenAdmin(ChefOwnedAdminMixin, admin.ModelAdmin):
    form = KitchenAdminForm
    list_display = ("display_name", "chef", "cuisine", "is_approved", "is_paused", "rating", "rating_count")
    list_filter = ("is_approved", "is_paused", "cuisine")
    search_fields = ("display_name", "cuisine", "address", "chef__email", "chef__full_name")
    list_select_related = ("chef",)
    raw_id_fields = ("chef",)
    inlines = [OpeningHoursInline]
    actions = ["approve"]
    fieldsets = (
        (None, {"fields": ("chef", "display_name", "cuisine", "bio", "photo_url")}),
        ("Delivery", {"fields": ("address", "lat", "lng", "delivery_radius_km", "delivery_fee_cents", "prep_minutes")}),
        ("Orders", {"fields": ("minimum_order_cents", "max_open_orders")}),
        ("Status", {"fields": ("is_paused", "is_approved", "approved_at", "approved_by", "rating", "rating_count")}),
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

    def has_approve_permission(self, request) -> bool:
        return bool(request.user.is_active and request.user.is_staff)

    @admin.action(description="Approve selected kitchens", permissions=["approve"])
    def approve(self, request, queryset: QuerySet[Kitchen]) -> None:
        approved, incomplete = 0, []
        for kitchen in queryset:
            try:
                kitchen_approve(kitchen=kitchen, by=request.user)
                approved += 1
            except KitchenIncomplete:
                incomplete.append(str(kitchen))
        if approved:
            self.message_user(request, f"{approved} kitchen(s) approved.", messages.SUCCESS)
        if incomplete:
            self.message_user(request, f"Not approved, no location yet: {', '.join(incomplete)}.", messages.WARNING)
