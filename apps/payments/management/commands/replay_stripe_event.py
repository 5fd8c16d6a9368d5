"""Re-run a stored Stripe event: ``python manage.py replay_stripe_event evt_...``."""

from django.core.management.base import BaseCommand, CommandError

from apps.payments import services
from apps.payments.models import StripeEvent


class Command(BaseCommand):
    help = "Process a stored Stripe event again (by its Stripe id, or our numeric id)."

    def add_arguments(self, parser):
        parser.add_argument("event_id")

    def handle(self, *args, event_id: str, **options):
        row = StripeEvent.objects.filter(stripe_id=event_id).first()
        if row is None and event_id.isdigit():
            row = StripeEvent.objects.filter(pk=int(event_id)).first()
        if row is None:
            raise CommandError(f"No stored Stripe event {event_id}.")
        try:
            outcome = services.stripe_event_process(event_pk=row.pk, force=True)
        except Exception as exc:
            raise CommandError(f"{row.stripe_id} failed again: {type(exc).__name__}: {exc}") from exc
        self.stdout.write(f"{row.stripe_id} ({row.type}): {outcome}")
