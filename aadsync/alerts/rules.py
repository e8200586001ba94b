"""The alert rules as pure functions: a failure streak after a run, when quarantine starts, which e-mail is due."""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

# E-mails about look-ups (the expiry warnings are aadsync.expiry.warning_due's).
FAILING = "failing"  # look-ups started failing: one message per failure streak
REMINDER = "reminder"  # still failing: at most one a day
RECOVERED = "recovered"  # a look-up succeeded after a failing e-mail
EXPIRY = "expiry"  # the secret expires in 30 or 7 days
KINDS = (FAILING, REMINDER, RECOVERED, EXPIRY)

REMINDER_EVERY = timedelta(days=1)


@dataclass(frozen=True)
class Streak:
    """A company's look-ups since the last success: when they started failing, how many failed in a row, and how
    many of those were scheduled ones (what quarantine counts)."""

    failing_since: datetime | None = None
    failed_in_row: int = 0
    scheduled_failed_in_row: int = 0

    @property
    def failing(self) -> bool:
        return self.failing_since is not None


def streak_after(streak: Streak, *, failed: bool, scheduled: bool, at: datetime) -> Streak:
    """The streak once a run ended at `at`. Any success ends it. A failure extends it; only a scheduled failure
    counts toward quarantine, and a failed One-time Sync or command neither counts nor resets that count."""
    if not failed:
        return Streak()
    return replace(streak, failing_since=streak.failing_since or at, failed_in_row=streak.failed_in_row + 1,
                   scheduled_failed_in_row=streak.scheduled_failed_in_row + (1 if scheduled else 0))


def quarantined(streak: Streak, *, after: int) -> bool:
    """Quarantine holds from the `after`-th failed scheduled look-up in a row (0 or less: never)."""
    return after > 0 and streak.scheduled_failed_in_row >= after


def failing_mail_due(*, failure_mail_at: datetime | None, reminder_mail_at: datetime | None,
                     now: datetime) -> str | None:
    """After a failed look-up of a failing company: FAILING when this streak has had no e-mail yet, REMINDER when
    the last one is a day old, else None (no message per failure)."""
    if failure_mail_at is None:
        return FAILING
    last = max(failure_mail_at, reminder_mail_at or failure_mail_at)
    return REMINDER if now - last >= REMINDER_EVERY else None


def recovered_mail_due(*, failing: bool, failure_mail_at: datetime | None) -> bool:
    """After a successful look-up: RECOVERED is due when the streak that ended had its failing e-mail."""
    return not failing and failure_mail_at is not None
