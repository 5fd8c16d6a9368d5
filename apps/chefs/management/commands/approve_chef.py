"""``python manage.py approve_chef <email>``: what staff do with the admin's approve action."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from apps.chefs.services import kitchen_approve_by_email
from foodiefast.errors import DomainError


class Command(BaseCommand):
    help = "Approve the kitchen of the chef with this email (it needs a location)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("email")

    def handle(self, *args, email: str, **options) -> None:
        try:
            kitchen = kitchen_approve_by_email(email=email)
        except DomainError as exc:
            raise CommandError(exc.detail) from exc
        self.stdout.write(f"Kitchen {kitchen.display_name or kitchen.pk} of {email} is approved.")
