"""Photos on object storage (moto's S3 server on loopback): the presigned POST, the
worker's checks, what is published, what is kept and what is deleted."""

from __future__ import annotations

import datetime as dt
import uuid
from urllib.parse import urlsplit

import pytest
import requests
from django.utils import timezone

from foodiefast.models import PhotoUpload
from tests.factories.chefs import PARIS, KitchenFactory
from tests.photos import images
from tests.photos.conftest import ask_upload, policy_of, uploaded

pytestmark = pytest.mark.django_db

HERE = f"lat={PARIS[0]}&lng={PARIS[1]}"


def key_of(url: str, bucket: str) -> str:
    path = urlsplit(url).path.lstrip("/")
    return path.removeprefix(f"{bucket}/")


def test_the_presigned_post_carries_the_type_the_size_range_and_the_expiry(s3, chef, object_store):
    before = timezone.now()
    upload = ask_upload(chef, "image/jpeg", 250_000)

    policy = policy_of(upload["fields"])
    assert {"Content-Type": "image/jpeg"} in policy["conditions"]
    assert ["content-length-range", 1, 250_000] in policy["conditions"]
    expires = dt.datetime.fromisoformat(policy["expiration"].replace("Z", "+00:00"))
    assert dt.timedelta(minutes=14) < expires - before <= dt.timedelta(minutes=15, seconds=5)
    assert dt.datetime.fromisoformat(upload["expires_at"]) == PhotoUpload.objects.get().expires_at
    assert upload["url"].startswith(object_store.endpoint)
    assert upload["fields"]["key"] == f"uploads/{upload['upload_id']}"
    assert "x-amz-signature" in upload["fields"]


@pytest.mark.parametrize(
    "body",
    [
        {"content_type": "image/gif", "size_bytes": 1000},
        {"content_type": "text/plain", "size_bytes": 1000},
        {"content_type": "image/jpeg", "size_bytes": 0},
        {"content_type": "image/jpeg", "size_bytes": 10_485_761},
        {"content_type": "image/jpeg", "size_bytes": "1000"},
        {"content_type": "image/jpeg"},
        {},
    ],
)
def test_anything_but_a_jpeg_png_or_webp_up_to_10_mb_is_refused(s3, chef, body):
    answer = chef.post("/api/v1/chef/photos", body)

    assert answer.status_code == 400
    assert answer.json()["code"] == "invalid"
    assert not PhotoUpload.objects.exists()


def test_only_chefs_ask_for_uploads(s3, make_client, customer):
    body = {"content_type": "image/png", "size_bytes": 9}
    assert make_client(customer).post("/api/v1/chef/photos", body).status_code == 403
    assert make_client().post("/api/v1/chef/photos", body).status_code == 401


