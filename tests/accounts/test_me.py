import pytest
from django.utils import timezone

from apps.accounts.models import User
from foodiefast.models import MailMessage
from tests.factories.accounts import DEFAULT_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def test_me_shows_the_callers_own_account(make_client, customer):
    response = make_client(customer).get("/api/v1/me")

    assert response.status_code == 200
    body = response.json()
    assert body["id"] == str(customer.pk)
    assert body["email"] == customer.email
    assert set(body) == {"id", "email", "full_name", "phone", "language", "role"}
    assert body["language"] == "fr"  # emails in French unless the person says otherwise


def test_patch_language_switches_emails_to_english_and_back(make_client, customer):
    client = make_client(customer)

    assert client.patch("/api/v1/me", {"language": "en"}, format="json").json()["language"] == "en"
    customer.refresh_from_db()
    assert customer.language == "en"
    assert client.get("/api/v1/me").json()["language"] == "en"
    assert client.patch("/api/v1/me", {"language": "fr"}, format="json").json()["language"] == "fr"


@pytest.mark.parametrize("language", ["de", "FR", "", None, 1])
def test_patch_with_another_language_is_invalid_and_changes_nothing(make_client, customer, language):
    name = customer.full_name

    response = make_client(customer).patch("/api/v1/me", {"language": language, "full_name": "Other"}, format="json")

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert set(body["fields"]) == {"language"}
    customer.refresh_from_db()
    assert (customer.language, customer.full_name) == ("fr", name)


def test_patch_changes_name_and_phone_but_never_email_role_or_staff(make_client, customer):
    response = make_client(customer).patch(
        "/api/v1/me",
        {
            "full_name": "New Name",
            "phone": "+33 6 12 34 56 78",
            "email": "x@evil.com",
            "role": "chef",
            "is_staff": True,
        },
        format="json",
    )

    assert response.status_code == 200
    customer.refresh_from_db()
    assert (customer.full_name, customer.phone) == ("New Name", "+33 6 12 34 56 78")
    assert customer.email != "x@evil.com"
    assert customer.role == "customer"
    assert not customer.is_staff


def test_patch_with_a_bad_phone_changes_nothing(make_client, customer):
    response = make_client(customer).patch("/api/v1/me", {"full_name": "Other", "phone": "<script>"}, format="json")

    assert response.status_code == 400
    assert "phone" in response.json()["fields"]
    customer.refresh_from_db()
    assert customer.full_name != "Other"


def test_delete_anonymises_revokes_tokens_and_frees_the_email(api, customer):
    email = customer.email
    tokens = api.post("/api/v1/auth/token", {"email": email, "password": DEFAULT_PASSWORD}, format="json").json()
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {tokens['access']}"}

    response = api.delete("/api/v1/me", **bearer)

    assert response.status_code == 204
    row = User.objects.get(pk=customer.pk)  # kept for accounting
    assert row.email != email and row.full_name == "" and row.phone == ""
    assert not row.is_active and row.deleted_at is not None
    assert api.get("/api/v1/me", **bearer).status_code == 401
    assert api.post("/api/v1/auth/token/refresh", {"refresh": tokens["refresh"]}, format="json").status_code == 401
    assert (
        api.post("/api/v1/auth/token", {"email": email, "password": DEFAULT_PASSWORD}, format="json").status_code == 401
    )
    again = api.post(
        "/api/v1/auth/register", {"email": email, "password": "another-long-phrase", "full_name": "Back"}, format="json"
    )
    assert again.status_code == 201


def test_delete_forgets_mail_owed_or_sent_to_the_person_and_no_one_elses(make_client, customer):
    other = UserFactory()
    for recipient, sent_at in ((customer.email, None), (customer.email, timezone.now()), (other.email, None)):
        MailMessage.objects.create(
            kind="orders.paid",
            object_id=f"order-{sent_at is None}",
            recipient=recipient,
            language="fr",
            template="orders/mail/paid",
            context={"customer_first_name": "Ada"},
            sent_at=sent_at,
        )

    assert make_client(customer).delete("/api/v1/me").status_code == 204

    assert list(MailMessage.objects.values_list("recipient", flat=True)) == [other.email]


def test_one_persons_deletion_leaves_others_untouched(make_client):
    alice, bob = UserFactory(), UserFactory()
    make_client(alice).delete("/api/v1/me")
    bob.refresh_from_db()
    assert bob.is_active and bob.full_name
    assert make_client(bob).get("/api/v1/me").status_code == 200
