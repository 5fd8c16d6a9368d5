"""Email: one templated message per recipient, sent by the worker, never twice, never lost.

Life of a message (:class:`~foodiefast.models.MailMessage`):

1. requested by :func:`mail_request` in the transaction of the change it tells about
   (an order paid, ...): a row keyed by ``(kind, object_id, recipient)``, so a second
   request for the same news (a redelivered handler) adds nothing. After commit
   ``notify_mail_task(id)`` goes to the ``notifications`` queue; a broker that cannot
   take it leaves the row to the relay.
2. sent by :func:`mail_deliver` in that task: the row is claimed for a lease (never
   two senders at once, and no row lock is held while talking to the mail server),
   rendered in the recipient's language (:func:`mail_render`) and handed to Django's
   email backend (``EMAIL_URL``), whose every socket operation is bounded by
   ``EMAIL_TIMEOUT``: a frozen server costs the worker that long, not a hang.
   ``sent_at`` is written as soon as the server took the message (its answer to the
   message's data), before the connection is closed: a server that hangs or fails
   after that (on ``QUIT``) has the message, so the mail counts as sent.
3. on failure (server down, refusing for now, frozen) the row waits
   ``MAIL_RETRY_SECONDS``, doubling up to ``MAIL_RETRY_MAX_SECONDS``: the task
   retries itself while the pause is short (well under the broker's visibility
   timeout), and beat's relay (:func:`mail_relay`) sends what is due after longer
   pauses, or what the broker lost. A down server delays mail, and loses none.
   A recipient or message the server refuses for good (5xx) is marked failed.
4. sent rows are purged after ``MAIL_RETENTION_DAYS`` (:func:`mail_purge`).

Delivery is at least once, and exactly once but in one narrow window: the mail
server took the message and the worker died (killed, its machine lost) or the
database became unreachable between the server's answer and the commit of
``sent_at``. The lease then runs out and the relay sends the message again, with the
same ``Message-ID`` (one per row), which mail clients and providers use to show the
copies as one. The other choice, ``sent_at`` written before sending (at most once),
would lose a message whenever the worker dies before the server has it; an order
email is worth a rare duplicate. A worker killed at any other point (rendering,
connecting, waiting for the server's greeting or answers before the data was taken)
has sent nothing: the task is redelivered by the broker (``acks_late``) and the
message sent once, after the lease of the dead attempt has run out.
"""

from __future__ import annotations

import enum
import logging
import smtplib
from collections.abc import Iterable
from datetime import timedelta
from email.utils import parseaddr
from typing import Any, NamedTuple

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import transaction
from django.db.models import Q
from django.template.loader import render_to_string, select_template
from django.utils import timezone, translation

from foodiefast.formatting import DEFAULT_LANGUAGE, LOCALES
from foodiefast.models import MailMessage

logger = logging.getLogger("foodiefast.mail")

RELAY_BATCH = 200
PURGE_BATCH = 5000
# A claim outlives any run of the task: Celery kills it at its hard time limit.
LEASE_SECONDS_FLOOR = 60
# The task waits out pauses up to this long itself (a countdown far below the broker's
# visibility timeout, so a waiting retry is never handed to a second worker); longer
# pauses are the relay's.
TASK_RETRY_MAX_SECONDS = 60


class Outcome(enum.StrEnum):
    SENT = "sent"
    ALREADY_DONE = "already_done"  # sent or failed for good before: nothing to do
    IN_FLIGHT = "in_flight"  # another worker holds it
    RETRY = "retry"  # not sent this time; due again after Delivery.retry_in seconds
    FAILED = "failed"  # refused for good


class Delivery(NamedTuple):
    outcome: Outcome
    retry_in: int | None = None


