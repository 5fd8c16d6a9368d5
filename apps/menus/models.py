"""Dishes: price, dietary tags, the 14 EU allergens, daily stock."""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import Q

from apps.chefs.models import Kitchen
from foodiefast.models import WithPhoto

# The 14 allergens EU Regulation 1169/2011 requires to be declared, in API order.
ALLERGENS: tuple[str, ...] = (
    "gluten",
    "crustaceans",
    "eggs",
    "fish",
    "peanuts",
    "soybeans",
    "milk",
    "nuts",
    "celery",
    "mustard",
    "sesame",
    "sulphites",
    "lupin",
    "molluscs",
)
# Their full names, as a label must show them (Annex II of the regulation), in the
# languages mails are written in. "nuts" are tree nuts (almonds, hazelnuts, walnuts,
# ...), not peanuts, which are "peanuts".
ALLERGEN_NAMES: dict[str, dict[str, str]] = {
    "fr": {
        "gluten": "Céréales contenant du gluten",
        "crustaceans": "Crustacés",
        "eggs": "Œufs",
        "fish": "Poissons",
        "peanuts": "Arachides",
        "soybeans": "Soja",
        "milk": "Lait",
        "nuts": "Fruits à coque",
        "celery": "Céleri",
        "mustard": "Moutarde",
        "sesame": "Graines de sésame",
        "sulphites": "Anhydride sulfureux et sulfites",
        "lupin": "Lupin",
        "molluscs": "Mollusques",
    },
    "en": {
        "gluten": "Cereals containing gluten",
        "crustaceans": "Crustaceans",
        "eggs": "Eggs",
        "fish": "Fish",
        "peanuts": "Peanuts",
        "soybeans": "Soybeans",
        "milk": "Milk",
        "nuts": "Tree nuts",
        "celery": "Celery",
        "mustard": "Mustard",
        "sesame": "Sesame seeds",
        "sulphites": "Sulphur dioxide and sulphites",
        "lupin": "Lupin",
        "molluscs": "Molluscs",
    },
}


def allergen_names(codes: list[str], *, language: str) -> list[str]:
    """The full names of allergen ``codes`` in ``language`` (French unless English),
    in the order given. A code outside the vocabulary is shown as it is: an allergen
    is never left out of a declaration."""
    names = ALLERGEN_NAMES["en" if language.split("-", maxsplit=1)[0].lower() == "en" else "fr"]
    return [names.get(code, code) for code in codes]


DIETARY_TAGS: tuple[str, ...] = (
    "vegetarian",
    "vegan",
    "halal",
    "kosher",
    "gluten-free",
    "dairy-free",
    "spicy",
)


def to_mask(codes, vocabulary: tuple[str, ...]) -> int:
    """A set of codes as a bit mask (bit i = ``vocabulary[i]``). Raises ``ValueError``
    for an unknown code."""
    mask = 0
    for code in codes:
        mask |= 1 << vocabulary.index(code)
    return mask


def from_mask(mask: int, vocabulary: tuple[str, ...]) -> list[str]:
    return [code for i, code in enumerate(vocabulary) if mask & (1 << i)]


class Dish(WithPhoto):
    """A dish of one kitchen.

    Allergens and dietary tags are bit masks over fixed vocabularies, so "contains
    none of these" and "has all of these" are one indexed-row arithmetic test on any
    database (``allergen_mask & excluded = 0``). ``allergen_mask`` has no default:
    every dish carries a declaration (0 is the explicit "none of the 14").

    Stock: ``portions_left`` counts today's portions (``stock_date``, local date).
    On a later day the effective stock is ``portions_per_day`` until the daily reset
    (or the first reservation) writes it; see :meth:`portions_left_on`.
    ``stock_seq`` grows with each stock write.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kitchen = models.ForeignKey(Kitchen, on_delete=models.PROTECT, related_name="dishes")
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True, default="")
    price_cents = models.PositiveIntegerField(help_text="VAT included, in the platform currency (EUR).")
    dietary_mask = models.PositiveIntegerField(default=0)
    allergen_mask = models.PositiveIntegerField(help_text="Declared EU allergens; 0 means none of the 14.")
    portions_per_day = models.PositiveIntegerField()
    portions_left = models.IntegerField(help_text="Portions left on stock_date.")
    stock_date = models.DateField(help_text="The local day portions_left counts for.")
    # Raised by every stock write in the services: orders the figures cached in Redis,
    # so an older figure never replaces a newer one (apps/menus/browse/stock.py).
    # db_default keeps inserts of a release that predates the column working.
    stock_seq = models.PositiveBigIntegerField(default=0, db_default=0, editable=False)
    is_available = models.BooleanField(default=True)
    deleted_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "dishes"
        indexes = [
            models.Index(fields=["kitchen", "name"], name="menus_dish_kitchen_name"),
            models.Index(fields=["stock_date"], name="menus_dish_stock_date"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(portions_left__gte=0), name="menus_dish_portions_left_non_negative"),
            models.CheckConstraint(condition=Q(price_cents__gte=1), name="menus_dish_price_positive"),
            models.CheckConstraint(
                condition=Q(allergen_mask__gte=0, allergen_mask__lt=1 << len(ALLERGENS)),
                name="menus_dish_allergen_mask_known",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def allergens(self) -> list[str]:
        return from_mask(self.allergen_mask, ALLERGENS)

    @property
    def dietary_tags(self) -> list[str]:
        return from_mask(self.dietary_mask, DIETARY_TAGS)

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    def portions_left_on(self, day) -> int:
        """Portions left on local ``day`` (a stale row counts as a fresh day's stock)."""
        return effective_portions(self.portions_left, self.stock_date, self.portions_per_day, day)


def effective_portions(portions_left: int, stock_date, portions_per_day: int, day) -> int:
    return portions_left if stock_date >= day else portions_per_day
