"""``{{ codes|allergen_names }}``: the EU allergen codes as their full names in the
active language, for mails and pages that show a dish's declaration."""

from __future__ import annotations

from django import template
from django.utils import translation

from apps.menus.models import allergen_names as names_of

register = template.Library()


@register.filter
def allergen_names(codes) -> list[str]:
    return names_of(codes or [], language=translation.get_language() or "fr")
