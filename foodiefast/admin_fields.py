"""Fields and columns of the back office (the admin) for people, not for the database.

Money is stored in cents (``price_cents = 1650``) and shown and typed in euros the
reader's way: a French chef types ``16,50`` and reads ``16,50 €``, an English
reader types ``16.50`` and reads ``€16.50`` (:func:`foodiefast.formatting.money`).
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from babel.numbers import format_decimal
from django import forms
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from foodiefast.formatting import locale_of, money

# Spaces (normal, non-breaking, narrow non-breaking: French typography) and the euro
# sign are allowed around and inside an amount typed by a person.
_NOISE = re.compile(r"[\s\u00a0\u202f€]|EUR", re.IGNORECASE)
_AMOUNT = re.compile(r"^-?\d+(?:[.,]\d*)?$")


def parse_euros(text: str) -> int:
    """``"16,50"``, ``"16.50"``, ``"16,5 €"``, ``"1 234,50"``, ``"1,234.50"`` → cents.
    The separator written last is the decimal one when both appear. Raises
    ``ValueError`` for anything else, or for fractions of a cent."""
    text = _NOISE.sub("", text or "")
    if "," in text and "." in text:
        decimal_sep = "," if text.rfind(",") > text.rfind(".") else "."
        text = text.replace("." if decimal_sep == "," else ",", "")
    if not _AMOUNT.match(text):
        raise ValueError(text)
    amount = Decimal(text.replace(",", "."))
    cents = amount * 100
    if cents != cents.to_integral_value():
        raise ValueError(text)
    return int(cents)


def euros_text(cents: int | None, *, language: str | None = None) -> str:
    """``1650`` → ``16,50`` (French) or ``16.50`` (English): what a money input shows."""
    if cents is None:
        return ""
    return format_decimal(Decimal(cents) / 100, format="0.00", locale=locale_of(language), decimal_quantization=True)


class MoneyInput(forms.TextInput):
    """A text input holding euros, with the € sign after it."""

    def __init__(self, attrs=None):
        super().__init__({"inputmode": "decimal", "size": 8, "class": "money-input", **(attrs or {})})

    def format_value(self, value):
        if isinstance(value, int):
            return euros_text(value)
        return super().format_value(value)

    def render(self, name, value, attrs=None, renderer=None):
        field = super().render(name, value, attrs, renderer)
        return format_html('{} <span class="money-unit">€</span>', field)


class MoneyField(forms.Field):
    """Euros typed by a person (``16,50``), cleaned to cents (``1650``)."""

    widget = MoneyInput
    default_error_messages = {
        "invalid": _("Type an amount in euros, such as 16,50."),
        "min_value": _("The amount must be at least %(limit)s."),
        "max_value": _("The amount must be at most %(limit)s."),
    }

    def __init__(self, *, min_cents: int | None = 0, max_cents: int | None = None, **kwargs):
        kwargs.pop("max_length", None)
        kwargs.pop("min_value", None)
        kwargs.pop("max_value", None)
        self.min_cents, self.max_cents = min_cents, max_cents
        super().__init__(**kwargs)

    def to_python(self, value):
        if value in self.empty_values:
            return None
        if isinstance(value, int):
            return value
        try:
            return parse_euros(str(value))
        except (ValueError, InvalidOperation) as exc:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid") from exc

    def validate(self, value):
        super().validate(value)
        if value is None:
            return
        if self.min_cents is not None and value < self.min_cents:
            raise forms.ValidationError(
                self.error_messages["min_value"], code="min_value", params={"limit": money(self.min_cents)}
            )
        if self.max_cents is not None and value > self.max_cents:
            raise forms.ValidationError(
                self.error_messages["max_value"], code="max_value", params={"limit": money(self.max_cents)}
            )

    def has_changed(self, initial, data):
        try:
            return self.to_python(initial) != self.to_python(data)
        except forms.ValidationError:
            return True


def money_column(field: str, description, *, ordering: str | None = None):
    """A list or read-only column showing the cents of ``field`` as money
    (``16,50 €``): ``list_display = (money_column("price_cents", _("Price")), ...)``."""

    def column(obj) -> str:
        cents = getattr(obj, field)
        return "" if cents is None else money(cents)

    column.short_description = description
    column.admin_order_field = ordering or field
    column.__name__ = f"{field}_money"
    return column


def admin_names(model, *, singular, plural, fields: dict | None = None) -> None:
    """The names a person reads for ``model`` and its fields in the admin (headers,
    labels, messages), as lazy translations, set where the app's admin is declared.

    Only what people read changes: a migration records what a model declares
    (``Meta.verbose_name``, ``Field(verbose_name=...)``), which stays as written, so
    naming things for readers needs no schema migration."""
    model._meta.verbose_name = singular
    model._meta.verbose_name_plural = plural
    for name, label in (fields or {}).items():
        model._meta.get_field(name).verbose_name = label
