"""Demo data around Paris: logins for every role (idempotent: run it as often as you like).

It lives in orders, the one app that may use all the others.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand
from django.db import transaction

from apps.accounts.models import Role, User

DEMO_PASSWORD = "foodiefast-demo"  # noqa: S105 - the published demo login

DEMO_USERS = [
    ("customer@foodiefast.demo", "Camille Martin", Role.CUSTOMER, False),
    ("courier@foodiefast.demo", "Karim Benali", Role.COURIER, False),
    ("chef@foodiefast.demo", "Sophie Laurent", Role.CHEF, False),
    ("admin@foodiefast.demo", "Platform Staff", Role.CUSTOMER, True),
]


class Command(BaseCommand):
    help = "Create demo logins (and, as the apps grow, kitchens and dishes) around Paris. Idempotent."

    @transaction.atomic
    def handle(self, *args, **options) -> None:
        lines = []
        for email, full_name, role, staff in DEMO_USERS:
            user = User.objects.filter(email=email).first()
            if user is None:
                user = User.objects.create_user(
                    email=email,
                    password=DEMO_PASSWORD,
                    full_name=full_name,
                    role=role,
                    is_staff=staff,
                    is_superuser=staff,
                )
            label = "staff (admin)" if staff else role
            lines.append(f"  {label:<14} {email:<28} {DEMO_PASSWORD}")
        self.stdout.write("Demo logins (role, email, password):")
        self.stdout.write("\n".join(lines))
