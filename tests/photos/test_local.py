"""With no bucket configured (the embedded default), the same flow works against the
app itself: a signed local upload URL outside /api/, files under MEDIA_ROOT, the
published photos served by the app."""

from __future__ import annotations

import base64
import datetime as dt
import json
from urllib.parse import urlsplit

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.photos import images
from tests.photos.conftest import ask_upload, policy_of, send

pytestmark = pytest.mark.django_db


def test_a_photo_goes_end_to_end_without_object_storage(
    local_media, chef, dish, api, django_capture_on_commit_callbacks
):
    upload = ask_upload(chef, "image/jpeg", 500_000)
    assert (urlsplit(upload["url"]).hostname, urlsplit(upload["url"]).path) == ("testserver", "/uploads/photos")
    assert ["content-length-range", 1, 500_000] in policy_of(upload["fields"])["conditions"]
    assert send(chef, upload, images.jpeg_with_gps()) == 204

    with django_capture_on_commit_callbacks(execute=True):
        answer = chef.patch(f"/api/v1/chef/dishes/{dish.pk}", {"photo_upload_id": upload["upload_id"]})
    assert answer.json()["photo_status"] == "processing"

    public = api.get(f"/api/v1/dishes/{dish.pk}").json()
    url = urlsplit(public["photo_url"])
    assert (url.scheme, url.hostname) == ("https", "testserver")
    assert url.path.startswith("/media/photos/")
    served = api.get(url.path)
    assert served.status_code == 200
    assert served["Content-Type"] == "image/webp"
    published = images.metadata_of(b"".join(served.streaming_content))
    assert (published["gps"], published["exif"], published["size"]) == ({}, {}, (600, 800))
    # The original is deleted, and originals are never served anyway.
    assert sorted(p.name for p in (local_media / "uploads").iterdir()) == []
    assert api.get(f"/media/uploads/{upload['upload_id']}").status_code == 404


def _post(client, fields: dict, data: bytes, content_type: str = "image/png"):
    file = SimpleUploadedFile("photo.png", data, content_type=content_type)
    return client.post("/uploads/photos", {**fields, "file": file}, format="multipart")


def test_the_local_upload_keeps_to_its_signed_policy(local_media, chef, api):
    data = images.png()
    upload = ask_upload(chef, "image/png", len(data))
    fields = upload["fields"]

    assert _post(api, {**fields, "Content-Type": "image/gif"}, data).status_code == 403
    assert _post(api, {**fields, "key": "photos/elsewhere"}, data).status_code == 403
    assert _post(api, fields, data + b"more").status_code == 403  # above the announced size
    assert _post(api, {**fields, "signature": "0" * 64}, data).status_code == 403
    widened = policy_of(fields)
    widened["conditions"] = [c for c in widened["conditions"] if not isinstance(c, list)]
    forged = base64.b64encode(json.dumps(widened).encode()).decode()
    assert _post(api, {**fields, "policy": forged}, data + b"more").status_code == 403
    with time_machine.travel(dt.timedelta(minutes=16)):
        assert _post(api, fields, data).status_code == 403
    assert not (local_media / "uploads").exists()

    assert _post(api, fields, data).status_code == 204  # the form as it was given
    assert (local_media / "uploads" / upload["upload_id"]).read_bytes() == data


def test_the_local_upload_url_does_not_exist_with_a_bucket(s3, api):
    assert api.post("/uploads/photos", {}, format="multipart").status_code == 404
    assert api.get("/media/photos/x/large.webp").status_code == 404
