"""When a company's next look-up runs: pure functions of its schedule, an instant and its time zone."""
import calendar
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

HOURLY, DAILY, WEEKLY, MONTHLY = "hourly", "daily", "weekly", "monthly"


@dataclass(frozen=True)
class Schedule:
    """A look-up period and its execution time, as a manager picks them on the MS AAD page.

    `weekday` (0 = Monday) counts for weekly, `month_day` (1-31) for monthly, `hour` for all but hourly.
    """

    period: str
    hour: int = 0
    minute: int = 0
    second: int = 0
    weekday: int = 0
    month_day: int = 1

    def __post_init__(self):
        if self.period not in (HOURLY, DAILY, WEEKLY, MONTHLY):
            raise ValueError(f"Unknown look-up period {self.period!r}.")
        if not (0 <= self.hour <= 23 and 0 <= self.minute <= 59 and 0 <= self.second <= 59):
            raise ValueError(f"Execution time {self.hour}:{self.minute}:{self.second} is out of range.")
        if not (0 <= self.weekday <= 6 and 1 <= self.month_day <= 31):
            raise ValueError(f"Weekday {self.weekday} or day of month {self.month_day} is out of range.")


def quarantine_schedule(schedule: Schedule) -> Schedule:
    """The schedule of a quarantined company (repeated failures): at most once a day, at its execution time.
    An hourly schedule becomes daily at hour:minute:second; daily, weekly and monthly ones already are."""
    if schedule.period == HOURLY:
        return replace(schedule, period=DAILY)
    return schedule


def next_run_after(schedule: Schedule, after: datetime, tz: ZoneInfo) -> datetime:
    """The first scheduled instant strictly after `after` (aware), in UTC.

    Execution times are wall-clock times in `tz`. A wall time that does not exist (clocks jump forward)
    runs at the first valid instant after it, the moment of the jump. A wall time that occurs twice
    (clocks fall back) runs once, at its first occurrence. This holds for hourly schedules too: in the
    repeated hour an hourly look-up runs once. A monthly day 29-31 runs on the last day of shorter months.
    Missed runs never pile up: whatever happened before `after` is ignored.
    """
    if after.tzinfo is None:
        raise ValueError("`after` must be an aware datetime.")
    # Start a little early (a day; two hours for hourly): a wall time's instant can come before `after`'s
    # wall time suggests around a clock change. Candidates are in order, so the first one after wins.
    local_after = after.astimezone(tz).replace(tzinfo=None, fold=0)
    margin = timedelta(hours=2) if schedule.period == HOURLY else timedelta(days=1)
    for wall_time in _wall_times(schedule, local_after - margin):
        instant = local_to_utc(wall_time, tz)
        if instant > after:
            return instant
    raise AssertionError("unreachable: every schedule has a run within a few weeks")  # pragma: no cover


def local_to_utc(wall_time: datetime, tz: ZoneInfo) -> datetime:
    """A naive wall-clock time in `tz` as a UTC instant (first occurrence; next valid instant for a gap)."""
    earlier = wall_time.replace(tzinfo=tz, fold=0).astimezone(UTC)
    if earlier.astimezone(tz).replace(tzinfo=None) == wall_time:
        return earlier  # exists; fold=0 is the first of two occurrences when the clock falls back
    # In a gap fold=0 applies the offset from before the jump (a later instant), fold=1 the offset from
    # after it (an earlier one); the jump itself lies between them: find it to the second.
    before = wall_time.replace(tzinfo=tz, fold=1).astimezone(UTC)
    offset_before = before.astimezone(tz).utcoffset()
    low, high = before, earlier  # low has the old offset, high the new one
    while high - low > timedelta(seconds=1):
        middle = low + (high - low) / 2
        middle = middle.replace(microsecond=0)
        if middle.astimezone(tz).utcoffset() == offset_before:
            low = middle
        else:
            high = middle
    return high


def _wall_times(schedule: Schedule, start: datetime) -> Iterator[datetime]:
    """Candidate naive wall-clock times in increasing order, from around `start` on."""
    minute, second = schedule.minute, schedule.second
    if schedule.period == HOURLY:
        hour = start.replace(minute=minute, second=second, microsecond=0)
        while True:
            yield hour
            hour += timedelta(hours=1)
    if schedule.period == MONTHLY:
        year, month = start.year, start.month
        while True:
            day_of_month = min(schedule.month_day, calendar.monthrange(year, month)[1])
            yield datetime(year, month, day_of_month, schedule.hour, minute, second)  # noqa: DTZ001 - a wall time
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    day = start.date()
    while True:
        if schedule.period == DAILY or day.weekday() == schedule.weekday:
            yield datetime(day.year, day.month, day.day, schedule.hour, minute, second)  # noqa: DTZ001 - a wall time
        day += timedelta(days=1)
