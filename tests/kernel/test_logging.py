import io
import json
import logging

import pytest

from foodiefast.logging import JsonFormatter, RequestIdFilter

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