def test_a_jpeg_with_gps_comes_out_upright_without_any_metadata(
    s3, object_store, chef, dish, api, django_capture_on_commit_callbacks
):
    original = images.jpeg_with_gps(width=800, height=600)
    upload_id = uploaded(chef, "image/jpeg", original)
    browsed = api.get(f"/api/v1/chefs/{dish.kitchen_id}?{HERE}").json()  # a stored browse answer
    assert browsed["dishes"][0]["photo_url"] is None

    with django_capture_on_commit_callbacks(execute=True):
        answer = chef.patch(f"/api/v1/chef/dishes/{dish.pk}", {"photo_upload_id": upload_id})
        assert answer.status_code == 200
        assert answer.json()["photo_status"] == "processing"
        assert answer.json()["photo_url"] is None

    mine = chef.get(f"/api/v1/chef/dishes/{dish.pk}").json()
    assert (mine["photo_status"], mine["photo_error"]) == ("ready", None)
    large = images.metadata_of(object_store.read(s3, key_of(mine["photo_url"], s3)))
    thumb = images.metadata_of(object_store.read(s3, key_of(mine["photo_thumb_url"], s3)))
    for published in (large, thumb):
        assert published["format"] == "WEBP"
        assert published["exif"] == {} and published["gps"] == {}
        assert published["info"] == []  # no EXIF, ICC profile, XMP or comment
    assert large["size"] == (600, 800)  # turned upright, as the phone showed it
    assert max(thumb["size"]) == 400
    # The original is gone; only the published sizes are left.
    assert sorted(object_store.keys(s3)) == sorted([key_of(mine["photo_url"], s3), key_of(mine["photo_thumb_url"], s3)])
    # Anyone may load the published sizes; nobody the original's key.
    assert requests.get(mine["photo_thumb_url"], timeout=10).headers["Content-Type"] == "image/webp"
    assert requests.get(f"{object_store.endpoint}/{s3}/uploads/{upload_id}", timeout=10).status_code in (403, 404)
    # Browsing shows it at once (the stored answer was dropped).
    assert api.get(f"/api/v1/chefs/{dish.kitchen_id}?{HERE}").json()["dishes"][0]["photo_url"] == mine["photo_url"]
    public = api.get(f"/api/v1/dishes/{dish.pk}").json()
    assert (public["photo_url"], public["photo_thumb_url"]) == (mine["photo_url"], mine["photo_thumb_url"])
    assert api.get(f"/api/v1/dishes?{HERE}").json()["results"][0]["photo_thumb_url"] == mine["photo_thumb_url"]


def _with_photo(chef, dish, django_capture_on_commit_callbacks) -> dict:
    upload_id = uploaded(chef, "image/png", images.png())
    with django_capture_on_commit_callbacks(execute=True):
        chef.patch(f"/api/v1/chef/dishes/{dish.pk}", {"photo_upload_id": upload_id})
    ready = chef.get(f"/api/v1/chef/dishes/{dish.pk}").json()
    assert ready["photo_status"] == "ready"
    return ready


@pytest.mark.parametrize(
    ("content_type", "data", "announced", "reason"),
    [
        ("image/png", images.png_bomb(), None, "too many pixels"),
        ("image/png", images.TEXT, None, "not a PNG image"),
        ("image/jpeg", images.png(), None, "not a JPEG image"),  # the type is checked again
        ("image/png", images.png(width=900, height=900), 200, "larger than announced"),  # and the size
    ],
    ids=["png-bomb", "text-file", "wrong-type", "larger-than-announced"],
)
def test_an_unusable_upload_is_rejected_with_a_reason_and_the_photo_is_kept(
    s3, object_store, chef, dish, api, django_capture_on_commit_callbacks, content_type, data, announced, reason
):
    before = _with_photo(chef, dish, django_capture_on_commit_callbacks)
    upload_id = uploaded(chef, content_type, data, announced=announced)

    with django_capture_on_commit_callbacks(execute=True):
        assert chef.patch(f"/api/v1/chef/dishes/{dish.pk}", {"photo_upload_id": upload_id}).status_code == 200

    after = chef.get(f"/api/v1/chef/dishes/{dish.pk}").json()
    assert after["photo_status"] == "rejected"
    assert reason in after["photo_error"]
    assert (after["photo_url"], after["photo_thumb_url"]) == (before["photo_url"], before["photo_thumb_url"])
    assert api.get(f"/api/v1/dishes/{dish.pk}").json()["photo_url"] == before["photo_url"]
    assert f"uploads/{upload_id}" not in object_store.keys(s3)  # the original is deleted anyway


def test_the_kitchen_photo_goes_through_the_same_pipeline(
    s3, object_store, make_client, api, django_capture_on_commit_callbacks
):
    kitchen = KitchenFactory()
    chef = make_client(kitchen.chef)
    upload_id = uploaded(chef, "image/jpeg", images.jpeg_with_gps())

    with django_capture_on_commit_callbacks(execute=True):
        assert chef.patch("/api/v1/chef/profile", {"photo_upload_id": upload_id}).json()["photo_status"] == "processing"

    profile = chef.get("/api/v1/chef/profile").json()
    assert profile["photo_status"] == "ready"
    assert images.metadata_of(object_store.read(s3, key_of(profile["photo_url"], s3)))["gps"] == {}
    listed = api.get(f"/api/v1/chefs?{HERE}").json()["results"][0]
    assert (listed["photo_url"], listed["photo_thumb_url"]) == (profile["photo_url"], profile["photo_thumb_url"])


