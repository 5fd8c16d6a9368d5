import pytest

pytestmark = pytest.mark.django_db


def test_live_answers_ok_over_plain_http(api):
    response = api.get("/health/live", HTTP_X_FORWARDED_PROTO="http")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_ready_reports_every_check_ok(api):
    response = api.get("/health/ready")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "cache": "ok", "broker": "ok"}}


def test_version_names_the_release(api):
    assert api.get("/version").json() == {"version": "test"}
