"""Photos uploaded in the admin go through the same storage, checks and worker task
as the apps' uploads; the change form shows the thumbnail and the status."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from foodiefast.models import PhotoUpload
from tests.chefs.test_admin import logged_in
from tests.photos import images

pytestmark = pytest.mark.django_db


def values_of(form) -> dict:
    """What a browser posts back for ``form`` as it was shown."""
    data = {}
    for name in form.fields:
        value = form[name].value()
        if value is None or value is False:
            continue
        data[form[name].html_name] = "on" if value is True else value if isinstance(value, list) else str(value)
    return data


def form_as_shown(page) -> dict:
    """The change form and its inlines, as shown."""
    data = values_of(page.context["adminform"].form)
    for inline in page.context["inline_admin_formsets"]:
        data.update(values_of(inline.formset.management_form))
        for form in inline.formset.forms:
            data.update(values_of(form))
    return data


def post_photo(client, url: str, file: SimpleUploadedFile):
    page = client.get(url)
    assert page.status_code == 200
    return client.post(url, {**form_as_shown(page), "photo_file": file, "_continue": "1"})


def test_a_chef_uploads_a_dish_photo_in_the_admin_and_sees_its_thumbnail(
    local_media, dish, django_capture_on_commit_callbacks
):
    client = logged_in(dish.kitchen.chef)
    url = reverse("admin:menus_dish_change", args=[dish.pk])
    photo = SimpleUploadedFile("plate.jpg", images.jpeg_with_gps(), content_type="image/jpeg")

    with django_capture_on_commit_callbacks(execute=True):
        response = post_photo(client, url, photo)
    assert response.status_code == 302, response.content.decode()[:2000]

    dish.refresh_from_db()
    assert (dish.photo_status, dish.photo_error) == ("ready", None)
    assert PhotoUpload.objects.get().owner == dish.kitchen.chef
    large = (local_media / dish.photo_url.removeprefix("/media/")).read_bytes()
    assert images.metadata_of(large)["gps"] == {}
    page = client.get(url).content.decode()
    assert f'src="{dish.photo_thumb_url}"' in page
    assert 'data-status="ready"' in page


def test_an_unusable_file_from_the_admin_is_refused_and_the_photo_kept(
    local_media, dish, django_capture_on_commit_callbacks
):
    client = logged_in(dish.kitchen.chef)
    url = reverse("admin:menus_dish_change", args=[dish.pk])
    with django_capture_on_commit_callbacks(execute=True):
        post_photo(client, url, SimpleUploadedFile("a.png", images.png(), content_type="image/png"))
    dish.refresh_from_db()
    kept = dish.photo_url

    not_a_photo = post_photo(client, url, SimpleUploadedFile("recipe.txt", images.TEXT, content_type="text/plain"))
    assert not_a_photo.status_code == 200  # the form again, with the error
    assert "Send a JPEG, PNG or WebP photo." in not_a_photo.content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        post_photo(client, url, SimpleUploadedFile("fake.png", images.TEXT, content_type="image/png"))
    dish.refresh_from_db()
    assert (dish.photo_status, dish.photo_url) == ("rejected", kept)
    page = client.get(url).content.decode()
    assert 'data-status="rejected"' in page
    assert "not a PNG image" in page


def test_a_kitchen_photo_from_the_admin(local_media, dish, django_capture_on_commit_callbacks):
    kitchen = dish.kitchen
    client = logged_in(kitchen.chef)
    url = reverse("admin:chefs_kitchen_change", args=[kitchen.pk])
    data = form_as_shown(client.get(url))
    photo = SimpleUploadedFile("kitchen.webp", images.png(), content_type="image/webp")

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {**data, "photo_file": photo, "_continue": "1"})

    assert response.status_code == 302, response.content.decode()[:3000]
    kitchen.refresh_from_db()
    assert kitchen.photo_status == "rejected"  # a PNG sent as WebP: the worker checks the bytes
    assert "not a WEBP image" in kitchen.photo_error
