"""Money is an integer number of minor units plus a currency code."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings


def percent_of(amount_cents: int, percent: int | float) -> int:
    """``percent`` % of an amount, rounded half up to the cent."""
    return int((amount_cents * percent + 50) // 100) if amount_cents >= 0 else -percent_of(-amount_cents, percent)


@dataclass(frozen=True)
class Money:
    cents: int
    currency: str = "EUR"

    def __post_init__(self) -> None:
        if not isinstance(self.cents, int):
            raise TypeError("Money holds whole minor units.")

    def __add__(self, other: Money) -> Money:
        if self.currency != other.currency:
            raise ValueError("Cannot add amounts in different currencies.")
        return Money(self.cents + other.cents, self.currency)

    def __str__(self) -> str:
        return f"{self.cents / 100:.2f} {self.currency}"


def default_currency() -> str:
    return settings.CURRENCY
