"""GET /health/: is the database reachable, and the Celery broker? 200 when both are, 503 otherwise."""
import logging

from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

logger = logging.getLogger(__name__)


def _database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return "ok"


def _broker() -> str:
    from cmportal.celery import app

    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=2)
    return "ok"


@never_cache
@require_GET
def health(request):
    checks, healthy = {}, True
    for name, probe in (("database", _database), ("broker", _broker)):
        try:
            checks[name] = probe()
        except Exception as error:  # noqa: BLE001 - any failure is the answer, not a 500
            healthy = False
            checks[name] = f"unavailable: {type(error).__name__}"
            logger.warning("Health check: %s unavailable (%s)", name, type(error).__name__)
    return JsonResponse({"status": "ok" if healthy else "unavailable", "checks": checks},
                        status=200 if healthy else 503)
