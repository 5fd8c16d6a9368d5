import pytest

from apps.accounts.models import User

pytestmark = pytest.mark.django_db

URL = "/api/v1/auth/register"


def register(api, **overrides):
    body = {"email": "ada@example.com", "password": "a-long-unusual-phrase", "full_name": "Ada Lovelace"}
    body.update(overrides)
    return api.post(URL, body, format="json")


def test_register_creates_a_customer_and_never_returns_the_password(api):
    response = register(api)

    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"id", "email", "full_name", "role"}
    assert body["email"] == "ada@example.com"
    assert body["role"] == "customer"
    user = User.objects.get(pk=body["id"])
    assert user.check_password("a-long-unusual-phrase")


def test_register_writes_emails_in_french_unless_english_is_chosen(api):
    french = register(api, email="fr@example.com")
    english = register(api, email="en@example.com", language="en")
    unknown = register(api, email="de@example.com", language="de")

    assert User.objects.get(pk=french.json()["id"]).language == "fr"
    assert User.objects.get(pk=english.json()["id"]).language == "en"
    assert set(english.json()) == {"id", "email", "full_name", "role"}
    assert unknown.status_code == 400
    assert set(unknown.json()["fields"]) == {"language"}
    assert not User.objects.filter(email="de@example.com").exists()


def test_register_chef_and_courier_roles(api):
    assert register(api, email="c@example.com", role="chef").json()["role"] == "chef"
    assert register(api, email="k@example.com", role="courier").json()["role"] == "courier"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"role": "staff"}, "role"),
        ({"role": "admin"}, "role"),
        ({"password": "short1"}, "password"),
        ({"password": "password123"}, "password"),
        ({"password": "12345678901"}, "password"),
        ({"password": "ada.lovelace@example.com", "email": "ada.lovelace@example.com"}, "password"),
        ({"email": "not-an-email"}, "email"),
        ({"full_name": ""}, "full_name"),
    ],
)
def test_register_rejects_bad_input_and_creates_nothing(api, overrides, field):
    response = register(api, **overrides)

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert field in body["fields"]
    assert body["detail"]
    assert not User.objects.exists()


def test_a_taken_email_is_refused_whatever_its_case(api):
    assert register(api).status_code == 201

    response = register(api, email="  ADA@Example.com ")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert "email" in response.json()["fields"]
    assert User.objects.count() == 1


def test_staff_flags_sent_by_the_client_are_ignored(api):
    response = register(api, is_staff=True, is_superuser=True)

    assert response.status_code == 201
    user = User.objects.get()
    assert not user.is_staff and not user.is_superuser


def test_registration_announces_the_new_user(api, django_capture_on_commit_callbacks):
    from apps.accounts.events import UserRegistered
    from foodiefast.events import add_local_listener

    seen = []
    remove = add_local_listener(seen.append)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            response = register(api, role="chef")
    finally:
        remove()
    assert [type(e) for e in seen] == [UserRegistered]
    assert seen[0].user_id == response.json()["id"]
    assert seen[0].role == "chef"
