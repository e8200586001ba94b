"""The one Redis the tests use: TEST_REDIS_URL (default redis://127.0.0.1:6379; bin/test points it at a throwaway
redis-server when none answers there). Each suite takes a database number of its own on it."""
import os

REDIS_BASE = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379").rstrip("/")


def test_redis_url(db: int) -> str:
    """redis://HOST:PORT/<db> on the tests' Redis."""
    return f"{REDIS_BASE}/{db}"


test_redis_url.__test__ = False  # a helper, not a test
