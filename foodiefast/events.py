"""Events: how a lower app tells higher ones what happened, without importing them.

An app declares its events as frozen dataclasses subclassing :class:`Event` (in its
``events.py``) and publishes them from services with :func:`publish`. A higher app
subscribes handlers in its ``AppConfig.ready()``.

Delivery goes through a transactional outbox (:mod:`foodiefast.outbox`): ``publish``
writes one row per subscribed handler in the publisher's own transaction, so the news
exists exactly when the change does; after commit the rows are handed to Celery, and a
periodic relay sends whatever the broker could not take then. A broker outage delays
news and never loses it, and never fails the request that made it. Each handler runs
at least once, in a task, after commit: handlers must be idempotent, and run inside
the transaction that marks their row delivered (so their database writes and the
marker commit together and a redelivered task does nothing). A handler therefore does
database work only; network calls go to a task enqueued after commit.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Callable
from typing import Any, TypeVar

from django.db import transaction
from django.utils.module_loading import import_string

E = TypeVar("E", bound="Event")

_subscribers: dict[str, list[str]] = defaultdict(list)


@dataclasses.dataclass(frozen=True)
class Event:
    """Base of every announced event: past-tense name, JSON-serialisable fields."""

    @classmethod
    def type_name(cls) -> str:
        return f"{cls.__module__}.{cls.__qualname__}"

    def to_payload(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def subscribe(event_cls: type[E], handler: Callable[[E], None]) -> None:
    """Run ``handler(event)`` in a task after each commit that published ``event_cls``."""
    path = f"{handler.__module__}.{handler.__qualname__}"
    if path not in _subscribers[event_cls.type_name()]:
        _subscribers[event_cls.type_name()].append(path)


def subscribers(event_cls: type[Event]) -> list[str]:
    return list(_subscribers[event_cls.type_name()])


def publish(event: Event) -> None:
    """Announce ``event``: one outbox row per subscribed handler, written in the
    current transaction (at once outside one), relayed to Celery after commit.
    Nothing is sent when the transaction rolls back; a broker that is down or frozen
    leaves the rows to the periodic relay and never raises here."""
    from foodiefast import outbox

    outbox.outbox_record(
        event_type=event.type_name(), payload=event.to_payload(), handlers=_subscribers[event.type_name()]
    )
    for listener in _local_listeners:
        transaction.on_commit(lambda ev=event, fn=listener: fn(ev))


def handle(*, handler_path: str, event_type: str, payload: dict[str, Any]) -> None:
    """Call the handler at ``handler_path`` with the event rebuilt from its payload."""
    event_cls = import_string(event_type)
    handler = import_string(handler_path)
    handler(event_cls(**payload))


# In-process listeners (tests, metrics): called on commit in the publishing process.
_local_listeners: list[Callable[[Event], None]] = []


def add_local_listener(fn: Callable[[Event], None]) -> Callable[[], None]:
    _local_listeners.append(fn)
    return lambda: _local_listeners.remove(fn)
