"""What the bench's bare apps share: Django set up as the web process has it, and the
kernel entry (``foodiefast.asgi.entry``) serving a bare app the way the Procfile's web
line serves ``config.asgi``: stream routes, edge handlers, then a2wsgi's pool of
``WEB_THREADS`` threads. bench/run.py swaps the app path of the Procfile's web line
and nothing else (``Scenario.web_app``).
"""

from __future__ import annotations

import json
import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django

django.setup()

from django.conf import settings  # noqa: E402

from foodiefast.asgi import entry  # noqa: E402


def served(wsgi_application, *, edge: tuple[str, str] | None = None):
    """The kernel entry over ``wsgi_application``; ``edge`` (the dotted path of one of
    ``ASGI_EDGE_HANDLERS``, and another's): that edge handler replaced in its place."""
    if edge is not None:
        replaced, replacement = edge
        if replaced not in settings.ASGI_EDGE_HANDLERS:
            raise LookupError(f"{replaced} is not one of ASGI_EDGE_HANDLERS")
        handlers = settings.ASGI_EDGE_HANDLERS
        settings.ASGI_EDGE_HANDLERS = [replacement if path == replaced else path for path in handlers]
    return entry(wsgi_application, threads=settings.WEB_THREADS)


def json_bytes(body: dict) -> bytes:
    """An answer's JSON body."""
    return json.dumps(body).encode()