def test_an_upload_of_another_chef_unknown_expired_or_used_is_refused(
    s3, chef, dish, make_client, django_capture_on_commit_callbacks
):
    other = make_client(KitchenFactory().chef)
    theirs = uploaded(other, "image/png", images.png())
    expired = uploaded(chef, "image/png", images.png())
    PhotoUpload.objects.filter(pk=expired).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    used = uploaded(chef, "image/png", images.png())
    with django_capture_on_commit_callbacks(execute=True):
        assert chef.patch(f"/api/v1/chef/dishes/{dish.pk}", {"photo_upload_id": used}).status_code == 200
    assert chef.patch("/api/v1/chef/profile", {"photo_upload_id": used}).status_code == 400

    for upload_id in (theirs, expired, used, "5b0c1c1e-0000-4000-8000-000000000000", "not-an-id"):
        for path in (f"/api/v1/chef/dishes/{dish.pk}", "/api/v1/chef/profile"):
            with django_capture_on_commit_callbacks(execute=True) as queued:
                answer = chef.patch(path, {"photo_upload_id": upload_id, "description": "changed"})
            assert answer.status_code == 400, (upload_id, path)
            assert answer.json()["code"] == "invalid"
            assert list(answer.json()["fields"]) == ["photo_upload_id"]
            assert queued == []
    dish.refresh_from_db()
    assert dish.description != "changed"  # nothing of the request was kept
    # The other chef can still use theirs.
    with django_capture_on_commit_callbacks(execute=True):
        assert other.patch("/api/v1/chef/profile", {"photo_upload_id": theirs}).status_code == 200


def test_photo_fields_are_read_only(s3, chef, dish):
    answer = chef.patch(
        f"/api/v1/chef/dishes/{dish.pk}",
        {"photo_url": "https://example.com/x.jpg", "photo_status": "ready", "photo_thumb_url": "https://e.com/t"},
    )

    assert answer.status_code == 200
    assert (answer.json()["photo_url"], answer.json()["photo_status"], answer.json()["photo_thumb_url"]) == (
        None,
        None,
        None,
    )


def test_a_later_upload_wins_over_one_still_processing(
    s3, object_store, chef, dish, django_capture_on_commit_callbacks
):
    first = uploaded(chef, "image/png", images.png(color=(255, 0, 0)))
    second = uploaded(chef, "image/png", images.png(color=(0, 0, 255)))
    with django_capture_on_commit_callbacks(execute=False) as queued_first:
        chef.patch(f"/api/v1/chef/dishes/{dish.pk}", {"photo_upload_id": first})
    with django_capture_on_commit_callbacks(execute=False) as queued_second:
        chef.patch(f"/api/v1/chef/dishes/{dish.pk}", {"photo_upload_id": second})

    for callback in (*queued_second, *queued_first):  # the worker takes them in the other order
        callback()

    mine = chef.get(f"/api/v1/chef/dishes/{dish.pk}").json()
    assert mine["photo_status"] == "ready"
    assert second in mine["photo_url"]
    assert not [key for key in object_store.keys(s3) if first in key]


def test_a_photo_whose_task_was_lost_is_queued_again_by_beat(
    s3, chef, dish, broker_down, django_capture_on_commit_callbacks
):
    from celery import current_app

    from apps.menus.models import Dish
    from apps.menus.tasks import dish_photo_sweep_task

    upload_id = uploaded(chef, "image/png", images.png())
    with django_capture_on_commit_callbacks(execute=True):  # the broker does not take the task
        assert chef.patch(f"/api/v1/chef/dishes/{dish.pk}", {"photo_upload_id": upload_id}).status_code == 200
    assert chef.get(f"/api/v1/chef/dishes/{dish.pk}").json()["photo_status"] == "processing"
    current_app.conf.task_always_eager = True  # the broker is back

    with django_capture_on_commit_callbacks(execute=True):
        assert dish_photo_sweep_task() == 0  # not yet: its task may still be on the way
    Dish.objects.filter(pk=dish.pk).update(updated_at=timezone.now() - dt.timedelta(minutes=6))
    with django_capture_on_commit_callbacks(execute=True):
        assert dish_photo_sweep_task() == 1

    assert chef.get(f"/api/v1/chef/dishes/{dish.pk}").json()["photo_status"] == "ready"


