"""`/healthz` for load balancers and monitoring: the database and Redis, no login."""

import pytest
from django.urls import reverse

from tests.conftest import require_service, test_redis_url


def redis_answers(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


def test_health_is_ok_without_login_when_the_database_answers_and_redis_is_not_used(client, db, settings):
    settings.CELERY_BROKER_URL = ""
    settings.REDIS_URL = ""
    response = client.get(reverse("health"))
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "redis": "not used"}
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.integration
def test_health_checks_a_real_redis(client, db, settings):
    require_service(redis_answers(test_redis_url()), "Redis")
    settings.CELERY_BROKER_URL = test_redis_url()
    response = client.get(reverse("health"))
    assert response.status_code == 200
    assert response.json()["redis"] == "ok"


def test_health_is_503_when_redis_does_not_answer(client, db, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    response = client.get(reverse("health"))
    assert response.status_code == 503
    assert response.json()["status"] == "failing"
    assert response.json()["redis"].startswith("error")


def test_health_is_503_when_the_database_does_not_answer(client, db, monkeypatch, settings):
    from postbode import health

    settings.CELERY_BROKER_URL = ""
    settings.REDIS_URL = ""

    class Unreachable:
        def cursor(self):
            raise OSError("database down")

    monkeypatch.setattr(health, "connection", Unreachable())
    response = client.get(reverse("health"))
    assert response.status_code == 503
    assert response.json() == {"status": "failing", "database": "error: OSError", "redis": "not used"}


@pytest.mark.parametrize("method", ["post", "put", "delete"])
def test_health_takes_no_changes(client, db, method):
    assert getattr(client, method)(reverse("health")).status_code == 405
