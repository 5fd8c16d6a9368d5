"""System checks of the kernel.

Django's ``security.W003`` looks for its CSRF middleware by its dotted path; the
project runs a subclass of it (:class:`foodiefast.middleware.CsrfViewMiddleware`), so
settings silence W003 and this check stands in for it: some CSRF middleware derived
from Django's must be in ``MIDDLEWARE``, or ``check --deploy`` fails."""

from __future__ import annotations

from django.conf import settings
from django.core import checks
from django.middleware.csrf import CsrfViewMiddleware
from django.utils.module_loading import import_string


@checks.register(checks.Tags.security, deploy=True)
def csrf_middleware_installed(app_configs, **kwargs) -> list[checks.CheckMessage]:
    for path in settings.MIDDLEWARE:
        try:
            middleware = import_string(path)
        except ImportError:
            continue
        if isinstance(middleware, type) and issubclass(middleware, CsrfViewMiddleware):
            return []
    return [
        checks.Warning(
            "No CSRF middleware derived from Django's CsrfViewMiddleware is in MIDDLEWARE.",
            hint="Keep foodiefast.middleware.CsrfViewMiddleware in MIDDLEWARE.",
            id="foodiefast.W003",
        )
    ]
