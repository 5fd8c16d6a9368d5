"""The served OpenAPI schema tells the truth: schemathesis generates requests for every
operation from ``/api/schema/`` (valid ones and deliberately wrong ones), sends them to
the app, and checks each answer against what the schema documents for that operation:
its status code, its content type, its body and headers, and that it is never a 5xx.

The requests go through the whole Django stack in this process (the WSGI app), so the
test's data (a customer, an approved chef with a located kitchen, opening hours and a
dish) is visible to them; each generated request runs in a savepoint that is rolled
back, so an erased account or a deleted dish does not change what the next one sees.
Bounded and reproducible: a fixed seed, derandomised generation, a few dozen examples
per operation.
"""

from __future__ import annotations

import itertools

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections, transaction
from rest_framework_simplejwt.tokens import RefreshToken
from schemathesis import GenerationMode
from schemathesis.checks import load_all_checks, not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.pytest.lazy import get_all_tests
from schemathesis.specs.openapi import checks

from apps.tracking.services import courier_set_availability, delivery_open
from config.wsgi import application
from foodiefast.geo import Point
from tests.factories.accounts import UserFactory
from tests.factories.chefs import PARIS, KitchenFactory, OpeningHoursFactory
from tests.factories.menus import DishFactory

# Dozens of operations x 50 examples each: minutes on a busy 2-core machine.
pytestmark = [pytest.mark.django_db, pytest.mark.timeout(900)]

MAX_EXAMPLES = 50
SEED = 20261130
HTTPS = {"X-Forwarded-Proto": "https"}  # as behind the router: no redirect to HTTPS
CHECKS = [
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
    checks.response_headers_conformance,
]


@pytest.fixture
def served_schema(db):
    """The schema the app serves, loaded from it; event streams left out (they never end)."""
    # Django's test client does the same: the test's transaction must survive each request.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        schema = schemathesis.openapi.from_wsgi("/api/schema/", application, headers=HTTPS)
        schema.config.generation.update(
            max_examples=MAX_EXAMPLES,
            deterministic=True,
            database="none",  # no examples replayed from earlier runs: each run is the same
            modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
        )
        schema.config.seed = SEED
        yield schema.exclude(func=lambda ctx: _is_event_stream(ctx.operation))
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


def _is_event_stream(operation) -> bool:
    responses = operation.definition.raw.get("responses", {}).values()
    return any("text/event-stream" in response.get("content", {}) for response in responses)


def _bearer(user) -> str:
    return f"Bearer {RefreshToken.for_user(user).access_token}"


@pytest.fixture
def kitchen(db):
    """An approved chef's kitchen at the Louvre with opening hours and a dish, and a
    delivery from it waiting for a courier."""
    kitchen = KitchenFactory()
    OpeningHoursFactory(kitchen=kitchen)
    DishFactory(kitchen=kitchen)
    kitchen.delivery = delivery_open(
        reference="00000000-0000-4000-8000-000000000001",
        pickup=Point(*PARIS),
        dropoff=Point(48.8566, 2.3522),
        dropoff_address="12 rue de Rivoli, 75004 Paris",
    )
    return kitchen


@pytest.fixture
def customer_bearer(customer, kitchen) -> str:
    return _bearer(customer)


@pytest.fixture
def chef_bearer(kitchen) -> str:
    return _bearer(kitchen.chef)


@pytest.fixture
def courier_bearer(kitchen) -> str:
    """A courier online near the kitchen."""
    courier = UserFactory(courier=True)
    courier_set_availability(courier=courier, online=True, lat=PARIS[0], lng=PARIS[1])
    return _bearer(courier)


def _aim_at(case, kitchen) -> None:
    """Point a generated case at the data: the kitchen's, its dish's and its
    delivery's ids in the path, the kitchen's location as the point, so answers with
    content are checked too."""
    known = {
        "chef_id": str(kitchen.pk),
        "dish_id": str(kitchen.dishes.get().pk),
        "delivery_id": str(kitchen.delivery.pk),
        "order_id": kitchen.delivery.reference,
    }
    for name in set(case.path_parameters or {}) & set(known):
        case.path_parameters[name] = known[name]
    if case.query and {"lat", "lng"} <= set(case.query):
        case.query.update(lat=PARIS[0], lng=PARIS[1])


def _conformance_failures(schema, bearer: str, kitchen) -> dict[str, str]:
    """Run every operation's generated cases (explicit examples, coverage, fuzzing),
    every other one aimed at the test's data; the first failure of each operation,
    by its label."""
    load_all_checks()
    sent = itertools.count()

    def call_and_check(case) -> None:
        if next(sent) % 2:
            _aim_at(case, kitchen)
        case.headers = {**HTTPS, "Authorization": bearer, **(case.headers or {})}
        with transaction.atomic():
            response = case.call()
            transaction.set_rollback(True)
        case.validate_response(response, checks=[not_a_server_error, *CHECKS])

    failures: dict[str, str] = {}
    operations = 0
    # The tests schemathesis' own pytest integration would run (examples, coverage,
    # fuzzing), called here directly: its per-operation subtests rename pytest's node
    # ids, which this pytest no longer allows.
    for result in get_all_tests(schema=schema, test_func=call_and_check, settings=None, given_kwargs=None):
        operation, test = result.ok()
        operations += 1
        try:
            test()
        except (FailureGroup, AssertionError) as exc:
            failures[operation.label] = str(exc)
    assert operations >= 15, "the schema lost its operations"
    return failures


def _report(failures: dict[str, str]) -> str:
    return "\n\n".join(f"== {label}\n{failure}" for label, failure in failures.items())


def test_a_customer_gets_the_answers_the_schema_documents(served_schema, customer_bearer, kitchen):
    failures = _conformance_failures(served_schema, customer_bearer, kitchen)

    assert not failures, _report(failures)


def test_a_chef_gets_the_answers_the_schema_documents(served_schema, chef_bearer, kitchen):
    failures = _conformance_failures(served_schema, chef_bearer, kitchen)

    assert not failures, _report(failures)


def test_a_courier_gets_the_answers_the_schema_documents(served_schema, courier_bearer, kitchen):
    failures = _conformance_failures(served_schema, courier_bearer, kitchen)

    assert not failures, _report(failures)
