"""The platform's local time (``settings.LOCAL_TIME_ZONE``, Europe/Paris): opening
hours and the daily stock are local, everything stored is UTC."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone


def local_zone() -> ZoneInfo:
    return ZoneInfo(settings.LOCAL_TIME_ZONE)


def local_now() -> dt.datetime:
    return timezone.now().astimezone(local_zone())


def local_today() -> dt.date:
    return local_now().date()
