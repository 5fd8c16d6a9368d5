"""Money, rates, times and VAT as a French or English reader expects them.

Formats come from CLDR through Babel (``16,50 €`` in French, ``€16.50`` in English,
with the non-breaking spaces French typography puts before ``€`` and ``%``). Each
function takes the language, or uses the active one (``translation.override``), so
a template rendered in a language formats in it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal

from babel.dates import format_time
from babel.numbers import format_currency, format_percent
from django.utils import translation

from foodiefast.localtime import local_zone

# The languages emails are written in, and the CLDR locale each one formats with:
# English as written in the euro area (``€16.50``, a 24-hour clock).
LOCALES = {"fr": "fr_FR", "en": "en_IE"}
DEFAULT_LANGUAGE = "fr"
CENT = Decimal("0.01")


def locale_of(language: str | None = None) -> str:
    """The CLDR locale for ``language`` (default: the active language; French when
    it is neither French nor English)."""
    language = (language or translation.get_language() or DEFAULT_LANGUAGE).split("-")[0].lower()
    return LOCALES.get(language, LOCALES[DEFAULT_LANGUAGE])


def money(cents: int, currency: str = "EUR", *, language: str | None = None) -> str:
    """``1650`` → ``16,50 €`` (French) or ``€16.50`` (English)."""
    return format_currency(Decimal(cents) / 100, currency, locale=locale_of(language))


def percent(rate: Decimal | str | int, *, language: str | None = None) -> str:
    """A rate given in percent: ``10`` → ``10 %`` (French) or ``10%``; ``5.5`` → ``5,5 %``."""
    return format_percent(Decimal(str(rate)) / 100, locale=locale_of(language), decimal_quantization=False)


def local_time(moment: dt.datetime | str, *, language: str | None = None) -> str:
    """Hours and minutes on the platform's clock (Europe/Paris): ``14:35``. Takes an
    aware datetime or its ISO 8601 text (as it travels in a task's JSON)."""
    if isinstance(moment, str):
        moment = dt.datetime.fromisoformat(moment)
    return format_time(moment, format="short", tzinfo=local_zone(), locale=locale_of(language))


def _plain(rate: Decimal | str | int) -> Decimal:
    """``"10.00"`` and ``10`` are one rate, written ``10`` (never ``1E+1``)."""
    return Decimal(format(Decimal(str(rate)).normalize(), "f"))


@dataclasses.dataclass(frozen=True)
class VatShare:
    """The VAT included in the amounts charged at one rate (percent)."""

    rate: Decimal
    total_cents: int
    vat_cents: int

    @property
    def net_cents(self) -> int:
        return self.total_cents - self.vat_cents


def vat_split(amounts: Iterable[tuple[Decimal | str | int | None, int]]) -> list[VatShare]:
    """VAT per rate of amounts given VAT included, as ``(rate in percent, cents)``;
    amounts without VAT (a tip: rate ``None``) are left out. Each rate's VAT is
    computed on the rate's total and rounded half up to the cent once, so the split
    adds up the way a receipt shows it. Lowest rate first."""
    totals: dict[Decimal, int] = defaultdict(int)
    for rate, cents in amounts:
        if rate is not None and cents:
            totals[_plain(rate)] += cents
    return [
        VatShare(rate=rate, total_cents=total, vat_cents=int((total * rate / (100 + rate)).quantize(1, ROUND_HALF_UP)))
        for rate, total in sorted(totals.items())
        if rate
    ]
