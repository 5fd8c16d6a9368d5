"""``seed_demo``: the demo data (``apps/demo/data.json``), idempotent; prints the logins."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from apps.demo.services import demo_seed


class Command(BaseCommand):
    help = "Create demo logins, kitchens and dishes around Paris. Idempotent."

    def handle(self, *args, **options) -> None:
        seeded = demo_seed()
        self.stdout.write("Demo logins (role, email, password):")
        self.stdout.write("\n".join(f"  {x.label:<14} {x.email:<28} {x.password}" for x in seeded.logins))
        waiting = ", ".join(kitchen.display_name for kitchen in seeded.waiting)
        self.stdout.write(
            f"{len(seeded.approved)} approved kitchens around Paris, {len(seeded.waiting)} waiting for approval"
            f" ({waiting}); chefs manage theirs at /admin/ or with the chef API."
        )
