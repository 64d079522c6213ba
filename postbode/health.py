"""`/healthz`: whether this panel process can reach what it needs, for load balancers and monitoring.

200 with `{"status": "ok", ...}` when the database answers and Redis (the Celery broker, and the cache
when set) answers a PING; 503 with the failing part otherwise. No login, no customer data, never cached.
"""

import redis
from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

TIMEOUT_SECONDS = 2


def check_database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as error:  # noqa: BLE001 - any failure is the answer
        return f"error: {type(error).__name__}"
    return "ok"


def redis_urls() -> list[str]:
    urls = [settings.CELERY_BROKER_URL, settings.REDIS_URL]
    return sorted({url for url in urls if url and url.startswith(("redis://", "rediss://", "unix://"))})


def check_redis() -> str:
    urls = redis_urls()
    if not urls:
        return "not used"  # Celery runs eagerly and the cache is local: nothing to reach
    for url in urls:
        client = redis.Redis.from_url(
            url, socket_connect_timeout=TIMEOUT_SECONDS, socket_timeout=TIMEOUT_SECONDS
        )
        try:
            client.ping()
        except redis.RedisError as error:
            return f"error: {type(error).__name__}"
        finally:
            client.close()
    return "ok"


@never_cache
@require_safe
def health(request):
    checks = {"database": check_database(), "redis": check_redis()}
    healthy = all(value in {"ok", "not used"} for value in checks.values())
    return JsonResponse({"status": "ok" if healthy else "failing", **checks}, status=200 if healthy else 503)
