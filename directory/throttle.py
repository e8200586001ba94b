"""Sign-in throttling: failed sign-ins counted per account and per client address, atomically in the database.

Each counter allows `limit` failures within a window of LOGIN_THROTTLE_WINDOW seconds that starts at its first
failure. A password check takes its slot in both counters BEFORE the password is checked (one conditional UPDATE
each), so sixteen simultaneous guesses cannot all be checked: at most `limit` get a slot. The slot stays taken
when the password is wrong; a success clears its own account's counter and gives the address slot back. Nothing
one account does resets another's.

Why the database and not the cache: "UPDATE ... SET count = count + 1 WHERE key = %s AND count < %s" is atomic on
SQLite (one writer at a time) and PostgreSQL (the row lock, and the WHERE re-checked after waiting), whereas the
file cache (the default without Redis) implements incr as a read followed by a write. The keys are HMACs:
the table never holds what people typed into the ID field (sometimes their password).
"""
import ipaddress
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Case, F, Q, Value, When
from django.http import HttpRequest
from django.utils import timezone
from django.utils.crypto import salted_hmac

from cmportal.client_address import client_address
from directory.models import SigninThrottle

ACCOUNT = "account"
ADDRESS = "address"


class Throttled(Exception):
    """Too many failed sign-ins for this account or from this address; `seconds` until the next try."""

    def __init__(self, *, scope: str, seconds: int):
        super().__init__(scope, seconds)
        self.scope = scope
        self.seconds = seconds

    @property
    def message(self) -> str:
        return blocked_message(self.seconds, scope=self.scope)


def blocked_message(seconds: int, *, scope: str = ACCOUNT) -> str:
    """The refusal: when to try again. The same for every ID typed, existing or not."""
    minutes = max(1, (seconds + 59) // 60)
    when = "in a minute" if minutes == 1 else f"in {minutes} minutes"
    who = "for this ID" if scope == ACCOUNT else "from your network"
    return (
        f"Too many failed sign-ins {who}. Try again {when}. "
        "If you forgot your password, ask your manager to set a new one."
    )


def _window() -> timedelta:
    return timedelta(seconds=settings.LOGIN_THROTTLE_WINDOW)


def _digest(kind: str, value: str) -> str:
    return salted_hmac("directory.throttle", f"{kind}:{value}", algorithm="sha256").hexdigest()


def account_key(account: str) -> str:
    """The portal ID or admin username as typed, trimmed and case-folded: "Rich@CM1-Vertical " is rich@cm1-vertical."""
    return _digest(ACCOUNT, account.strip().casefold())


def address_key(request: HttpRequest) -> str:
    """The client's address; an IPv6 client counts by its /64 (one home or office network, any interface ID)."""
    address = client_address(request)
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        parsed = None
    if isinstance(parsed, ipaddress.IPv6Address):
        address = str(ipaddress.IPv6Network((parsed, 64), strict=False))
    return _digest(ADDRESS, address)


@dataclass(frozen=True)
class Counter:
    key: str
    limit: int
    scope: str

    def take(self, now: datetime) -> bool:
        """Count one more, unless the counter is full within its window; True when counted."""
        expired = Q(window_started_at__lte=now - _window())
        rows = SigninThrottle.objects.filter(key=self.key).filter(expired | Q(count__lt=self.limit))
        return self._update(rows, expired, now)

    def add(self, now: datetime) -> None:
        """Count one more whatever the count (a failure that was not reserved beforehand)."""
        expired = Q(window_started_at__lte=now - _window())
        self._update(SigninThrottle.objects.filter(key=self.key), expired, now)

    def _update(self, rows, expired: Q, now: datetime) -> bool:
        changes = {
            "count": Case(When(expired, then=Value(1)), default=F("count") + 1),
            "window_started_at": Case(When(expired, then=Value(now)), default=F("window_started_at")),
        }
        if rows.update(**changes):
            return True
        if not SigninThrottle.objects.filter(key=self.key).exists():
            # The first failure of this key: make its row (a racing request may make it first).
            SigninThrottle.objects.filter(window_started_at__lte=now - _window()).delete()  # forget stale counters
            SigninThrottle.objects.bulk_create(
                [SigninThrottle(key=self.key, count=0, window_started_at=now)], ignore_conflicts=True
            )
        # Count again: the row exists now, so nothing but a full counter refuses (not a row another request was
        # making while the first UPDATE ran).
        return bool(rows.update(**changes))

    def give_back(self) -> None:
        SigninThrottle.objects.filter(key=self.key, count__gt=0).update(count=F("count") - 1)

    def clear(self) -> None:
        SigninThrottle.objects.filter(key=self.key).delete()

    def wait_seconds(self, now: datetime) -> int:
        """Seconds until this counter allows another try (0: now)."""
        row = SigninThrottle.objects.filter(key=self.key).first()
        if row is None or row.count < self.limit:
            return 0
        return max(0, int((row.window_started_at + _window() - now).total_seconds() + 0.999))


def _account_counter(account: str) -> Counter:
    return Counter(account_key(account), settings.LOGIN_THROTTLE_ACCOUNT_LIMIT, ACCOUNT)


def _address_counter(request: HttpRequest) -> Counter:
    return Counter(address_key(request), settings.LOGIN_THROTTLE_ADDRESS_LIMIT, ADDRESS)


@dataclass
class Attempt:
    """One password check, holding its slots in the address's and the account's counters."""

    address: Counter
    account: Counter
    settled: bool = field(default=False)

    def failed(self) -> None:
        """The password was wrong: both slots stay counted."""
        self.settled = True

    def succeeded(self) -> None:
        """The password was right: this account's earlier failures are forgiven, the address slot comes back."""
        if not self.settled:
            self.account.clear()
            self.address.give_back()
        self.settled = True

    def abandoned(self) -> None:
        """Nothing was learnt about the password (e.g. a right password on the wrong portal): give both back."""
        if not self.settled:
            self.account.give_back()
            self.address.give_back()
        self.settled = True


def attempt_begin(*, request: HttpRequest, account: str) -> Attempt:
    """Take a slot for one password check of `account` from this client, or raise Throttled (nothing counted)."""
    now = timezone.now()
    address = _address_counter(request)
    if not address.take(now):
        raise Throttled(scope=ADDRESS, seconds=max(1, address.wait_seconds(now)))
    counter = _account_counter(account)
    if not counter.take(now):
        address.give_back()
        raise Throttled(scope=ACCOUNT, seconds=max(1, counter.wait_seconds(now)))
    return Attempt(address=address, account=counter)


def signin_blocked_for(*, request: HttpRequest, account: str | None = None) -> Throttled | None:
    """Whether this client (and this account, when known) must wait before trying again; counts nothing."""
    now = timezone.now()
    counters = [_address_counter(request)] + ([_account_counter(account)] if account else [])
    for counter in counters:
        seconds = counter.wait_seconds(now)
        if seconds:
            return Throttled(scope=counter.scope, seconds=seconds)
    return None


def signin_failed(*, request: HttpRequest, account: str | None = None) -> None:
    """A sign-in failed after the fact (Microsoft's answer was refused): it counts against the account when one
    is known, else against the client's address."""
    counter = _account_counter(account) if account else _address_counter(request)
    counter.add(timezone.now())


def signin_succeeded(*, account: str) -> None:
    _account_counter(account).clear()
