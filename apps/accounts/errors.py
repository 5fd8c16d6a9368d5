from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from rest_framework import status

from foodiefast.errors import DomainError


class InvalidCredentials(DomainError):
    status_code = status.HTTP_401_UNAUTHORIZED
    code = "invalid_credentials"
    detail = _("No active account matches this email and password.")


class LoginThrottled(DomainError):
    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    code = "throttled"
    detail = _("Too many failed sign-in attempts. Try again later.")

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            ngettext(
                "Too many failed sign-in attempts. Try again in %(seconds)d second.",
                "Too many failed sign-in attempts. Try again in %(seconds)d seconds.",
                retry_after,
            )
            % {"seconds": retry_after},
            headers={"Retry-After": str(retry_after)},
        )


class InvalidRefreshToken(DomainError):
    status_code = status.HTTP_401_UNAUTHORIZED
    code = "not_authenticated"
    detail = _("The refresh token is invalid, expired or already used.")
