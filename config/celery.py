"""The Celery app: settings from Django's (CELERY_* names), tasks from every app, the
beat schedule in code."""

import os

from celery import Celery
from celery.schedules import crontab
from django.conf import settings

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("foodiefast")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(
    ["foodiefast", "apps.accounts", "apps.chefs", "apps.menus", "apps.orders", "apps.payments", "apps.tracking"]
)

# Periodic sweeps. Timers that matter live in the database; these only find what is due.
app.conf.beat_schedule = {
    # Events the broker could not take after their commit (foodiefast.outbox).
    "events-outbox-relay": {
        "task": "foodiefast.tasks.outbox_relay_task",
        "schedule": settings.OUTBOX_RELAY_SECONDS,
        "options": {"expires": settings.OUTBOX_RELAY_SECONDS},
    },
    "events-outbox-purge": {
        "task": "foodiefast.tasks.outbox_purge_task",
        "schedule": crontab(minute=17),
        "options": {"expires": 3000},
    },
    # Mail the broker lost, or due again after a long pause (foodiefast.mail).
    "mail-relay": {
        "task": "foodiefast.tasks.notify_mail_relay_task",
        "schedule": settings.MAIL_RELAY_SECONDS,
        "options": {"expires": settings.MAIL_RELAY_SECONDS},
    },
    "mail-purge": {
        "task": "foodiefast.tasks.notify_mail_purge_task",
        "schedule": crontab(minute=47),
        "options": {"expires": 3000},
    },
    # Payments whose webhook is late or lost: ask Stripe (apps.payments.services.payment_reconcile).
    "payments-reconcile": {
        "task": "apps.payments.tasks.payments_reconcile_task",
        "schedule": 60.0,
        "options": {"expires": 55},
    },
    # Order timers (apps.orders.services.news): unpaid orders expire, unaccepted ones are
    # cancelled, within 10 s after their time.
    "orders-timers": {
        "task": "apps.orders.tasks.orders_sweep_timers_task",
        "schedule": 5.0,
        "options": {"expires": 5},
    },
    # Photo uploads never used (their originals deleted) or used long ago (foodiefast.photos).
    "photos-uploads-purge": {
        "task": "foodiefast.tasks.photo_uploads_purge_task",
        "schedule": crontab(minute=37),
        "options": {"expires": 3000},
    },
    # Photos whose task the broker could not take or lost (foodiefast.photos).
    "photos-kitchens-stalled": {
        "task": "apps.chefs.tasks.kitchen_photo_sweep_task",
        "schedule": crontab(minute="*/5"),
        "options": {"expires": 290},
    },
    "photos-dishes-stalled": {
        "task": "apps.menus.tasks.dish_photo_sweep_task",
        "schedule": crontab(minute="*/5"),
        "options": {"expires": 290},
    },
    # Local midnight (Europe/Paris) moves with DST while beat runs in UTC: the task is
    # idempotent per local date, so it simply runs every 5 minutes and acts once a day.
    "menus-daily-stock-reset": {
        "task": "apps.menus.tasks.dish_stock_reset_daily_task",
        "schedule": crontab(minute="*/5"),
        "options": {"expires": 290},
    },
    # Deliveries ready and unclaimed for UNCLAIMED_ALERT_MINUTES alert staff (once each).
    "tracking-unclaimed-alert": {
        "task": "apps.tracking.tasks.deliveries_alert_unclaimed_task",
        "schedule": 30.0,
        "options": {"expires": 30},
    },
    # Delivery trails older than LOCATION_RETENTION_DAYS (GDPR).
    "tracking-trail-purge": {
        "task": "apps.tracking.tasks.trail_purge_task",
        "schedule": crontab(minute=37),
        "options": {"expires": 3000},
    },
}
