"""The previous release's code on the new schema, and both releases side by side.

A deploy runs ``release`` (this commit's migrations) while the previous release still
serves, and during a rolling, blue-green or canary deploy both releases serve the same
database at once; a rollback runs the previous code on the rows the new one wrote.
The migration linter (tests/kernel/test_migrations.py) reads each migration's SQL;
this test runs the code.

Which release: the newest commit of ``main``'s first-parent history whose migrations
differ from HEAD's (``tests.releases.previous_release``): the code that served while
HEAD's newest migrations were applied, so the expand step is tried against the code
it must not break. When no migration changed in the last
``tests.releases.RECENT_COMMITS`` commits, HEAD's parent: the schema is the same,
and the test still runs the release before this one on the migrated database, its
rows read and written by both. It needs the repository's history (a CI clone has all
of it) and runs the old checkout with this checkout's installed packages.

What it does, each release from its own git worktree (under ``.run/``, git-ignored)
with its own collected static files, on a new PostgreSQL database and a private
redis-server:

1. HEAD's ``release`` migrates the empty database (the new schema);
2. the previous release's ``web`` and ``worker`` (its own Procfile lines) serve a
   whole day over HTTP: sign-up and login, a kitchen opened and approved, browsing
   its menu, a checkout (``PAYMENTS_DEMO=1``), the chef's accept and ready, a
   courier's claim, pickup, location and delivery, the customer's tracking and
   shared page, a review;
3. HEAD's ``web`` and ``worker`` join them (a rolling deploy): the day again with
   every step sent to the other release in turn, each reading what the other wrote,
   tasks taken by either worker;
4. the previous release stops (the deploy ends): HEAD reads the old release's orders
   and gives the old kitchen a photo.

No answer of either release is a 5xx (their own ``/metrics`` count every request),
no worker logs a traceback, and every table the new migrations changed holds rows.
"""

from __future__ import annotations

import itertools
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest
import requests
from django.apps import apps
from django.db.migrations.loader import MigrationLoader
from prometheus_client.parser import text_string_to_metric_families
from psycopg import sql

from tests.e2e.conftest import new_database
from tests.e2e.ordering import DROP_OFF, HTTPS, KITCHEN, claim_delivery, open_kitchen, place_order, signed_in
from tests.photos import images
from tests.processes import ROOT, Process, RedisServer, env_with, procfile_command, start_web, wait_for
from tests.releases import check_out, git, migrations_between, previous_release, remove_checkout

METRICS_TOKEN = "release-check-metrics-token"
DELIVERED_TIMELINE = ["pending_payment", "paid", "accepted", "ready_for_pickup", "picked_up", "delivered"]
DISH = {"name": "Tajine aux pruneaux", "price_cents": 1450, "allergens": ["nuts"], "portions_per_day": 30}

pytestmark = pytest.mark.timeout(420)


class Release:
    """One release's checkout and its web and worker processes."""

    def __init__(self, name: str, root: Path, env: dict[str, str], logs: Path) -> None:
        self.name, self.root, self.logs = name, root, logs
        self.env = {**env, "RELEASE_VERSION": name}
        if root != ROOT:  # this checkout's static files are collected for the run already
            self.env["DJANGO_STATIC_ROOT"] = str(logs / "static")
        self.web: Process | None = None
        self.worker: Process | None = None

    def manage(self, *args: str) -> None:
        done = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=self.root,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
        assert done.returncode == 0, f"{self.name}: manage.py {' '.join(args)}\n{done.stdout}\n{done.stderr}"

    def start(self) -> Release:
        if self.root != ROOT:
            self.manage("collectstatic", "--noinput")  # the build step: this release's own static files
        self.worker = Process(
            procfile_command("worker", root=self.root), env=self.env, log_path=self.logs / "worker.log", cwd=self.root
        )
        self.web = start_web(self.env, log_path=self.logs / "web.log", root=self.root, timeout=60)
        assert wait_for(lambda: "ready" in self.worker.output(), timeout=60), self.worker.output()
        assert requests.get(f"{self.web.base_url}/version", headers=HTTPS, timeout=5).json() == {"version": self.name}
        return self

    def server_errors(self) -> tuple[float, float]:
        """(requests answered 5xx, requests answered) by this release's web process."""
        text = requests.get(
            f"{self.web.base_url}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}, timeout=10
        ).text
        counted = [
            (found.labels["status"], found.value)
            for family in text_string_to_metric_families(text)
            for found in family.samples
            if found.name == "foodiefast_http_requests_total"
        ]
        return sum(value for status, value in counted if status.startswith("5")), sum(value for _, value in counted)

    def stop(self) -> None:
        for process in (self.web, self.worker):
            if process is not None:
                process.stop()

    def tracebacks(self) -> str:
        return "".join(process.output() for process in (self.web, self.worker) if "Traceback" in process.output())


