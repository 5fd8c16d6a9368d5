"""Photo work runs on its own queue, the last the Procfile's worker drains: a batch
of uploads never holds up payments, orders or mail."""

from __future__ import annotations

from config.celery import app
from tests.processes import worker_queues


def test_photo_tasks_go_to_the_media_queue_drained_last():
    for task in ("apps.chefs.tasks.kitchen_photo_process_task", "apps.menus.tasks.dish_photo_process_task"):
        assert app.amqp.router.route({}, task)["queue"].name == "media"

    assert worker_queues()[-1] == "media"
    assert worker_queues()[:4] == ["payments", "orders", "notifications", "celery"]
