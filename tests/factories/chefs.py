import factory
from django.utils import timezone

from apps.chefs.models import Kitchen, OpeningHours
from tests.factories.accounts import UserFactory

# The Louvre: tests place customers and kitchens around it.
PARIS = (48.861, 2.336)


class KitchenFactory(factory.django.DjangoModelFactory):
    """An approved, open-for-business kitchen at the Louvre unless traits say otherwise."""

    class Meta:
        model = Kitchen
        django_get_or_create = ("chef",)
        skip_postgeneration_save = True

    chef = factory.SubFactory(UserFactory, chef=True)
    display_name = factory.Sequence(lambda n: f"Kitchen {n}")
    bio = "Home cooking."
    cuisine = "French"
    address = "1 rue de Rivoli, Paris"
    lat = PARIS[0]
    lng = PARIS[1]
    delivery_radius_km = 5.0
    delivery_fee_cents = 299
    prep_minutes = 20
    is_approved = True
    approved_at = factory.LazyFunction(timezone.now)

    class Params:
        unapproved = factory.Trait(is_approved=False, approved_at=None)
        paused = factory.Trait(is_paused=True)
        incomplete = factory.Trait(is_approved=False, approved_at=None, lat=None, lng=None, display_name="")
        always_open = factory.Trait(
            hours=factory.RelatedFactoryList(
                "tests.factories.chefs.OpeningHoursFactory",
                factory_related_name="kitchen",
                size=7,
                weekday=factory.Iterator(range(7)),
                opens_minute=0,
                closes_minute=24 * 60,
            )
        )


class OpeningHoursFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OpeningHours

    kitchen = factory.SubFactory(KitchenFactory)
    weekday = 0
    opens_minute = 12 * 60
    closes_minute = 14 * 60 + 30
