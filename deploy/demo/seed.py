"""The data the demo traffic needs, written by the release that serves first.

Run as a script with a release's checkout as the working directory (``Seed.load``
does it): it imports that release's code only (the bench's setups, tracking's
services), so the rows match the schema that release migrated. Prints one JSON
object on its last line:

- ``browse``: the path of a cached browse request (the bench's kitchen near the
  Louvre and its dishes);
- ``checkout``: the dish and body of an order, and customers' access tokens;
- ``follow``: a customer's access token and open orders of theirs, to stream;
- ``couriers``: a courier's access token per followed order, each holding a claimed
  delivery of that order, so each of their pings is a ``location`` event on that
  order's channel.
"""

from __future__ import annotations

import json
import os
import sys


def seed(streams: int) -> dict:
    from rest_framework_simplejwt.tokens import AccessToken

    from apps.accounts.models import User
    from apps.tracking.services import courier_set_availability, delivery_claim, delivery_open
    from bench.scenarios import BROWSE_POINT, CHECKOUT_DROP_OFF, _checkout_menu
    from bench.streams import stream_orders
    from foodiefast.geo import Point

    menu = _checkout_menu()
    follow = stream_orders(streams)
    couriers = []
    for n, order_id in enumerate(follow["order_ids"]):
        courier, _ = User.objects.get_or_create(
            email=f"deploy-courier-{n}@foodiefast.bench",
            defaults={"full_name": f"Deploy Courier {n}", "role": "courier"},
        )
        courier_set_availability(courier=courier, online=True, lat=48.8615, lng=2.3365)
        delivery = delivery_open(reference=order_id, pickup=Point(48.861, 2.336), dropoff=Point(48.8566, 2.3522))
        delivery_claim(courier=courier, delivery_id=delivery.pk)
        couriers.append(str(AccessToken.for_user(courier)))
    customers = User.objects.filter(pk__in=menu["customer_ids"])
    return {
        "browse": f"/api/v1/dishes?{BROWSE_POINT}",
        "checkout": {
            "body": {"items": [{"dish_id": menu["dish_id"], "quantity": 2}], "delivery": CHECKOUT_DROP_OFF},
            "tokens": [str(AccessToken.for_user(user)) for user in customers],
        },
        "follow": follow,
        "couriers": couriers,
    }


if __name__ == "__main__":
    # The release's checkout (the working directory) first: its code, not this one's.
    sys.path[0] = os.getcwd()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    print(json.dumps(seed(int(sys.argv[1]))))
