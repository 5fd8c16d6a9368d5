"""Browse filters (django-filter): they validate the query string, give the
normalised values the cache key is built from, and filter the querysets."""

from __future__ import annotations

from typing import Any

import django_filters
from django import forms
from django.db.models import Exists, F, OuterRef, Q, QuerySet

from apps.chefs.models import Kitchen
from apps.menus.models import ALLERGENS, DIETARY_TAGS, Dish, to_mask
from foodiefast.errors import InvalidInput


class CodeListField(forms.Field):
    """A comma-separated list of codes from a fixed vocabulary, as a sorted tuple."""

    def __init__(self, *, vocabulary: tuple[str, ...], **kwargs: Any) -> None:
        self.vocabulary = vocabulary
        super().__init__(**kwargs)

    def to_python(self, value):
        if value in (None, ""):
            return ()
        codes = {c.strip().lower() for c in str(value).split(",") if c.strip()}
        unknown = sorted(codes - set(self.vocabulary))
        if unknown:
            raise forms.ValidationError(
                f"Unknown code(s): {', '.join(unknown)}. Known: {', '.join(self.vocabulary)}.", code="invalid"
            )
        return tuple(sorted(codes))


class CodeListFilter(django_filters.Filter):
    field_class = CodeListField


class IntegerFilter(django_filters.Filter):
    field_class = forms.IntegerField


class CoordinateFilter(django_filters.Filter):
    """``lat``/``lng``: required, finite, within range; used to build the base queryset,
    so filtering by it here is a no-op."""

    field_class = forms.FloatField

    def filter(self, qs, value):
        return qs


def _mask_excludes(qs: QuerySet, field: str, codes: tuple[str, ...], vocabulary: tuple[str, ...]) -> QuerySet:
    mask = to_mask(codes, vocabulary)
    return qs.alias(**{f"_{field}_hit": F(field).bitand(mask)}).filter(**{f"_{field}_hit": 0})


def _mask_includes(qs: QuerySet, field: str, codes: tuple[str, ...], vocabulary: tuple[str, ...]) -> QuerySet:
    mask = to_mask(codes, vocabulary)
    return qs.alias(**{f"_{field}_all": F(field).bitand(mask)}).filter(**{f"_{field}_all": mask})


class _BrowseFilterSet(django_filters.FilterSet):
    lat = CoordinateFilter(required=True, min_value=-90, max_value=90)
    lng = CoordinateFilter(required=True, min_value=-180, max_value=180)

    def validated(self) -> dict[str, Any]:
        """The cleaned filters, or 400 ``invalid`` with the API.md ``fields``."""
        if not self.is_valid():
            fields = {name: list(messages) for name, messages in self.form.errors.items()}
            first = next(iter(fields.items()))
            raise InvalidInput(f"{first[0]}: {first[1][0]}", fields=fields)
        return dict(self.form.cleaned_data)


class DishBrowseFilter(_BrowseFilterSet):
    chef = django_filters.UUIDFilter(field_name="kitchen_id")
    dietary = CodeListFilter(vocabulary=DIETARY_TAGS, method="filter_dietary", help_text="e.g. vegan,halal")
    exclude_allergens = CodeListFilter(
        vocabulary=ALLERGENS, method="filter_exclude_allergens", help_text="comma list of EU allergen codes"
    )
    q = django_filters.CharFilter(method="filter_text", max_length=100)
    max_price_cents = IntegerFilter(field_name="price_cents", lookup_expr="lte", min_value=0)

    class Meta:
        model = Dish
        fields: list[str] = []

    def filter_dietary(self, qs, name, value):
        return _mask_includes(qs, "dietary_mask", value, DIETARY_TAGS) if value else qs

    def filter_exclude_allergens(self, qs, name, value):
        return _mask_excludes(qs, "allergen_mask", value, ALLERGENS) if value else qs

    def filter_text(self, qs, name, value):
        value = value.strip()
        if not value:
            return qs
        return qs.filter(Q(name__icontains=value) | Q(description__icontains=value))


class KitchenBrowseFilter(_BrowseFilterSet):
    cuisine = django_filters.CharFilter(field_name="cuisine", lookup_expr="iexact", max_length=60)
    dietary = CodeListFilter(
        vocabulary=DIETARY_TAGS, method="filter_dietary", help_text="kitchens with an available dish so tagged"
    )
    open_now = django_filters.BooleanFilter(method="filter_open_now")
    q = django_filters.CharFilter(method="filter_text", max_length=100)

    class Meta:
        model = Kitchen
        fields: list[str] = []

    def filter_dietary(self, qs, name, value):
        if not value:
            return qs
        mask = to_mask(value, DIETARY_TAGS)
        tagged = (
            Dish.objects.filter(kitchen=OuterRef("pk"), is_available=True, deleted_at__isnull=True)
            .alias(_tags=F("dietary_mask").bitand(mask))
            .filter(_tags=mask)
        )
        return qs.filter(Exists(tagged))

    def filter_open_now(self, qs, name, value):
        return qs.filter(is_open=True) if value else qs

    def filter_text(self, qs, name, value):
        value = value.strip()
        if not value:
            return qs
        return qs.filter(Q(display_name__icontains=value) | Q(cuisine__icontains=value) | Q(bio__icontains=value))