def changed_tables(migration_files: list[str]) -> set[str]:
    """The tables the given migration files create or alter, named by HEAD's models."""
    loader = MigrationLoader(None, ignore_no_migrations=True)
    tables = set()
    for path in migration_files:
        label = "foodiefast" if path.startswith("foodiefast/") else path.split("/")[1]
        migration = loader.disk_migrations[(label, Path(path).stem)]
        for operation in migration.operations:
            model = getattr(operation, "model_name", None) or getattr(operation, "name", None)
            try:
                tables.add(apps.get_model(label, model)._meta.db_table)
            except (LookupError, TypeError, ValueError):
                continue  # SQL or Python steps name no model
    return tables


@pytest.fixture(scope="module")
def database() -> Iterator[str]:
    with new_database("ff_releases") as database:
        yield database


@pytest.fixture(scope="module")
def deployment(database, tmp_path_factory, mailbox):
    """HEAD's schema on a new database; the previous release checked out beside HEAD."""
    logs = tmp_path_factory.mktemp("releases")
    redis_server = RedisServer(logs)
    env = env_with(
        DATABASE_URL=database,
        REDIS_URL=redis_server.url,
        PAYMENTS_DEMO="1",
        STRIPE_SECRET_KEY=None,
        STRIPE_PUBLISHABLE_KEY=None,
        STRIPE_WEBHOOK_SECRET=None,
        METRICS_TOKEN=METRICS_TOKEN,
        DJANGO_LOG_LEVEL="INFO",
        WEB_CONCURRENCY="1",
        CELERY_CONCURRENCY="2",
        EMAIL_URL=f"smtp://127.0.0.1:{mailbox.port}",
        DJANGO_MEDIA_ROOT=str(logs / "media"),
    )
    head = git(ROOT, "rev-parse", "HEAD").stdout.strip()
    old = previous_release(ROOT)
    checkout = check_out(ROOT, old, ROOT / ".run" / "previous-release")
    (logs / "old").mkdir()
    (logs / "new").mkdir()
    migrated = Process(procfile_command("release"), env=env, log_path=logs / "release.log")
    assert migrated.popen.wait(timeout=180) == 0, migrated.output()
    releases = {
        "old": Release(old[:12], checkout, env, logs / "old"),
        "new": Release(head[:12], ROOT, env, logs / "new"),
    }
    try:
        yield {"env": env, "releases": releases, "added": migrations_between(ROOT, old, head), "database": database}
    finally:
        for release in releases.values():
            release.stop()
        redis_server.close()
        remove_checkout(ROOT, checkout)


def round_robin(*releases: Release) -> Callable[[], str]:
    """A balancer: each call, the next release's address."""
    turns = itertools.cycle([release.web.base_url for release in releases])
    return lambda: next(turns)


def order_of(base: str, customer: dict, order_id: str) -> dict:
    answer = requests.get(f"{base}/api/v1/orders/{order_id}", headers=customer, timeout=10)
    assert answer.status_code == 200, answer.text
    return answer.json()


