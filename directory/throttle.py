"""Throttle repeated failed sign-ins (password or Microsoft) from one source address."""
import time

from django.conf import settings
from django.core.cache import cache


def _limit() -> int:
    return getattr(settings, "LOGIN_THROTTLE_LIMIT", 5)


def _window() -> int:
    return getattr(settings, "LOGIN_THROTTLE_WINDOW", 900)


def _key(request) -> str:
    return f"signin-failures:{request.META.get('REMOTE_ADDR', 'unknown')}"


def signin_blocked_for(request) -> int:
    """Seconds this source must still wait before trying again (0: it may try now)."""
    record = cache.get(_key(request))
    if not record or record["count"] < _limit():
        return 0
    return max(0, int(record["since"] + _window() - time.time()))


def signin_failed(request) -> None:
    key = _key(request)
    record = cache.get(key)
    if not record or record["since"] + _window() < time.time():
        record = {"count": 0, "since": time.time()}
    record["count"] += 1
    cache.set(key, record, _window())


def signin_succeeded(request) -> None:
    cache.delete(_key(request))


def blocked_message(seconds: int) -> str:
    minutes = max(1, (seconds + 59) // 60)
    return (
        f"Too many failed sign-ins from your address. Try again in {minutes} minute{'s' if minutes > 1 else ''}, "
        "or ask your manager to reset your password."
    )