def mail_request(
    *, kind: str, object_id: str, recipient: str, language: str, template: str, context: dict[str, Any]
) -> MailMessage:
    """Owe ``recipient`` the mail rendered from ``template`` (``<template>.subject.txt``,
    ``.txt`` and ``.html``, each first looked up as ``<template>.<language>.…``) with
    ``context`` (plain JSON) in ``language``. Written in the current transaction (at
    once outside one) and sent by the worker after commit; the same
    ``(kind, object_id, recipient)`` asked again returns the first request, unchanged.
    Never raises for the broker: a broker that is down leaves the mail to the relay."""
    language = language if language in LOCALES else DEFAULT_LANGUAGE
    message, created = MailMessage.objects.get_or_create(
        kind=kind,
        object_id=str(object_id),
        recipient=recipient,
        defaults={"language": language, "template": template, "context": context},
    )
    if created:
        from foodiefast.tasks import delay_after_commit, notify_mail_task

        delay_after_commit(notify_mail_task, message.pk)
    return message


def mail_render(*, template: str, language: str, context: dict[str, Any]) -> EmailMultiAlternatives:
    """The message (plain text, with the HTML as its alternative) rendered in
    ``language``: templates, numbers, money and times all follow it."""
    with translation.override(language):
        subject = _render(template, "subject.txt", language, context)
        text = _render(template, "txt", language, context)
        html = _render(template, "html", language, context)
    message = EmailMultiAlternatives(subject=" ".join(subject.split()), body=text)
    message.attach_alternative(html, "text/html")
    return message


def _render(template: str, suffix: str, language: str, context: dict[str, Any]) -> str:
    chosen = select_template([f"{template}.{language}.{suffix}", f"{template}.{suffix}"])
    return render_to_string(chosen.template.name, {**context, "language": language})


def mail_deliver(*, message_id: int) -> Delivery:
    """Send one owed message (the task's work). Claims the row for a lease in a short
    transaction, talks to the mail server holding no lock, then records the outcome.
    A message sent or refused for good before, or held by another worker, is left
    alone. A failure is recorded with the time of the next attempt (``retry_in``)."""
    lease = max(LEASE_SECONDS_FLOOR, settings.CELERY_TASK_TIME_LIMIT)
    now = timezone.now()
    claimed = MailMessage.objects.filter(
        Q(leased_until__isnull=True) | Q(leased_until__lt=now),
        pk=message_id,
        sent_at__isnull=True,
        failed_at__isnull=True,
    ).update(leased_until=now + timedelta(seconds=lease))
    if not claimed:
        # Not claimable: another worker holds it, or it was sent, refused or purged.
        state = MailMessage.objects.filter(pk=message_id).values_list("sent_at", "failed_at").first()
        return Delivery(Outcome.IN_FLIGHT if state == (None, None) else Outcome.ALREADY_DONE)
    message = MailMessage.objects.get(pk=message_id)
    try:
        email = mail_render(template=message.template, language=message.language, context=message.context)
    except Exception as exc:  # a template this release cannot render: kept, and sent once a fix is deployed
        logger.exception("mail %s could not be rendered", message)
        return _record_failure(message, exc)
    email.to = [message.recipient]
    email.from_email = settings.DEFAULT_FROM_EMAIL
    email.extra_headers["Message-ID"] = mail_message_id(message)
    connection = get_connection(fail_silently=False)
    try:
        connection.open()
        connection.send_messages([email])  # the server's answer to the data: it has the message
    except (smtplib.SMTPException, OSError) as exc:
        _close_quietly(connection)
        return _record_failure(message, exc)
    MailMessage.objects.filter(pk=message_id).update(sent_at=timezone.now(), leased_until=None, last_error="")
    _close_quietly(connection)
    return Delivery(Outcome.SENT)


def mail_message_id(message: MailMessage) -> str:
    """The ``Message-ID`` of every copy of ``message``: the same for a resend, unique
    across databases (the row's id and creation time, the sender's domain)."""
    domain = parseaddr(settings.DEFAULT_FROM_EMAIL)[1].rpartition("@")[2] or "foodiefast.invalid"
    return f"<mail-{message.pk}.{int(message.created_at.timestamp() * 1000)}@{domain}>"


