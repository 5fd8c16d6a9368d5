"""Template filters formatting in the active language (:mod:`foodiefast.formatting`):
``{{ cents|money }}``, ``{{ cents|money:"EUR" }}``, ``{{ rate|percent }}``,
``{{ iso_datetime|local_time }}``."""

from __future__ import annotations

from django import template

from foodiefast import formatting

register = template.Library()


@register.filter
def money(cents: int, currency: str = "EUR") -> str:
    return formatting.money(int(cents), currency)


@register.filter
def percent(rate) -> str:
    return formatting.percent(rate)


@register.filter
def local_time(moment) -> str:
    return formatting.local_time(moment) if moment else ""
