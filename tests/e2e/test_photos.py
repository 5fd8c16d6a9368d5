"""Photos end to end: the Procfile's web and worker against a real S3-compatible
server (moto, on loopback). A chef's app uploads straight to the bucket with the
presigned POST, the worker (queue ``media``) checks, strips and resizes the photo,
browsing shows it; a bomb is rejected and the photo kept; and a chef uploads a dish
photo in the admin in a real headless browser (Debian's chromium) and sees its
thumbnail."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
import requests
from playwright.sync_api import expect, sync_playwright

from tests.e2e.ordering import HTTPS, PASSWORD, open_kitchen, signed_in
from tests.photos import images
from tests.processes import Process, procfile_command, start_web, wait_for

CHROMIUM = "/usr/bin/chromium"
DISH = {"name": "Ratatouille", "price_cents": 1400, "allergens": [], "portions_per_day": 8}


@pytest.fixture(scope="module")
def deployment(released, redis_server, object_store, tmp_path_factory):
    """web and worker from the Procfile with photos in a new bucket, on a private Redis."""
    bucket = object_store.new_bucket()
    env = {**released, "REDIS_URL": redis_server.url, **object_store.env(bucket)}
    web = start_web(env, log_path=tmp_path_factory.mktemp("photo-web") / "log")
    worker = Process(procfile_command("worker"), env=env, log_path=tmp_path_factory.mktemp("photo-worker") / "log")
    try:
        yield {"base": web.base_url, "env": env, "bucket": bucket, "worker": worker}
    finally:
        worker.stop()
        web.stop()


def upload(base: str, chef: dict, content_type: str, data: bytes) -> str:
    """What the app does: ask for a presigned POST, send the bytes straight to the bucket."""
    asked = requests.post(
        f"{base}/api/v1/chef/photos",
        json={"content_type": content_type, "size_bytes": len(data)},
        headers=chef,
        timeout=10,
    )
    assert asked.status_code == 201, asked.text
    form = asked.json()
    sent = requests.post(form["url"], data=form["fields"], files={"file": ("photo", data)}, timeout=10)
    assert sent.status_code == 204, sent.text
    return form["upload_id"]


def key_of(url: str, bucket: str) -> str:
    return urlsplit(url).path.lstrip("/").removeprefix(f"{bucket}/")


def test_a_photo_goes_through_the_worker_to_browsing(deployment, object_store):
    base, bucket = deployment["base"], deployment["bucket"]
    kitchen = open_kitchen(base, deployment["env"], chef_name="Léa Moreau", kitchen_name="Chez Léa", dish=DISH)
    chef, dish_url = kitchen["chef"], f"{base}/api/v1/chef/dishes/{kitchen['dish_id']}"
    page_url = f"{base}/api/v1/chefs/{kitchen['chef_id']}"
    assert requests.get(page_url, headers=HTTPS, timeout=10).json()["dishes"][0]["photo_url"] is None

    upload_id = upload(base, chef, "image/jpeg", images.jpeg_with_gps())
    patched = requests.patch(dish_url, json={"photo_upload_id": upload_id}, headers=chef, timeout=10)
    assert (patched.status_code, patched.json()["photo_status"]) == (200, "processing")

    def mine() -> dict:
        return requests.get(dish_url, headers=chef, timeout=10).json()

    assert wait_for(lambda: mine()["photo_status"] == "ready", timeout=30), (mine(), deployment["worker"].output())
    ready = mine()
    published = images.metadata_of(object_store.read(bucket, key_of(ready["photo_url"], bucket)))
    assert (published["format"], published["gps"], published["exif"], published["size"]) == ("WEBP", {}, {}, (600, 800))
    assert f"uploads/{upload_id}" not in object_store.keys(bucket)
    shown = requests.get(page_url, headers=HTTPS, timeout=10).json()["dishes"][0]
    assert (shown["photo_url"], shown["photo_thumb_url"]) == (ready["photo_url"], ready["photo_thumb_url"])

    # A decompression bomb: rejected with a reason, the photo kept.
    bomb = upload(base, chef, "image/png", images.png_bomb())
    assert requests.patch(dish_url, json={"photo_upload_id": bomb}, headers=chef, timeout=10).status_code == 200
    assert wait_for(lambda: mine()["photo_status"] == "rejected", timeout=30), mine()
    assert "too many pixels" in mine()["photo_error"]
    assert mine()["photo_url"] == ready["photo_url"]
    assert requests.get(page_url, headers=HTTPS, timeout=10).json()["dishes"][0]["photo_url"] == ready["photo_url"]

    # Another chef cannot use this chef's upload.
    other = signed_in(base, "chef", "Marc Petit")
    other.pop("email")
    theirs = upload(base, chef, "image/png", images.png())
    refused = requests.patch(f"{base}/api/v1/chef/profile", json={"photo_upload_id": theirs}, headers=other, timeout=10)
    assert (refused.status_code, refused.json()["code"]) == (400, "invalid")


def test_a_chef_uploads_a_dish_photo_in_the_admin_and_sees_its_thumbnail(deployment, screenshots, tmp_path):
    base = deployment["base"]
    dish = {**DISH, "name": "Tarte aux pommes", "allergens": ["gluten", "eggs", "milk"]}
    kitchen = open_kitchen(base, deployment["env"], chef_name="Inès Roux", kitchen_name="Chez Inès", dish=dish)
    photo = tmp_path / "tarte.jpg"
    photo.write_bytes(images.jpeg_with_gps(width=1200, height=900))

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM)
        try:
            context = browser.new_context(
                base_url=base, extra_http_headers=HTTPS, viewport={"width": 1280, "height": 1000}
            )
            page = context.new_page()
            change = f"/admin/menus/dish/{kitchen['dish_id']}/change/"
            page.goto(f"/admin/login/?next={change}")
            page.fill("#id_username", kitchen["email"])
            page.fill("#id_password", PASSWORD)
            page.click("input[type=submit]")
            page.wait_for_url(f"**{change}")
            expect(page.locator(".photo-none")).to_be_visible()

            page.set_input_files("#id_photo_file", str(photo))
            page.click("input[name=_continue]")
            expect(page.locator(".messagelist")).to_be_visible()

            def thumbnail_shown() -> bool:
                page.reload()
                return page.locator("img.photo-thumb").count() == 1

            assert wait_for(thumbnail_shown, timeout=30, interval=1), deployment["worker"].output()[-3000:]
            thumb = page.locator("img.photo-thumb")
            expect(page.locator(".photo-status")).to_have_attribute("data-status", "ready")
            assert thumb.evaluate("img => img.complete && Math.max(img.naturalWidth, img.naturalHeight)") == 400
            thumb.scroll_into_view_if_needed()
            page.screenshot(path=screenshots / "admin-dish-photo.png", full_page=True)
        finally:
            browser.close()