def _close_quietly(connection) -> None:
    """``QUIT`` and close; a server that fails or hangs (bounded by ``EMAIL_TIMEOUT``)
    now changes nothing: the message was taken, or it was not and that is recorded."""
    try:
        connection.close()
    except (smtplib.SMTPException, OSError) as exc:
        logger.warning("mail server connection not closed cleanly: %r", exc)


def _refused_for_good(exc: Exception) -> bool:
    """A recipient or message the server rejects with a permanent (5xx) code. A
    refused sender or login is the platform's configuration: retried until fixed."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in exc.recipients.values())
    return isinstance(exc, smtplib.SMTPDataError) and exc.smtp_code >= 500


def _record_failure(message: MailMessage, exc: Exception) -> Delivery:
    attempts = message.attempts + 1
    error = f"{type(exc).__name__}: {exc}"[:2000]
    now = timezone.now()
    if _refused_for_good(exc):
        MailMessage.objects.filter(pk=message.pk).update(
            attempts=attempts, last_error=error, failed_at=now, leased_until=None
        )
        logger.error("mail %s refused for good: %s", message, error)
        return Delivery(Outcome.FAILED)
    delay = mail_retry_delay(attempts)
    MailMessage.objects.filter(pk=message.pk).update(
        attempts=attempts, last_error=error, next_attempt_at=now + timedelta(seconds=delay), leased_until=None
    )
    logger.warning("mail %s not sent (attempt %d, next in %ss): %s", message, attempts, delay, error)
    return Delivery(Outcome.RETRY, retry_in=delay)


def mail_retry_delay(attempts: int) -> int:
    """Seconds to wait after ``attempts`` failed sends: ``MAIL_RETRY_SECONDS``,
    doubling, at most ``MAIL_RETRY_MAX_SECONDS``."""
    return min(settings.MAIL_RETRY_SECONDS * 2 ** max(attempts - 1, 0), settings.MAIL_RETRY_MAX_SECONDS)


def mail_relay() -> int:
    """Beat: hand the worker every owed message that is due and claimed by no one
    (after a long pause, or whose task the broker lost); how many. A message whose
    task is merely waiting out a short retry is due a little later than that task,
    so the two rarely meet, and when they do the lease lets one send."""
    now = timezone.now()
    grace = timedelta(seconds=settings.MAIL_RELAY_SECONDS)
    due = list(
        MailMessage.objects.filter(
            Q(leased_until__isnull=True) | Q(leased_until__lt=now),
            sent_at__isnull=True,
            failed_at__isnull=True,
            next_attempt_at__lte=now - grace,
        )
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:RELAY_BATCH]
    )
    from foodiefast.tasks import notify_mail_task

    for message_id in due:
        notify_mail_task.delay(message_id)
    return len(due)


def mail_retry_now(*, message_ids: Iterable[int]) -> int:
    """Staff, from the admin: make these unsent messages due for the next relay, a
    message refused for good included (the address or the server was fixed); how
    many. Sent messages are never sent again."""
    due = timezone.now() - timedelta(seconds=settings.MAIL_RELAY_SECONDS)
    return MailMessage.objects.filter(pk__in=list(message_ids), sent_at__isnull=True).update(
        next_attempt_at=due, failed_at=None
    )


def mail_forget(*, recipient: str) -> int:
    """Erase every message to ``recipient``, sent or owed (an account erased: no more
    mail to it, and no copy of what it was sent); how many. In the caller's transaction."""
    return MailMessage.objects.filter(recipient=recipient).delete()[0]


def mail_purge() -> int:
    """Beat: forget sent messages older than ``MAIL_RETENTION_DAYS``; how many."""
    cutoff = timezone.now() - timedelta(days=settings.MAIL_RETENTION_DAYS)
    with transaction.atomic():
        ids = list(MailMessage.objects.filter(sent_at__lt=cutoff).values_list("pk", flat=True)[:PURGE_BATCH])
        return MailMessage.objects.filter(pk__in=ids).delete()[0]
