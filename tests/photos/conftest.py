"""Photos against a real S3-compatible server (moto, on loopback) or, with no bucket,
the app's own file system; Celery tasks run in-process after commit."""

from __future__ import annotations

import base64
import json
from urllib.parse import urlsplit

import pytest
import requests
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.factories.menus import DishFactory


@pytest.fixture
def s3(object_store, settings):
    """The app's storage is a new bucket of the session's moto server; its name."""
    bucket = object_store.new_bucket()
    env = object_store.env(bucket)
    settings.AWS_STORAGE_BUCKET_NAME = bucket
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": bucket,
                "endpoint_url": env["AWS_S3_ENDPOINT_URL"],
                "region_name": env["AWS_S3_REGION_NAME"],
                "access_key": env["AWS_ACCESS_KEY_ID"],
                "secret_key": env["AWS_SECRET_ACCESS_KEY"],
                "querystring_auth": False,
                "file_overwrite": True,
            },
        },
    }
    return bucket


@pytest.fixture
def local_media(settings, tmp_path):
    """No bucket: the file system under a folder of this test."""
    settings.AWS_STORAGE_BUCKET_NAME = ""
    settings.MEDIA_ROOT = tmp_path
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"}}
    return tmp_path


@pytest.fixture
def dish(db):
    return DishFactory()


@pytest.fixture
def chef(dish, make_client):
    """The dish's chef, signed in to the API."""
    return make_client(dish.kitchen.chef)


def policy_of(fields: dict[str, str]) -> dict:
    return json.loads(base64.b64decode(fields["policy"]))


def ask_upload(chef, content_type: str, size: int) -> dict:
    answer = chef.post("/api/v1/chef/photos", {"content_type": content_type, "size_bytes": size})
    assert answer.status_code == 201, answer.content
    return answer.json()


def send(chef, upload: dict, data: bytes, *, filename: str = "photo") -> int:
    """Post the file as the app does: the form's fields, then the file. To the bucket
    over HTTP, or to the app itself (no bucket) through the test client."""
    url = urlsplit(upload["url"])
    if url.hostname == "testserver":
        file = SimpleUploadedFile(filename, data, content_type=upload["fields"]["Content-Type"])
        return chef.post(url.path, {**upload["fields"], "file": file}, format="multipart").status_code
    return requests.post(upload["url"], data=upload["fields"], files={"file": (filename, data)}, timeout=10).status_code


def uploaded(chef, content_type: str, data: bytes, *, announced: int | None = None) -> str:
    """An upload of ``data`` sent to storage; its id."""
    upload = ask_upload(chef, content_type, announced or len(data))
    assert send(chef, upload, data) == 204
    return upload["upload_id"]