def test_a_redelivered_task_leaves_the_published_photo_alone(
    s3, object_store, chef, dish, django_capture_on_commit_callbacks
):
    from apps.menus.tasks import dish_photo_process_task

    upload_id = uploaded(chef, "image/png", images.png())
    with django_capture_on_commit_callbacks(execute=True):
        chef.patch(f"/api/v1/chef/dishes/{dish.pk}", {"photo_upload_id": upload_id})
    ready = chef.get(f"/api/v1/chef/dishes/{dish.pk}").json()

    assert dish_photo_process_task(str(dish.pk), upload_id) == "superseded"

    assert chef.get(f"/api/v1/chef/dishes/{dish.pk}").json() == ready
    assert requests.get(ready["photo_url"], timeout=10).status_code == 200


def test_twin_runs_of_one_task_publish_once_and_keep_the_photo(
    s3, chef, dish, monkeypatch, django_capture_on_commit_callbacks
):
    from apps.menus.models import Dish
    from apps.menus.services import dish_photo_process
    from foodiefast import photos

    upload_id = uploaded(chef, "image/png", images.png())
    with django_capture_on_commit_callbacks(execute=False):
        chef.patch(f"/api/v1/chef/dishes/{dish.pk}", {"photo_upload_id": upload_id})
    render = photos.photo_render

    def render_while_a_twin_finishes(upload):
        rendered = render(upload)
        monkeypatch.setattr(photos, "photo_render", render)
        assert photos.photo_process(model=Dish, pk=dish.pk, upload_id=upload_id, on_ready=lambda: None) == "ready"
        return rendered

    monkeypatch.setattr(photos, "photo_render", render_while_a_twin_finishes)

    assert dish_photo_process(dish_id=dish.pk, upload_id=upload_id) == "superseded"
    ready = chef.get(f"/api/v1/chef/dishes/{dish.pk}").json()
    assert ready["photo_status"] == "ready"
    assert requests.get(ready["photo_url"], timeout=10).status_code == 200
    assert requests.get(ready["photo_thumb_url"], timeout=10).status_code == 200


def test_uploads_nobody_can_use_any_more_are_forgotten_and_their_originals_deleted(
    s3, object_store, chef, dish, django_capture_on_commit_callbacks
):
    from foodiefast.tasks import photo_uploads_purge_task

    never_used = uploaded(chef, "image/png", images.png())
    fresh = uploaded(chef, "image/png", images.png())
    used = uploaded(chef, "image/png", images.png())
    with django_capture_on_commit_callbacks(execute=True):
        chef.patch(f"/api/v1/chef/dishes/{dish.pk}", {"photo_upload_id": used})
    PhotoUpload.objects.filter(pk=never_used).update(expires_at=timezone.now() - dt.timedelta(days=1, minutes=1))

    assert photo_uploads_purge_task() == 1
    assert set(PhotoUpload.objects.values_list("pk", flat=True)) == {uuid.UUID(fresh), uuid.UUID(used)}
    assert f"uploads/{never_used}" not in object_store.keys(s3)
    assert f"uploads/{fresh}" in object_store.keys(s3)
    PhotoUpload.objects.filter(pk=used).update(claimed_at=timezone.now() - dt.timedelta(days=8))

    assert photo_uploads_purge_task() == 1
    assert chef.get(f"/api/v1/chef/dishes/{dish.pk}").json()["photo_status"] == "ready"
