"""The one entry the web process serves: wiring only.

What it routes where is in settings (``ASGI_STREAM_ROUTES``, ``ASGI_EDGE_HANDLERS``,
``WEB_THREADS``); the machinery is the kernel's (``foodiefast/asgi.py``).
"""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from config.wsgi import application as wsgi_application  # noqa: I001 - sets Django up first

from django.conf import settings

from foodiefast.asgi import entry, settle_the_heap

application = entry(wsgi_application, threads=settings.WEB_THREADS)

settle_the_heap()
