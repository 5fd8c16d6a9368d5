"""Every write of accounts: registration, sign-in, profile, erasure."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken
from rest_framework_simplejwt.utils import datetime_from_epoch

from apps.accounts.errors import InvalidCredentials, InvalidRefreshToken, LoginThrottled
from apps.accounts.events import UserErased, UserRegistered
from apps.accounts.models import Language, Role, User, normalize_email
from foodiefast import ratelimit
from foodiefast.errors import InvalidInput
from foodiefast.events import publish
from foodiefast.mail import mail_forget

SELF_SERVICE_ROLES = (Role.CUSTOMER, Role.COURIER, Role.CHEF)


def user_register(
    *, email: str, password: str, full_name: str, role: str = Role.CUSTOMER, language: str = Language.FR
) -> User:
    """Create an account with a self-service role, its emails in ``language``. Announces ``UserRegistered`` (chefs
    then open the unapproved kitchen). Raises ``InvalidInput`` for a taken email, a
    weak password or a role that cannot be chosen (staff is never chosen)."""
    email = normalize_email(email)
    if role not in SELF_SERVICE_ROLES:
        choice = _('"%(value)s" is not a valid choice.') % {"value": role}
        raise InvalidInput(_("Unknown role."), fields={"role": [choice]})
    candidate = User(email=email, full_name=full_name, role=role)
    try:
        validate_password(password, user=candidate)
    except DjangoValidationError as exc:
        raise InvalidInput(exc.messages[0], fields={"password": list(exc.messages)}) from exc
    taken = InvalidInput(
        "An account with this email already exists.", fields={"email": ["An account with this email already exists."]}
    )
    if User.objects.filter(email=email).exists():
        raise taken
    try:
        return user_create(email=email, password=password, full_name=full_name, role=role, language=language)
    except IntegrityError as exc:  # a concurrent registration took the email first
        raise taken from exc


@transaction.atomic
def user_create(
    *,
    email: str,
    password: str,
    full_name: str,
    role: str,
    language: str = Language.FR,
    is_staff: bool = False,
    is_superuser: bool = False,
) -> User:
    """Write a new account and announce ``UserRegistered`` (chefs then open their
    kitchen): what :func:`user_register` does once its self-service checks passed,
    and how accounts made on the platform's side (the demo logins, staff) are
    created, so every account is announced the same way. Raises ``IntegrityError``
    for a taken email."""
    user = User.objects.create_user(
        email=normalize_email(email),
        password=password,
        full_name=full_name,
        role=role,
        language=language,
        is_staff=is_staff,
        is_superuser=is_superuser,
    )
    publish(UserRegistered(user_id=str(user.pk), role=user.role))
    return user


def _account_key(email: str) -> str:
    return ratelimit.key_for("login-account", normalize_email(email))


def _ip_key(ip: str) -> str:
    return ratelimit.key_for("login-ip", ip)


def auth_check_credentials(*, email: str, password: str, client_ip: str) -> User:
    """The active account matching ``email`` and ``password``: the one sign-in rule that
    the API and the admin share, so failures in either count toward the same budget.

    Throttles failed attempts: after ``LOGIN_FAILURES_PER_ACCOUNT`` failures for one
    account within the window every attempt for it (the right password too) raises
    ``LoginThrottled`` until the window passes; failures per client IP count against
    a generous ``LOGIN_FAILURES_PER_IP``, so an office behind one address keeps
    signing in. Raises ``InvalidCredentials`` otherwise.
    """
    window = settings.LOGIN_FAILURE_WINDOW_SECONDS
    account_key, ip_key = _account_key(email), _ip_key(client_ip)
    for key, limit in ((account_key, settings.LOGIN_FAILURES_PER_ACCOUNT), (ip_key, settings.LOGIN_FAILURES_PER_IP)):
        wait = ratelimit.retry_after(key, limit=limit)
        if wait is not None:
            raise LoginThrottled(retry_after=wait)

    user = authenticate(email=normalize_email(email), password=password)
    if user is None:
        ratelimit.hit(account_key, window_seconds=window)
        ratelimit.hit(ip_key, window_seconds=window)
        raise InvalidCredentials()
    return user


def auth_obtain_tokens(*, email: str, password: str, client_ip: str) -> dict[str, str]:
    """Sign in: ``{"access", "refresh"}``, under the throttle of ``auth_check_credentials``."""
    user = auth_check_credentials(email=email, password=password, client_ip=client_ip)
    refresh = RefreshToken.for_user(user)
    return {"access": str(refresh.access_token), "refresh": str(refresh)}


def auth_rotate_tokens(*, refresh: str) -> dict[str, str]:
    """Trade a refresh token for a new pair ``{"access", "refresh"}``; the used one is
    revoked. Exactly one of several concurrent rotations of the same token wins: the
    token's row is locked, checked and blacklisted in the transaction that issues the
    new pair, so the others find it used and raise ``InvalidRefreshToken``. Raises it
    too for an invalid, expired or revoked token, or one of an inactive account."""
    try:
        used = RefreshToken(refresh)
    except TokenError as exc:
        raise InvalidRefreshToken() from exc
    user = User.objects.filter(pk=used.payload.get(jwt_settings.USER_ID_CLAIM)).first()
    if user is None or not jwt_settings.USER_AUTHENTICATION_RULE(user):
        raise InvalidRefreshToken()
    with transaction.atomic():
        outstanding, _ = OutstandingToken.objects.get_or_create(
            jti=used[jwt_settings.JTI_CLAIM],
            defaults={"user": user, "token": refresh, "expires_at": datetime_from_epoch(used["exp"])},
        )
        outstanding = OutstandingToken.objects.select_for_update().get(pk=outstanding.pk)
        if BlacklistedToken.objects.filter(token=outstanding).exists():
            raise InvalidRefreshToken()
        BlacklistedToken.objects.create(token=outstanding)
        fresh = RefreshToken.for_user(user)
    return {"access": str(fresh.access_token), "refresh": str(fresh)}


def user_update_profile(
    *, user: User, full_name: str | None = None, phone: str | None = None, language: str | None = None
) -> User:
    """Change what a person may change about themselves (never email, role or staff
    flags): name, phone, and the language their emails are written in."""
    changes = {"full_name": full_name, "phone": phone, "language": language}
    fields = [name for name, value in changes.items() if value is not None]
    for name in fields:
        setattr(user, name, changes[name])
    if fields:
        user.save(update_fields=fields)
    return user


@transaction.atomic
def user_erase(*, user: User) -> None:
    """Erase an account (GDPR): personal data anonymised, the row kept so order records
    stay for accounting, every token revoked, the email free to sign up again, mail to
    it (owed or sent) forgotten.
    Announces ``UserErased`` so other apps can anonymise what they hold."""
    user = User.objects.select_for_update().get(pk=user.pk)
    mail_forget(recipient=user.email)  # owed mail is not sent, sent mail not kept
    user.email = f"erased-{uuid.uuid4().hex}@erased.invalid"
    user.full_name = ""
    user.phone = ""
    user.is_active = False
    user.deleted_at = timezone.now()
    # A new unusable password hash also revokes every access token (CHECK_REVOKE_TOKEN).
    user.set_unusable_password()
    user.save()
    for token in OutstandingToken.objects.filter(user=user).exclude(blacklistedtoken__isnull=False):
        BlacklistedToken.objects.get_or_create(token=token)
    publish(UserErased(user_id=str(user.pk)))