def serve_a_day(lb: Callable[[], str], env: dict[str, str], *, root: Path, tag: str) -> dict:
    """One order's whole life through the API, each request to ``lb()``'s address."""
    kitchen = open_kitchen(lb(), env, chef_name=f"Nadia {tag}", kitchen_name=f"Chez Nadia {tag}", dish=DISH, root=root)
    chef = kitchen["chef"]
    customer = signed_in(lb(), "customer", f"Camille {tag}")
    customer.pop("email")
    courier = signed_in(lb(), "courier", f"Karim {tag}")
    courier.pop("email")
    assert requests.patch(f"{lb()}/api/v1/me", json={"language": "en"}, headers=customer, timeout=10).ok

    # browsing: the kitchen near the customer, its menu, the dish
    listed = requests.get(f"{lb()}/api/v1/chefs", params=KITCHEN, headers=HTTPS, timeout=10)
    assert listed.status_code == 200, listed.text
    assert kitchen["chef_id"] in [each["id"] for each in listed.json()["results"]]
    menu = requests.get(f"{lb()}/api/v1/chefs/{kitchen['chef_id']}", headers=HTTPS, timeout=10).json()
    assert [dish["id"] for dish in menu["dishes"]] == [kitchen["dish_id"]]
    dishes = requests.get(
        f"{lb()}/api/v1/dishes", params={**KITCHEN, "chef": kitchen["chef_id"]}, headers=HTTPS, timeout=10
    )
    assert [dish["name"] for dish in dishes.json()["results"]] == [DISH["name"]]

    # checkout: the demo card is authorized at once, the worker moves the order to paid
    placed = place_order(
        lb(), customer, {"items": [{"dish_id": kitchen["dish_id"], "quantity": 2}], "delivery": DROP_OFF}
    )
    assert placed.status_code == 201, placed.text
    order_id = placed.json()["id"]
    assert placed.json()["subtotal_cents"] == 2 * DISH["price_cents"]
    assert wait_for(lambda: order_of(lb(), customer, order_id)["status"] == "paid", timeout=20)

    chef_orders = requests.get(f"{lb()}/api/v1/chef/orders", params={"status": "paid"}, headers=chef, timeout=10)
    assert order_id in [each["id"] for each in chef_orders.json()["results"]]
    accepted = requests.post(
        f"{lb()}/api/v1/chef/orders/{order_id}/accept", json={"prep_minutes": 10}, headers=chef, timeout=30
    )
    assert accepted.status_code == 200, accepted.text

    offer, _ = claim_delivery(lb(), courier, order_id)

    assert requests.post(f"{lb()}/api/v1/chef/orders/{order_id}/ready", headers=chef, timeout=10).ok
    picked = requests.post(f"{lb()}/api/v1/courier/deliveries/{offer['id']}/pickup", headers=courier, timeout=10)
    assert picked.status_code == 200, picked.text
    assert wait_for(lambda: order_of(lb(), customer, order_id)["status"] == "picked_up", timeout=20)

    point = {"lat": (KITCHEN["lat"] + DROP_OFF["lat"]) / 2, "lng": (KITCHEN["lng"] + DROP_OFF["lng"]) / 2}
    pinged = requests.post(f"{lb()}/api/v1/courier/location", json=point, headers=courier, timeout=10)
    assert pinged.status_code == 202, pinged.text
    tracked = requests.get(f"{lb()}/api/v1/orders/{order_id}/tracking", headers=customer, timeout=10).json()
    assert (tracked["courier"]["lat"], tracked["courier"]["lng"]) == (point["lat"], point["lng"])

    shared = requests.post(f"{lb()}/api/v1/orders/{order_id}/share", headers=customer, timeout=10)
    assert shared.status_code == 201, shared.text
    page = requests.get(f"{lb()}{urlsplit(shared.json()['url']).path}", headers=HTTPS, timeout=10)
    assert page.status_code == 200 and f"Chez Nadia {tag}" in page.text

    delivered = requests.post(f"{lb()}/api/v1/courier/deliveries/{offer['id']}/deliver", headers=courier, timeout=10)
    assert delivered.status_code == 200, delivered.text
    assert wait_for(lambda: order_of(lb(), customer, order_id)["status"] == "delivered", timeout=20)
    reviewed = requests.post(
        f"{lb()}/api/v1/orders/{order_id}/review",
        json={"rating": 5, "comment": "Parfait"},
        headers=customer,
        timeout=10,
    )
    assert reviewed.status_code == 201, reviewed.text
    return {"kitchen": kitchen, "customer": customer, "order_id": order_id}


