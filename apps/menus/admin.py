"""Dishes in the admin: a chef edits their own (inline on the kitchen page too),
toggles availability and sets today's portions from the list; staff see all.

Every save, action and removal goes through the menus services, as the chef API's."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from apps.accounts.admin_site import ChefOwnedAdminMixin, add_inline, adopt_saved, https_formfield, is_kitchen_chef
from apps.chefs.models import Kitchen
from apps.chefs.services import kitchen_ensure_for_chef
from apps.menus import services
from apps.menus.models import ALLERGENS, DIETARY_TAGS, Dish, allergen_names, from_mask
from foodiefast.admin_fields import admin_names, money_column
from foodiefast.photo_admin import PhotoAdminMixin

admin_names(
    Dish,
    singular=_("dish"),
    plural=_("dishes"),
    fields={
        "kitchen": _("kitchen"),
        "name": _("name"),
        "description": _("description"),
        "price_cents": _("price"),
        "portions_per_day": _("portions per day"),
        "portions_left": _("today's portions"),
        "is_available": _("on the menu"),
        "updated_at": _("updated"),
    },
)

# What each of the 14 EU allergens (Regulation 1169/2011, Annex II) covers, so a chef
# ticks the right one: "nuts" are tree nuts, peanuts are their own allergen.
ALLERGEN_COVERS = {
    "gluten": _("wheat, spelt, khorasan, rye, barley, oats: flour, bread, pasta, beer"),
    "crustaceans": _("prawns, shrimps, crabs, lobsters, crayfish, langoustines"),
    "eggs": _("eggs, mayonnaise, fresh pasta, many pastries"),
    "fish": _("every fish, fish sauce, anchovies, Worcestershire sauce"),
    "peanuts": _("peanuts, peanut butter and oil; not tree nuts"),
    "soybeans": _("soy sauce, tofu, edamame, soy lecithin"),
    "milk": _("milk of any animal, butter, cream, cheese, yoghurt, lactose"),
    "nuts": _("almonds, hazelnuts, walnuts, cashews, pecans, Brazil nuts, pistachios, macadamias; not peanuts"),
    "celery": _("celery stalks, leaves and seeds, celeriac; often in stocks and spice mixes"),
    "mustard": _("seeds, powder and mustard, in dressings, sauces and marinades"),
    "sesame": _("seeds, tahini, sesame oil, halva"),
    "sulphites": _("above 10 mg per kg or litre: wine, dried fruit, some vinegars"),
    "lupin": _("lupin flour and seeds, in some breads, pastries and vegan products"),
    "molluscs": _("mussels, oysters, scallops, squid, octopus, snails"),
}
DIETARY_LABELS = {
    "vegetarian": _("Vegetarian"),
    "vegan": _("Vegan"),
    "halal": _("Halal"),
    "kosher": _("Kosher"),
    "gluten-free": _("Gluten-free"),
    "dairy-free": _("Dairy-free"),
    "spicy": _("Spicy"),
}


def allergen_names_only() -> list[tuple[str, str]]:
    """The 14 allergens by their full name in the reader's language."""
    return list(zip(ALLERGENS, allergen_names(list(ALLERGENS), language=get_language() or "en"), strict=True))


def allergen_choices() -> list[tuple[str, str]]:
    """The 14 allergens by their full name and what each covers:
    ``Fruits à coque (amandes, noisettes, …)``."""
    return [(code, f"{name} ({ALLERGEN_COVERS[code]})") for code, name in allergen_names_only()]


def dietary_choices() -> list[tuple[str, str]]:
    return [(tag, str(DIETARY_LABELS.get(tag, tag))) for tag in DIETARY_TAGS]


