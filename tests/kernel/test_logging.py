import asyncio
import io
import json
import logging
import time

import pytest

from foodiefast.logging import JsonFormatter, RequestIdFilter, direct_handlers, request_id_var
from foodiefast.middleware import log_request

pytestmark = pytest.mark.django_db


@pytest.fixture
def log_lines():
    """What the stdout handler would print, one parsed JSON object per line."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    logger = logging.getLogger("foodiefast")
    previous = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines() if line]
    logger.removeHandler(handler)
    logger.setLevel(previous)


def test_one_json_line_per_request_with_its_request_id(make_client, customer, log_lines):
    response = make_client(customer).get("/api/v1/me", HTTP_X_REQUEST_ID="req-abc-123")

    assert response["X-Request-ID"] == "req-abc-123"
    [line] = [entry for entry in log_lines() if entry["message"] == "request"]
    assert line["request_id"] == "req-abc-123"
    assert line["method"] == "GET"
    assert line["path"] == "/api/v1/me"
    assert line["status"] == 200
    assert line["user_id"] == str(customer.pk)
    assert isinstance(line["duration_ms"], float)


def test_a_request_without_an_id_gets_one(api, log_lines):
    response = api.get("/api/v1/me")
    assert len(response["X-Request-ID"]) == 32
    [line] = [entry for entry in log_lines() if entry["message"] == "request"]
    assert line["request_id"] == response["X-Request-ID"]
    assert line["status"] == 401


def test_passwords_and_tokens_never_reach_the_log(api, customer, log_lines):
    api.post("/api/v1/auth/token", {"email": customer.email, "password": "s3cret-Passw0rd!"}, format="json")
    logging.getLogger("foodiefast.test").info(
        "card 4242 4242 4242 4242 declined", extra={"password": "hunter2", "access_token": "eyJabc"}
    )

    text = json.dumps(log_lines())
    assert "s3cret-Passw0rd!" not in text
    assert "hunter2" not in text and "eyJabc" not in text
    assert "4242 4242 4242 4242" not in text


def deployed_access_log(monkeypatch):
    """The access logger as deployed: its lines reach one JSON handler alone (no test
    capture on the way), so they are written without a LogRecord. Called in the test's
    body: pytest's capture handlers are added after the fixtures."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    logger = logging.getLogger("foodiefast.request")
    monkeypatch.setattr(logger, "propagate", False)
    monkeypatch.setattr(logger, "handlers", [handler])
    monkeypatch.setattr(logger, "level", logging.INFO)
    assert direct_handlers(logger) == [handler]
    return logger, handler, stream


def test_the_access_line_written_directly_is_the_formatters_line(monkeypatch):
    logger, handler, stream = deployed_access_log(monkeypatch)
    token = request_id_var.set("req-1")
    try:
        log_request(method="POST", path='/api/v1/x"é', status=202, started=time.perf_counter(), user_id="u-1")
        extra = {"method": "POST", "path": '/api/v1/x"é', "status": 202, "duration_ms": 0.01, "user_id": "u-1"}
        record = logger.makeRecord(logger.name, logging.INFO, __file__, 0, "request", (), None, extra=extra)
        handler.filter(record)
        expected = json.loads(handler.format(record))
    finally:
        request_id_var.reset(token)

    [written] = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert list(written) == list(expected)  # the same fields in the same order
    for varying in ("duration_ms", "timestamp"):
        assert type(written.pop(varying)) is type(expected.pop(varying))
    assert written == expected


def test_access_lines_written_on_the_event_loop_leave_with_its_turn(monkeypatch):
    _, _, stream = deployed_access_log(monkeypatch)

    async def two_requests():
        log_request(method="GET", path="/a", status=200, started=time.perf_counter())
        log_request(method="GET", path="/b", status=404, started=time.perf_counter())
        held = stream.getvalue()
        await asyncio.sleep(0)
        return held

    assert asyncio.run(two_requests()) == ""
    assert [json.loads(line)["path"] for line in stream.getvalue().splitlines()] == ["/a", "/b"]


def test_access_lines_reach_any_other_handler_as_records(log_lines):
    log_request(method="GET", path="/c", status=200, started=time.perf_counter(), user_id=None)
    [line] = [entry for entry in log_lines() if entry["message"] == "request"]
    assert line["path"] == "/c" and line["user_id"] is None
