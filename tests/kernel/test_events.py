from dataclasses import dataclass

import pytest
from django.db import transaction

from foodiefast.events import Event, publish, subscribe

pytestmark = pytest.mark.django_db(transaction=True)

received: list["SomethingHappened"] = []


@dataclass(frozen=True)
class SomethingHappened(Event):
    thing_id: str
    amount_cents: int


def remember(event: SomethingHappened) -> None:
    received.append(event)


subscribe(SomethingHappened, remember)
subscribe(SomethingHappened, remember)  # subscribing twice delivers once


@pytest.fixture(autouse=True)
def _clear():
    received.clear()


def test_handlers_get_the_event_after_commit_through_a_task():
    with transaction.atomic():
        publish(SomethingHappened(thing_id="t-1", amount_cents=1200))
        assert received == []  # nothing acts on uncommitted data

    assert received == [SomethingHappened(thing_id="t-1", amount_cents=1200)]


def test_nothing_is_announced_when_the_transaction_rolls_back():
    with pytest.raises(RuntimeError), transaction.atomic():
        publish(SomethingHappened(thing_id="t-2", amount_cents=1))
        raise RuntimeError("the write failed")

    assert received == []
