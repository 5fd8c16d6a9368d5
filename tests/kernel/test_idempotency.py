"""``create_once``: a replay returns the first row; a concurrent twin waits on the unique
index and returns it too; another request under the same key is refused."""

import threading
import time

import pytest
from django.db import connection, models, transaction
from django.test.utils import isolate_apps

from foodiefast.errors import InvalidInput
from foodiefast.idempotency import IdempotencyKeyReused, create_once, fingerprint, idempotency_key_from

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def keyed_model():
    with isolate_apps("foodiefast"):

        class Purchase(models.Model):  # noqa: DJ008 - a table for this test only
            owner = models.CharField(max_length=20)
            key = models.CharField(max_length=255)
            request_fingerprint = models.CharField(max_length=64)
            amount = models.IntegerField()

            class Meta:
                app_label = "foodiefast"
                constraints = [models.UniqueConstraint(fields=["owner", "key"], name="test_purchase_key")]

        with connection.schema_editor() as editor:
            editor.create_model(Purchase)
        yield Purchase
        with connection.schema_editor() as editor:
            editor.delete_model(Purchase)


def place(model, *, owner="ann", key="k-1", amount=100, pause=None):
    fp = fingerprint({"amount": amount})

    def create():
        row = model.objects.create(owner=owner, key=key, request_fingerprint=fp, amount=amount)
        if pause:
            pause()
        return row

    return create_once(model, lookup={"owner": owner, "key": key}, request_fingerprint=fp, create=create)


def test_a_replay_returns_the_first_row(keyed_model):
    first, created = place(keyed_model)
    again, created_again = place(keyed_model)

    assert created and not created_again
    assert again.pk == first.pk
    assert keyed_model.objects.count() == 1


def test_the_same_key_with_another_request_is_refused(keyed_model):
    place(keyed_model, amount=100)

    with pytest.raises(IdempotencyKeyReused) as caught:
        place(keyed_model, amount=999)
    assert caught.value.as_dict()["code"] == "idempotency_key_reused"
    assert keyed_model.objects.get().amount == 100


def test_keys_are_scoped_by_owner(keyed_model):
    place(keyed_model, owner="ann")
    _, created = place(keyed_model, owner="bob")
    assert created


def test_two_requests_arriving_together_create_one_row(keyed_model):
    barrier = threading.Barrier(2, timeout=10)
    results, errors = [], []

    def worker():
        try:
            barrier.wait()
            with transaction.atomic():
                results.append(place(keyed_model, pause=lambda: time.sleep(0.3)))
        except Exception as exc:  # collected and asserted below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=20)

    assert errors == []
    assert sorted(created for _, created in results) == [False, True]
    assert len({row.pk for row, _ in results}) == 1
    assert keyed_model.objects.count() == 1


class _Request:
    def __init__(self, headers):
        self.headers = headers


@pytest.mark.parametrize("header", [None, "", "   ", "x" * 256, "bad\nkey"])
def test_a_missing_or_malformed_key_is_invalid(header):
    headers = {} if header is None else {"Idempotency-Key": header}
    with pytest.raises(InvalidInput):
        idempotency_key_from(_Request(headers))


def test_fingerprints_ignore_key_order():
    assert fingerprint({"a": 1, "b": [1, 2]}) == fingerprint({"b": [1, 2], "a": 1})
    assert fingerprint({"a": 1}) != fingerprint({"a": 2})
