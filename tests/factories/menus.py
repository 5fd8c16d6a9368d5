import factory
from django.utils import timezone

from apps.menus.models import ALLERGENS, DIETARY_TAGS, Dish, to_mask
from foodiefast.localtime import local_today
from tests.factories.chefs import KitchenFactory


class DishFactory(factory.django.DjangoModelFactory):
    """An available dish with 10 portions today, declaring gluten and milk."""

    class Meta:
        model = Dish

    class Params:
        allergens = ("gluten", "milk")
        dietary_tags = ()
        sold_out = factory.Trait(portions_left=0)
        unavailable = factory.Trait(is_available=False)
        deleted = factory.Trait(is_available=False, deleted_at=factory.LazyFunction(timezone.now))
        vegan = factory.Trait(dietary_tags=("vegan", "vegetarian"), allergens=("soybeans",))

    kitchen = factory.SubFactory(KitchenFactory)
    name = factory.Sequence(lambda n: f"Dish {n:04d}")
    description = "Slow-cooked, seasonal."
    price_cents = 1250
    allergen_mask = factory.LazyAttribute(lambda o: to_mask(o.allergens, ALLERGENS))
    dietary_mask = factory.LazyAttribute(lambda o: to_mask(o.dietary_tags, DIETARY_TAGS))
    portions_per_day = 10
    portions_left = factory.LazyAttribute(lambda o: o.portions_per_day)
    stock_date = factory.LazyFunction(local_today)
    is_available = True
