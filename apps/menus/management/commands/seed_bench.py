"""``python manage.py seed_bench --kitchens 200 --dishes 20``: a dense menu around one
point for the browse benchmark, written with bulk inserts in seconds.

Bench rows are recognisable by their owners' email domain; ``--reset`` removes them
first, and without it a run that finds the requested size already seeded does
nothing (idempotent).
"""

from __future__ import annotations

import math
import random

from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand
from django.db import connection, transaction

from apps.accounts.models import Role, User
from apps.chefs.models import Kitchen, OpeningHours
from apps.menus.browse.catalog import catalog_changed
from apps.menus.models import ALLERGENS, DIETARY_TAGS, Dish, to_mask
from foodiefast.localtime import local_today

BENCH_DOMAIN = "bench.foodiefast.invalid"
CUISINES = ["French", "Italian", "Lebanese", "Japanese", "Indian", "Mexican", "Vietnamese", "Vegan", "Thai", "Greek"]


def bench_rows_delete() -> None:
    kitchens = Kitchen.objects.filter(chef__email__endswith=f"@{BENCH_DOMAIN}")
    Dish.objects.filter(kitchen__in=kitchens).delete()
    OpeningHours.objects.filter(kitchen__in=kitchens).delete()
    kitchens.delete()
    User.objects.filter(email__endswith=f"@{BENCH_DOMAIN}").delete()


@transaction.atomic
def seed_bench(*, kitchens: int, dishes: int, lat: float, lng: float, spread_km: float = 3.0, seed: int = 7) -> int:
    """Create ``kitchens`` approved, always-open kitchens within ``spread_km`` of the
    point, each delivering 10 km, with ``dishes`` dishes each. Returns the dish count."""
    rng = random.Random(seed)  # noqa: S311 - benchmark data, not a secret
    password = make_password(None)  # unusable: bench chefs never log in
    users = User.objects.bulk_create(
        [
            User(email=f"chef{i:04d}@{BENCH_DOMAIN}", full_name=f"Bench Chef {i}", role=Role.CHEF, password=password)
            for i in range(kitchens)
        ]
    )
    places = []
    for i, user in enumerate(users):
        distance, bearing = spread_km * math.sqrt(rng.random()), rng.uniform(0, 2 * math.pi)
        places.append(
            Kitchen(
                chef=user,
                display_name=f"Bench Kitchen {i:04d}",
                cuisine=CUISINES[i % len(CUISINES)],
                bio="Seeded for the browse benchmark.",
                address=f"{i} rue du Banc, Paris",
                lat=lat + distance * math.cos(bearing) / 111.32,
                lng=lng + distance * math.sin(bearing) / (111.32 * math.cos(math.radians(lat))),
                delivery_radius_km=10.0,
                prep_minutes=15 + i % 20,
                is_approved=True,
            )
        )
    places = Kitchen.objects.bulk_create(places)
    OpeningHours.objects.bulk_create(
        [OpeningHours(kitchen=k, weekday=d, opens_minute=0, closes_minute=24 * 60) for k in places for d in range(7)]
    )
    today = local_today()
    rows = []
    for k in places:
        for j in range(dishes):
            per_day = rng.randint(5, 40)
            rows.append(
                Dish(
                    kitchen=k,
                    name=f"{k.cuisine} dish {j:02d}",
                    description="A benchmark dish with a description of realistic length for the payload.",
                    price_cents=rng.randint(600, 2400),
                    allergen_mask=to_mask(rng.sample(ALLERGENS, rng.randint(0, 3)), ALLERGENS),
                    dietary_mask=to_mask(rng.sample(DIETARY_TAGS, rng.randint(0, 2)), DIETARY_TAGS),
                    portions_per_day=per_day,
                    portions_left=per_day,
                    stock_date=today,
                )
            )
    Dish.objects.bulk_create(rows, batch_size=2000)
    catalog_changed()
    return len(rows)


def refresh_planner_statistics() -> None:
    """Bulk inserts leave PostgreSQL's statistics stale until autovacuum comes by, and
    the planner then scans whole tables: measure with fresh ones."""
    if connection.vendor == "postgresql":
        tables = [Dish._meta.db_table, Kitchen._meta.db_table, OpeningHours._meta.db_table, User._meta.db_table]
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE " + ", ".join(connection.ops.quote_name(t) for t in tables))


class Command(BaseCommand):
    help = "Seed kitchens x dishes around one point for the browse benchmark (bulk inserts)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--kitchens", type=int, default=200)
        parser.add_argument("--dishes", type=int, default=20)
        parser.add_argument("--lat", type=float, default=48.8566)
        parser.add_argument("--lng", type=float, default=2.3522)
        parser.add_argument("--reset", action="store_true", help="remove earlier bench rows first")

    def handle(self, *args, kitchens: int, dishes: int, lat: float, lng: float, reset: bool, **options) -> None:
        existing = Dish.objects.filter(kitchen__chef__email__endswith=f"@{BENCH_DOMAIN}").count()
        if existing == kitchens * dishes and not reset:
            self.stdout.write(f"Bench data already seeded: {existing} dishes.")
            return
        bench_rows_delete()
        count = seed_bench(kitchens=kitchens, dishes=dishes, lat=lat, lng=lng)
        refresh_planner_statistics()
        self.stdout.write(f"Seeded {kitchens} kitchens x {dishes} dishes = {count} dishes around {lat}, {lng}.")
