"""Dishes in the admin: a chef edits their own (inline on the kitchen page too),
toggles availability and sets today's portions from the list; staff see all.

Every save, action and removal goes through the menus services, as the chef API's."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.validators import MinValueValidator

from apps.accounts.admin_site import ChefOwnedAdminMixin, add_inline, adopt_saved, https_formfield, is_kitchen_chef
from apps.chefs.models import Kitchen
from apps.menus import services
from apps.menus.models import ALLERGENS, DIETARY_TAGS, Dish, from_mask


class DishAdminForm(forms.ModelForm):
    """Allergens as a required declaration: tick what the dish contains, or tick
    "contains none of the 14"; leaving both empty is refused."""

    allergens = forms.MultipleChoiceField(
        choices=[(a, a) for a in ALLERGENS], required=False, widget=forms.CheckboxSelectMultiple
    )
    contains_no_allergen = forms.BooleanField(required=False, label="Contains none of the 14 EU allergens")
    dietary_tags = forms.MultipleChoiceField(
        choices=[(t, t) for t in DIETARY_TAGS], required=False, widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = Dish
        formfield_callback = https_formfield
        fields = [
            "kitchen",
            "name",
            "description",
            "photo_url",
            "price_cents",
            "portions_per_day",
            "portions_left",
            "is_available",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.instance._state.adding:
            self.initial["allergens"] = from_mask(self.instance.allergen_mask, ALLERGENS)
            self.initial["contains_no_allergen"] = self.instance.allergen_mask == 0
            self.initial["dietary_tags"] = from_mask(self.instance.dietary_mask, DIETARY_TAGS)
        if "portions_left" in self.fields:
            self.fields["portions_left"].required = False
            self.fields["portions_left"].help_text = "Today's stock (empty: portions per day)."
            self.fields["portions_left"].min_value = 0
            self.fields["portions_left"].validators.append(MinValueValidator(0))  # as the chef API's

    def clean(self):
        data = super().clean()
        allergens, none = data.get("allergens") or [], data.get("contains_no_allergen")
        if not allergens and not none:
            self.add_error("allergens", "Declare the allergens, or tick 'contains none of the 14'.")
        elif allergens and none:
            self.add_error("contains_no_allergen", "Untick this: allergens are ticked above.")
        data["allergens"] = allergens
        data["dietary_tags"] = data.get("dietary_tags") or []
        if data.get("portions_left") is None and data.get("portions_per_day") is not None:
            data["portions_left"] = data["portions_per_day"]
        return data


def dish_save_form(form: forms.ModelForm, *, kitchen: Kitchen | None = None) -> Dish:
    """A dish form of the admin (the change page, the list's editable columns, the
    kitchen page's inline) saved through the services: a new dish is created, an
    existing one changes only in what the form changed."""
    data, dish = form.cleaned_data, form.instance
    if dish._state.adding:
        return services.dish_create(
            kitchen=kitchen or data["kitchen"],
            name=data["name"],
            description=data.get("description", ""),
            photo_url=data.get("photo_url", ""),
            price_cents=data["price_cents"],
            allergens=data["allergens"],
            dietary_tags=data.get("dietary_tags", ()),
            portions_per_day=data["portions_per_day"],
            portions_left=data.get("portions_left"),
            is_available=data.get("is_available", True),
        )
    changed = set(form.changed_data)
    if "contains_no_allergen" in changed:
        changed.add("allergens")
    changes = {name: data[name] for name in services.DISH_EDITABLE_FIELDS if name in changed and name in data}
    return services.dish_update(dish=dish, **changes) if changes else dish


class DishFormSet(forms.BaseInlineFormSet):
    """The kitchen page's dishes, saved one by one through the services."""

    def save(self, commit=True):
        self.new_objects, self.changed_objects, self.deleted_objects = [], [], []
        for form in self.forms:
            if not commit or not form.has_changed():
                continue
            adding = form.instance._state.adding
            dish = dish_save_form(form, kitchen=self.instance)
            if adding:
                self.new_objects.append(dish)
            else:
                self.changed_objects.append((dish, form.changed_data))
        return self.new_objects + [dish for dish, _ in self.changed_objects]


class DishInline(ChefOwnedAdminMixin, admin.TabularInline):
    model = Dish
    form = DishAdminForm
    formset = DishFormSet
    chef_field = "kitchen__chef"
    chef_may_add = True
    can_delete = False
    extra = 0
    fields = (
        "name",
        "price_cents",
        "allergens",
        "contains_no_allergen",
        "portions_per_day",
        "portions_left",
        "is_available",
    )
    show_change_link = True

    def get_queryset(self, request):
        return super().get_queryset(request).filter(deleted_at__isnull=True)

    def _chef_owns(self, request, obj) -> bool:
        return obj is None or obj.chef_id == request.user.pk


add_inline(Kitchen, DishInline)


@admin.register(Dish)
class DishAdmin(ChefOwnedAdminMixin, admin.ModelAdmin):
    form = DishAdminForm
    chef_field = "kitchen__chef"
    chef_may_add = True
    list_display = ("name", "kitchen", "price_cents", "portions_per_day", "portions_left", "is_available", "updated_at")
    list_editable = ("portions_left", "is_available")
    list_filter = ("is_available", "kitchen__cuisine", "kitchen__is_approved")
    search_fields = ("name", "description", "kitchen__display_name")
    list_select_related = ("kitchen",)
    ordering = ("kitchen__display_name", "name")
    actions = ["remove_from_menu", "make_available", "make_unavailable"]
    fieldsets = (
        (None, {"fields": ("kitchen", "name", "description", "photo_url", "price_cents")}),
        ("Declaration", {"fields": ("allergens", "contains_no_allergen", "dietary_tags")}),
        ("Today", {"fields": ("portions_per_day", "portions_left", "is_available")}),
    )

    def get_queryset(self, request):
        return super().get_queryset(request).filter(deleted_at__isnull=True)

    def get_readonly_fields(self, request, obj=None):
        return ("kitchen",) if obj is not None else ()  # a dish stays in its kitchen (orders refer to it)

    def get_list_filter(self, request):
        return ("is_available",) if is_kitchen_chef(request.user) else self.list_filter

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "kitchen" and is_kitchen_chef(request.user):
            kwargs["queryset"] = Kitchen.objects.filter(chef=request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_changeform_initial_data(self, request):
        initial = super().get_changeform_initial_data(request)
        if is_kitchen_chef(request.user):
            kitchen = Kitchen.objects.filter(chef=request.user).first()
            if kitchen is not None:
                initial.setdefault("kitchen", kitchen.pk)
        return initial

    def has_delete_permission(self, request, obj=None):
        return False  # orders refer to dishes: "remove from menu" soft-deletes instead

    def save_model(self, request, obj, form, change):
        adopt_saved(obj, dish_save_form(form))

    @admin.action(description="Remove from the menu (kept for past orders)")
    def remove_from_menu(self, request, queryset):
        for dish in queryset:
            services.dish_delete(dish=dish)
        self.message_user(request, "Removed from the menu.", messages.SUCCESS)

    @admin.action(description="Make available")
    def make_available(self, request, queryset):
        for dish in queryset:
            services.dish_update(dish=dish, is_available=True)

    @admin.action(description="Make unavailable")
    def make_unavailable(self, request, queryset):
        for dish in queryset:
            services.dish_update(dish=dish, is_available=False)
