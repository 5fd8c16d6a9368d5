"""The WSGI app: every REST, admin and static request."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

application = get_wsgi_application()

from foodiefast.postgresql.base import enforce_query_deadline  # noqa: E402 - needs the settings loaded

# A web request waits a bounded time for the database (503 after it), unlike a
# migration or a task.
enforce_query_deadline()
