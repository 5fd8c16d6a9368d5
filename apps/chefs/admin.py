"""Kitchens in the admin: staff see and approve every kitchen; a chef sees and edits
only their own (with its opening hours inline), by role, with no permission rows."""

from __future__ import annotations

import itertools

from django import forms
from django.contrib import admin, messages
from django.db import models
from django.db.models import QuerySet

from apps.accounts.admin_site import https_formfield, is_kitchen_chef
from apps.chefs.errors import KitchenIncomplete
from apps.chefs.models import Kitchen, OpeningHours, format_minute, parse_hhmm
from apps.chefs.services import KITCHEN_EDITABLE_FIELDS, catalog_changed, kitchen_approve, kitchen_ensure_for_chef


class ChefOwnedAdminMixin:
    """Role-aware ModelAdmin/InlineModelAdmin: for a chef (not staff), querysets are
    filtered to rows they own (``chef_field`` is the lookup from the model to the
    owning user) and rights come from the role; staff keep Django's permissions.
    Another chef's object is simply not in the queryset, so its URL leads nowhere."""

    chef_field = "chef"
    chef_may_add = False
    chef_may_delete = False
    # Photo links typed without a scheme are https (Django 6's default, chosen now).
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if is_kitchen_chef(request.user):
            queryset = queryset.filter(**{self.chef_field: request.user})
        return queryset

    def _owner_id(self, obj):
        *path, last = self.chef_field.split("__")
        for step in path:
            obj = getattr(obj, step)
        return getattr(obj, f"{last}_id")

    def _chef_owns(self, request, obj) -> bool:
        return obj is None or self._owner_id(obj) == request.user.pk

    def has_module_permission(self, request):
        return True if is_kitchen_chef(request.user) else super().has_module_permission(request)

    def has_view_permission(self, request, obj=None):
        if is_kitchen_chef(request.user):
            return self._chef_owns(request, obj)
        return super().has_view_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        if is_kitchen_chef(request.user):
            return self._chef_owns(request, obj)
        return super().has_change_permission(request, obj)

    def has_add_permission(self, request, *args):
        if is_kitchen_chef(request.user):
            return self.chef_may_add
        return super().has_add_permission(request, *args)

    def has_delete_permission(self, request, obj=None):
        if is_kitchen_chef(request.user):
            return self.chef_may_delete and self._chef_owns(request, obj)
        return super().has_delete_permission(request, obj)


class KitchenAdminForm(forms.ModelForm):
    class Meta:
        model = Kitchen
        formfield_callback = https_formfield
        fields = ["chef", *KITCHEN_EDITABLE_FIELDS]

    def clean(self):
        data = super().clean()
        has_location = data.get("lat") is not None and data.get("lng") is not None
        if self.instance.is_approved and not has_location:
            raise forms.ValidationError("An approved kitchen keeps its location (lat and lng).")
        if (data.get("lat") is None) != (data.get("lng") is None):
            self.add_error("lng", "Give lat and lng together.")
        return data


class OpeningHoursFormSet(forms.BaseInlineFormSet):
    def clean(self):
        super().clean()
        spans: dict[int, list[tuple[int, int]]] = {}
        for form in self.forms:
            if not getattr(form, "cleaned_data", None) or form.cleaned_data.get("DELETE") or form.errors:
                continue
            spans.setdefault(form.cleaned_data["weekday"], []).append(
                (form.instance.opens_minute, form.instance.closes_minute)
            )
        for day, slots in spans.items():
            slots.sort()
            if any(start < end for (_, end), (start, _) in itertools.pairwise(slots)):
                raise forms.ValidationError(f"Slots of {OpeningHours.Weekday(day).label} overlap.")


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
        try:
            self.instance.opens_minute = parse_hhmm(data.get("opens", ""), allow_midnight_end=False)
        except ValueError as exc:
            self.add_error("opens", str(exc))
        try:
            self.instance.closes_minute = parse_hhmm(data.get("closes", ""), allow_midnight_end=True)
        except ValueError as exc:
            self.add_error("closes", str(exc))
        if not self.errors and self.instance.opens_minute >= self.instance.closes_minute:
            self.add_error("closes", "A slot closes after it opens, within one day.")
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
        ("Status", {"fields": ("is_paused", "is_approved", "approved_at", "approved_by", "rating", "rating_count")}),
    )

    def get_readonly_fields(self, request, obj=None):
        if is_kitchen_chef(request.user) or obj is not None:
            return CHEF_READONLY
        return CHEF_READONLY[1:]  # staff pick the chef of a new kitchen

    def get_inlines(self, request, obj):
        # menus (a higher app) adds its dish inline through ``extra_kitchen_inlines``.
        return [*self.inlines, *extra_kitchen_inlines]

    def changelist_view(self, request, extra_context=None):
        if is_kitchen_chef(request.user):
            kitchen_ensure_for_chef(chef=request.user)  # never an empty list for a chef
        return super().changelist_view(request, extra_context)

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        catalog_changed()

    def save_formset(self, request, form, formset, change):
        super().save_formset(request, form, formset, change)
        catalog_changed()

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


# Inline classes of higher apps shown on the kitchen page (menus registers its dishes).
extra_kitchen_inlines: list[type[admin.options.InlineModelAdmin]] = []