class DishAdminForm(forms.ModelForm):
    """Allergens as a required declaration: tick what the dish contains, or tick
    "contains none of the 14"; leaving both empty is refused."""

    allergens = forms.MultipleChoiceField(
        label=_("Allergens"),
        choices=allergen_choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Tick every one of the 14 EU allergens the dish contains, even as a trace ingredient."),
    )
    contains_no_allergen = forms.BooleanField(required=False, label=_("Contains none of the 14 EU allergens"))
    dietary_tags = forms.MultipleChoiceField(
        label=_("Diet"), choices=dietary_choices, required=False, widget=forms.CheckboxSelectMultiple
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
            self.fields["portions_left"].help_text = _("Today's stock (empty: portions per day).")

    def clean(self):
        data = super().clean()
        allergens, none = data.get("allergens") or [], data.get("contains_no_allergen")
        if not allergens and not none:
            self.add_error("allergens", _("Declare the allergens, or tick 'contains none of the 14'."))
        elif allergens and none:
            self.add_error("contains_no_allergen", _("Untick this: allergens are ticked above."))
        data["allergens"] = allergens
        data["dietary_tags"] = data.get("dietary_tags") or []
        if data.get("portions_left") is None and data.get("portions_per_day") is not None:
            data["portions_left"] = data["portions_per_day"]
        return data


# The form refuses what the dish table's constraints would (a price of at least one
# cent, no negative stock), on every form: the page, the list's columns, the inline.
DISH_FIELD_OPTIONS = {
    "price_cents": {"min_cents": 1, "help_text": _("What the customer pays for one portion, in euros, VAT included.")},
    "portions_per_day": {"help_text": _("Portions you cook each day: today's stock starts at this every morning.")},
    "portions_left": {"min_value": 0},
}


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


class DishInlineForm(DishAdminForm):
    """A row of the kitchen page's dishes: the allergens by name only (the dish's own
    page says what each covers)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["allergens"].choices = allergen_names_only


ADMIN_CSS = {"all": ("menus/admin.css",)}


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
    form = DishInlineForm
    field_options = DISH_FIELD_OPTIONS
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

    class Media:
        css = ADMIN_CSS

    def get_queryset(self, request):
        return super().get_queryset(request).filter(deleted_at__isnull=True)

    def _chef_owns(self, request, obj) -> bool:
        return obj is None or obj.chef_id == request.user.pk


add_inline(Kitchen, DishInline)


@admin.register(Dish)
class DishAdmin(PhotoAdminMixin, ChefOwnedAdminMixin, admin.ModelAdmin):
    form = DishAdminForm
    field_options = DISH_FIELD_OPTIONS
    chef_field = "kitchen__chef"
    chef_may_add = True
    hidden_from_chef = ("kitchen",)  # a chef's dish is in their kitchen: nothing to pick or read
    # Readable at 1280 px: what a chef checks during service, today's stock editable.
    list_display = (
        "name",
        "kitchen",
        money_column("price_cents", _("price")),
        "portions_per_day",
        "portions_left",
        "is_available",
        "updated_at",
    )
    list_editable = ("portions_left", "is_available")
    list_filter = ("is_available", "kitchen__cuisine", "kitchen__is_approved")
    search_fields = ("name", "description", "kitchen__display_name")
    list_select_related = ("kitchen",)
    ordering = ("kitchen__display_name", "name")
    actions = ["remove_from_menu", "make_available", "make_unavailable"]

    class Media:
        css = ADMIN_CSS

    fieldsets = (
        (None, {"fields": ("kitchen", "name", "description", "photo_url", "price_cents")}),
        (_("Declaration"), {"fields": ("allergens", "contains_no_allergen", "dietary_tags")}),
        (_("Today"), {"fields": ("portions_per_day", "portions_left", "is_available")}),
    )

    def get_queryset(self, request):
        return super().get_queryset(request).filter(deleted_at__isnull=True)

    def get_readonly_fields(self, request, obj=None):
        return ("kitchen",) if obj is not None else ()  # a dish stays in its kitchen (orders refer to it)

    def get_list_filter(self, request):
        # A chef's few dishes sort by availability instead: the list keeps its width.
        return () if is_kitchen_chef(request.user) else self.list_filter

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "kitchen" and is_kitchen_chef(request.user):
            kwargs["queryset"] = Kitchen.objects.filter(chef=request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def has_delete_permission(self, request, obj=None):
        return False  # orders refer to dishes: "remove from menu" soft-deletes instead

    def save_model(self, request, obj, form, change):
        kitchen = None
        if is_kitchen_chef(request.user) and not change:
            kitchen = kitchen_ensure_for_chef(chef=request.user)
        adopt_saved(obj, dish_save_form(form, kitchen=kitchen))

    def photo_attach(self, obj, upload_id) -> None:
        services.dish_update(dish=obj, photo_upload_id=upload_id)

    @admin.action(description=_("Remove from the menu (kept for past orders)"))
    def remove_from_menu(self, request, queryset):
        for dish in queryset:
            services.dish_delete(dish=dish)
        self.message_user(request, _("Removed from the menu."), messages.SUCCESS)

    @admin.action(description=_("Make available"))
    def make_available(self, request, queryset):
        for dish in queryset:
            services.dish_update(dish=dish, is_available=True)

    @admin.action(description=_("Make unavailable"))
    def make_unavailable(self, request, queryset):
        for dish in queryset:
            services.dish_update(dish=dish, is_available=False)
