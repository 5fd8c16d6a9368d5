"""Reading the Prometheus text that /metrics answers."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from tests.asgi_call import asgi_get

TOKEN = "metrics-token-for-tests"
AUTH = ((b"authorization", f"Bearer {TOKEN}".encode()),)


def metrics_app(settings):
    """The web entry in this process, its figures readable with ``TOKEN``."""
    from django.core.wsgi import get_wsgi_application

    from foodiefast.asgi import entry

    settings.METRICS_TOKEN = TOKEN
    return entry(get_wsgi_application(), threads=2)


def scrape(app) -> str:
    """GET /metrics through ``app`` with the token: the exposition's text."""
    answer = asgi_get(app, "/metrics", headers=AUTH)
    assert answer.status == 200, answer.body
    assert answer.headers[b"content-type"].startswith(b"text/plain; version=0.0.4")
    return answer.body.decode()


def sample(text: str, name: str, **labels: str) -> float:
    """The value of one sample of the exposition (0 when absent)."""
    for family in text_string_to_metric_families(text):
        for found in family.samples:
            if found.name == name and all(found.labels.get(k) == v for k, v in labels.items()):
                return found.value
    return 0.0
