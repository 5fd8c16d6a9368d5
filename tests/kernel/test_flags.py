"""Feature flags: a per-user rollout stable by crc32 of the flag's name and the user
id, set by staff in the admin, read by services and at GET /api/v1/features."""

from __future__ import annotations

import json
import uuid
import zlib
from types import SimpleNamespace

import pytest
from django.contrib.auth.models import AnonymousUser
from django.urls import reverse

from foodiefast import flags
from foodiefast.flags import flag_enabled, flags_forget
from foodiefast.models import FeatureFlag
from tests.chefs.test_admin import logged_in
from tests.factories.accounts import UserFactory
from tests.processes import run_python

pytestmark = pytest.mark.django_db

IDS = [uuid.uuid5(uuid.NAMESPACE_URL, f"user-{n}") for n in range(10_000)]


@pytest.fixture(autouse=True)
def _no_table_held():
    flags_forget()  # no table held over from another test


def user(pk) -> SimpleNamespace:
    return SimpleNamespace(pk=pk, is_authenticated=True)


def flag(name: str, percent: int, capture) -> None:
    with capture(execute=True):
        FeatureFlag.objects.update_or_create(name=name, defaults={"percent": percent})


def having(name: str) -> set:
    return {pk for pk in IDS if flag_enabled(name, user(pk))}


def test_a_user_has_a_flag_exactly_when_crc32_of_name_and_id_is_under_the_share(django_capture_on_commit_callbacks):
    flag("new_checkout", 30, django_capture_on_commit_callbacks)

    for pk in IDS[:500]:
        expected = zlib.crc32(f"new_checkout:{pk}".encode()) % 100 < 30
        assert flag_enabled("new_checkout", user(pk)) is expected


def test_the_share_is_about_right_over_many_users_and_raising_it_only_adds(django_capture_on_commit_callbacks):
    flag("new_checkout", 10, django_capture_on_commit_callbacks)
    at_10 = having("new_checkout")
    flag("new_checkout", 30, django_capture_on_commit_callbacks)
    at_30 = having("new_checkout")

    assert 0.085 < len(at_10) / len(IDS) < 0.115
    assert 0.285 < len(at_30) / len(IDS) < 0.315
    assert at_10 < at_30  # nobody who had it loses it


def test_each_flag_picks_its_own_users(django_capture_on_commit_callbacks):
    flag("a", 50, django_capture_on_commit_callbacks)
    flag("b", 50, django_capture_on_commit_callbacks)

    overlap = len(having("a") & having("b")) / len(IDS)
    assert 0.22 < overlap < 0.28  # independent halves, not the same half


def test_another_process_gives_every_user_the_same_answer(django_capture_on_commit_callbacks):
    # (Another interpreter hashes strings with another seed: the rule must not use hash().)
    flag("new_checkout", 40, django_capture_on_commit_callbacks)
    sample = [str(pk) for pk in IDS[:200]]

    code = (
        "import json, django\ndjango.setup()\nfrom foodiefast.flags import in_rollout\n"
        f"print(json.dumps([in_rollout('new_checkout', pk, 40) for pk in {sample!r}]))"
    )
    other = run_python(code, DJANGO_SETTINGS_MODULE="config.settings")

    assert other.returncode == 0, other.stderr
    assert json.loads(other.stdout) == [flag_enabled("new_checkout", user(uuid.UUID(pk))) for pk in sample]


def test_anonymous_callers_have_a_flag_only_at_100_and_unknown_flags_are_off(django_capture_on_commit_callbacks):
    flag("almost", 99, django_capture_on_commit_callbacks)
    flag("everyone", 100, django_capture_on_commit_callbacks)
    flag("nobody", 0, django_capture_on_commit_callbacks)

    for who in (None, AnonymousUser()):
        assert not flag_enabled("almost", who)
        assert flag_enabled("everyone", who)
    assert not any(flag_enabled("nobody", user(pk)) for pk in IDS[:1000])
    assert not flag_enabled("no_such_flag", user(IDS[0]))


def test_features_answers_every_flag_as_it_applies_to_the_caller(
    api, make_client, customer, django_capture_on_commit_callbacks
):
    flag("everyone", 100, django_capture_on_commit_callbacks)
    flag("half", 50, django_capture_on_commit_callbacks)
    flag("nobody", 0, django_capture_on_commit_callbacks)

    anonymous = api.get("/api/v1/features")
    signed_in = make_client(customer).get("/api/v1/features")

    assert anonymous.status_code == 200
    assert anonymous.json() == {"flags": {"everyone": True, "half": False, "nobody": False}}
    assert anonymous["Cache-Control"] == "private, no-store"
    half = zlib.crc32(f"half:{customer.pk}".encode()) % 100 < 50
    assert signed_in.json() == {"flags": {"everyone": True, "half": half, "nobody": False}}


def test_the_flag_table_is_read_once_then_served_from_memory(
    api, django_capture_on_commit_callbacks, django_assert_num_queries
):
    flag("everyone", 100, django_capture_on_commit_callbacks)
    flags_forget()

    with django_assert_num_queries(1):
        api.get("/api/v1/features")
    flags._held.table = None  # as in another process: only the shared copy

    with django_assert_num_queries(0):
        assert api.get("/api/v1/features").json() == {"flags": {"everyone": True}}
        for _ in range(50):
            flag_enabled("everyone", user(IDS[0]))


def test_staff_roll_a_flag_out_in_the_admin_and_callers_see_it_at_once(api, django_capture_on_commit_callbacks):
    staff = logged_in(UserFactory(staff=True))
    with django_capture_on_commit_callbacks(execute=True):
        added = staff.post(
            reverse("admin:foodiefast_featureflag_add"),
            {"name": "new_checkout", "percent": "0", "description": "The one-page checkout"},
        )
    assert added.status_code == 302
    assert api.get("/api/v1/features").json() == {"flags": {"new_checkout": False}}
    new_checkout = FeatureFlag.objects.get(name="new_checkout")

    with django_capture_on_commit_callbacks(execute=True):
        changed = staff.post(
            reverse("admin:foodiefast_featureflag_changelist"),
            {
                "form-TOTAL_FORMS": "1",
                "form-INITIAL_FORMS": "1",
                "form-0-id": str(new_checkout.pk),
                "form-0-percent": "100",
                "_save": "Save",
            },
        )
    assert changed.status_code == 302
    assert api.get("/api/v1/features").json() == {"flags": {"new_checkout": True}}

    refused = staff.post(reverse("admin:foodiefast_featureflag_add"), {"name": "too_much", "percent": "101"})
    assert refused.status_code == 200  # the form again, with its error
    assert not FeatureFlag.objects.filter(name="too_much").exists()


def test_chefs_cannot_see_the_flags_in_the_admin():
    chef = logged_in(UserFactory(chef=True))

    assert chef.get(reverse("admin:foodiefast_featureflag_changelist")).status_code == 403