def read_back(base: str, day: dict, *, tag: str) -> None:
    """What a release shows of a day another release served."""
    order = order_of(base, day["customer"], day["order_id"])
    assert order["status"] == "delivered"
    assert [entry["status"] for entry in order["timeline"]] == DELIVERED_TIMELINE
    assert order["chef"]["display_name"] == f"Chez Nadia {tag}"
    tracked = requests.get(f"{base}/api/v1/orders/{day['order_id']}/tracking", headers=day["customer"], timeout=10)
    assert tracked.status_code == 200 and tracked.json()["courier"] is None
    kitchen = requests.get(f"{base}/api/v1/chefs/{day['kitchen']['chef_id']}", headers=HTTPS, timeout=10).json()
    assert kitchen["rating_count"] == 1
    mine = requests.get(f"{base}/api/v1/chef/orders", headers=day["kitchen"]["chef"], timeout=10).json()
    assert day["order_id"] in [each["id"] for each in mine["results"]]


def give_photo(base: str, day: dict) -> None:
    """The kitchen's photo, sent to the app's own upload URL and processed by the worker."""
    chef, data = day["kitchen"]["chef"], images.png()
    asked = requests.post(
        f"{base}/api/v1/chef/photos",
        json={"content_type": "image/png", "size_bytes": len(data)},
        headers=chef,
        timeout=10,
    )
    assert asked.status_code == 201, asked.text
    form = asked.json()
    sent = requests.post(
        f"{base}{urlsplit(form['url']).path}",
        data=form["fields"],
        files={"file": ("photo", data)},
        headers=HTTPS,
        timeout=10,
    )
    assert sent.status_code == 204, sent.text
    patched = requests.patch(
        f"{base}/api/v1/chef/profile", json={"photo_upload_id": form["upload_id"]}, headers=chef, timeout=10
    )
    assert patched.status_code == 200, patched.text
    profile = f"{base}/api/v1/chef/profile"
    ready = wait_for(
        lambda: requests.get(profile, headers=chef, timeout=10).json()["photo_status"] == "ready", timeout=30
    )
    assert ready, requests.get(profile, headers=chef, timeout=10).text


def test_the_previous_release_serves_on_the_new_schema_beside_the_new_one(deployment):
    env, releases = deployment["env"], deployment["releases"]
    old, new = releases["old"], releases["new"]
    print(f"previous release {old.name}, new {new.name}; migrations added: {deployment['added'] or 'none'}")

    old.start()
    old_day = serve_a_day(round_robin(old), env, root=old.root, tag="old")

    new.start()  # a rolling deploy: both serve, either worker takes the tasks
    read_back(new.web.base_url, old_day, tag="old")
    mixed_day = serve_a_day(round_robin(new, old), env, root=ROOT, tag="mixed")
    read_back(old.web.base_url, mixed_day, tag="mixed")

    old_errors = old.server_errors()
    old.stop()  # the deploy ends; what the old release wrote stays readable by the new one
    read_back(new.web.base_url, mixed_day, tag="mixed")
    give_photo(new.web.base_url, old_day)
    new_errors = new.server_errors()

    assert old_errors[0] == 0 and old_errors[1] > 50, (old_errors, old.web.output()[-4000:])
    assert new_errors[0] == 0 and new_errors[1] > 30, (new_errors, new.web.output()[-4000:])
    assert not old.tracebacks(), old.tracebacks()[-4000:]
    assert not new.tracebacks(), new.tracebacks()[-4000:]
    tables = changed_tables(deployment["added"])
    with psycopg.connect(deployment["database"]) as conn:
        empty = [
            table
            for table in sorted(tables)
            if not conn.execute(sql.SQL("SELECT 1 FROM {} LIMIT 1").format(sql.Identifier(table))).fetchone()
        ]
    assert not empty, f"no release wrote to {empty}: make the day above touch them"
