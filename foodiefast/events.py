"""Events: how a lower app tells higher ones what happened, without importing them.

An app declares its events as frozen dataclasses subclassing :class:`Event` (in its
``events.py``) and publishes them from services with :func:`publish`. A higher app
subscribes handlers in its ``AppConfig.ready()``. Delivery happens only after the
surrounding transaction commits, one Celery task per handler, so a handler never sees
uncommitted or rolled-back data and a slow handler never holds the publisher up.
Handlers must be idempotent: a task can run twice (late acknowledgement).
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
    """Announce ``event`` once the current transaction commits (at once outside one)."""
    from foodiefast.tasks import dispatch_event_task

    type_name = event.type_name()
    payload = event.to_payload()
    for handler_path in _subscribers[type_name]:
        dispatch_event_task.delay_on_commit(handler_path, type_name, payload)
    for listener in _local_listeners:
        transaction.on_commit(lambda ev=event, fn=listener: fn(ev))


def dispatch(handler_path: str, type_name: str, payload: dict[str, Any]) -> None:
    event_cls = import_string(type_name)
    handler = import_string(handler_path)
    handler(event_cls(**payload))


# In-process listeners (tests, metrics): called on commit in the publishing process.
_local_listeners: list[Callable[[Event], None]] = []


def add_local_listener(fn: Callable[[Event], None]) -> Callable[[], None]:
    _local_listeners.append(fn)
    return lambda: _local_listeners.remove(fn)
