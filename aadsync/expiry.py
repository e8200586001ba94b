"""How soon a client secret expires (pure): days left in the company's calendar, the page's level, warning days."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

SOON_DAYS = 30  # amber on the page, and the first warning e-mail
URGENT_DAYS = 7  # red on the page, and the second warning e-mail
WARNING_DAYS = (SOON_DAYS, URGENT_DAYS)


@dataclass(frozen=True)
class ExpiryStatus:
    """What the page says about the secret's end: `level` is "ok", "soon", "urgent" or "expired"."""

    expires_on: date
    days_left: int  # calendar days from today to the expiry date in the company's time zone; negative once past
    level: str
    approximate: bool = False

    @property
    def label(self) -> str:
        """The words that carry the level (the colour only repeats them)."""
        return {"ok": "", "soon": "expires soon", "urgent": "expires very soon", "expired": "expired"}[self.level]

    @property
    def sentence(self) -> str:
        about = "about " if self.approximate else ""
        if self.level == "expired":
            ago = -self.days_left
            when = "today" if ago == 0 else f"{ago} day{'s' if ago != 1 else ''} ago"
            return f"Secret expired on {about}{self.expires_on:%Y-%m-%d} ({when})"
        if self.days_left == 0:
            return f"Secret expires on {about}{self.expires_on:%Y-%m-%d} (today)"
        plural = "s" if self.days_left != 1 else ""
        return f"Secret expires on {about}{self.expires_on:%Y-%m-%d} (in {self.days_left} day{plural})"


def days_left(expires_at: datetime, now: datetime, tz: ZoneInfo) -> int:
    return (expires_at.astimezone(tz).date() - now.astimezone(tz).date()).days


def expiry_status(expires_at: datetime, *, now: datetime, tz: ZoneInfo, approximate: bool = False) -> ExpiryStatus:
    days = days_left(expires_at, now, tz)
    if expires_at <= now:
        level = "expired"
    elif days <= URGENT_DAYS:
        level = "urgent"
    elif days <= SOON_DAYS:
        level = "soon"
    else:
        level = "ok"
    return ExpiryStatus(expires_on=expires_at.astimezone(tz).date(), days_left=days, level=level,
                        approximate=approximate)


def warning_due(expires_at: datetime, *, now: datetime, tz: ZoneInfo, warned_for: datetime | None,
                warned_days: int | None) -> int | None:
    """The warning e-mail due now (30 or 7 days before), or None. Each is sent once per expiry date: the marks
    (`warned_for`, `warned_days`) belong to the expiry they were sent for, so a new secret starts afresh. A
    secret first seen within 7 days gets the 7-day warning only; an expired one gets none (the look-ups' failure
    e-mail says it)."""
    if expires_at <= now:
        return None
    already = warned_days if warned_for == expires_at else None
    days = days_left(expires_at, now, tz)
    for threshold in sorted(WARNING_DAYS):  # 7 before 30: the nearer one wins
        if days <= threshold:
            return threshold if already is None or already > threshold else None
    return None


def start_of_day(day: date, tz: ZoneInfo) -> datetime:
    """A date typed from the Azure portal as an instant: the day's start in the company's time zone (the safe end
    of a day the portal shows without a time)."""
    return datetime.combine(day, time.min, tzinfo=tz)
