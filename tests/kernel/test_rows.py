"""Plain-SQL rows (foodiefast.rows): what the hot paths read and write must be what
the ORM would have read and written, or the rest of the code would see other data."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.db import IntegrityError, transaction
from django.db.models.signals import pre_save
from django.utils import timezone

from apps.accounts.models import User
from foodiefast.models import MailMessage, OutboxMessage
from foodiefast.rows import get_by_pk, insert, update
from tests.factories.accounts import UserFactory

pytestmark = pytest.mark.django_db


def _fields(obj) -> dict:
    return {field.attname: getattr(obj, field.attname) for field in type(obj)._meta.concrete_fields}


def test_an_inserted_row_reads_back_as_the_orm_would_have_written_it(django_assert_num_queries):
    moment = timezone.now().replace(microsecond=0)
    with time_machine.travel(moment, tick=False):
        plain = OutboxMessage(event_type="tests.Event", handler="tests.handler", payload={"id": "1", "n": [1, 2]})
        orm = OutboxMessage(event_type="tests.Event", handler="tests.handler", payload={"id": "1", "n": [1, 2]})
        with django_assert_num_queries(1):
            insert(plain)
        orm.save()

    assert plain.pk is not None and plain.pk != orm.pk
    assert plain._state.adding is False
    stored = OutboxMessage.objects.get(pk=plain.pk)
    expected = _fields(OutboxMessage.objects.get(pk=orm.pk)) | {"id": plain.pk}
    assert _fields(stored) == expected
    assert stored.payload == {"id": "1", "n": [1, 2]}
    assert stored.created_at == moment


def test_several_rows_go_in_one_statement_each_with_its_primary_key(django_assert_num_queries):
    messages = [OutboxMessage(event_type="tests.Event", handler=f"tests.h{n}", payload={"n": n}) for n in range(3)]
    with django_assert_num_queries(1):
        insert(*messages)
    assert sorted(OutboxMessage.objects.values_list("pk", "handler")) == [(m.pk, m.handler) for m in messages]


def test_a_unique_violation_is_the_orms_integrity_error_and_rolls_the_block_back():
    def mail() -> MailMessage:
        return MailMessage(
            kind="tests.kind", object_id="1", recipient="a@example.com", language="fr", template="t", context={}
        )

    insert(mail())
    with pytest.raises(IntegrityError), transaction.atomic():
        insert(mail())
    assert MailMessage.objects.count() == 1


def test_an_update_writes_the_named_fields_only():
    message = OutboxMessage.objects.create(event_type="tests.Event", handler="tests.handler", payload={})
    later = timezone.now() + timedelta(minutes=5)
    OutboxMessage.objects.filter(pk=message.pk).update(last_error="written elsewhere")
    message.attempts, message.available_at = 3, later
    update(message, ["attempts", "available_at"])

    stored = OutboxMessage.objects.get(pk=message.pk)
    assert (stored.attempts, stored.available_at, stored.last_error) == (3, later, "written elsewhere")


def test_a_model_with_save_receivers_is_written_by_the_orm_so_they_run():
    heard: list[str] = []

    def receiver(sender, instance, **kwargs) -> None:
        heard.append(instance.handler)

    pre_save.connect(receiver, sender=OutboxMessage)
    try:
        insert(OutboxMessage(event_type="tests.Event", handler="tests.heard", payload={}))
    finally:
        pre_save.disconnect(receiver, sender=OutboxMessage)
    assert heard == ["tests.heard"]
    assert OutboxMessage.objects.filter(handler="tests.heard").exists()


def test_a_row_read_by_primary_key_equals_the_orms_instance(django_assert_num_queries):
    user = UserFactory()
    with django_assert_num_queries(1):
        plain = get_by_pk(User, str(user.pk))
    assert _fields(plain) == _fields(User.objects.get(pk=user.pk))
    assert plain.date_joined.tzinfo is not None
    with pytest.raises(User.DoesNotExist):
        get_by_pk(User, "00000000-0000-0000-0000-000000000000")
