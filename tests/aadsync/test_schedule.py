"""Next-run computation: table-driven cases for every period, daylight-saving days and month ends (no database)."""
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aadsync.schedule import Schedule, local_to_utc, next_run_after

NY, BERLIN, SEOUL = "America/New_York", "Europe/Berlin", "Asia/Seoul"


def at(tz: str, text: str) -> datetime:
    """An instant given as wall-clock time in `tz` (first occurrence if it repeats)."""
    return local_to_utc(datetime.fromisoformat(text), ZoneInfo(tz))


def daily(h, m=0, s=0):
    return Schedule("daily", hour=h, minute=m, second=s)


def hourly(m, s=0):
    return Schedule("hourly", minute=m, second=s)


def weekly(weekday, h, m=0, s=0):
    return Schedule("weekly", weekday=weekday, hour=h, minute=m, second=s)


def monthly(day, h, m=0, s=0):
    return Schedule("monthly", month_day=day, hour=h, minute=m, second=s)


# (what it shows, schedule, time zone, after (wall clock in that zone), expected run (ISO with the zone's offset))
CASES = [
    # every day
    ("daily later today", daily(2), "UTC", "2026-01-10 01:00:00", "2026-01-10T02:00:00+00:00"),
    ("daily exactly at the time runs tomorrow", daily(2), "UTC", "2026-01-10 02:00:00", "2026-01-11T02:00:00+00:00"),
    ("daily one second before", daily(2), "UTC", "2026-01-10 01:59:59", "2026-01-10T02:00:00+00:00"),
    ("daily with seconds", daily(23, 59, 59), "UTC", "2026-12-31 23:59:59", "2027-01-01T23:59:59+00:00"),
    ("Seoul daily, already past", daily(2), SEOUL, "2026-01-10 09:00:00", "2026-01-11T02:00:00+09:00"),
    ("Seoul daily, before", daily(2), SEOUL, "2026-01-10 01:59:59", "2026-01-10T02:00:00+09:00"),
    ("Seoul daily across the year end", daily(0, 0, 5), SEOUL, "2026-12-31 23:00:00", "2027-01-01T00:00:05+09:00"),
    # New York: 2026-03-08 02:00 EST jumps to 03:00 EDT; 2026-11-01 02:00 EDT falls back to 01:00 EST
    ("NY time that does not exist runs at the jump", daily(2, 30), NY, "2026-03-08 00:00:00", "2026-03-08T03:00:00-04:00"),
    ("NY after the jump, the next day as usual", daily(2, 30), NY, "2026-03-08 03:00:00", "2026-03-09T02:30:00-04:00"),
    ("NY 02:00 itself does not exist", daily(2), NY, "2026-03-07 12:00:00", "2026-03-08T03:00:00-04:00"),
    ("NY time after the gap is untouched", daily(3, 30), NY, "2026-03-08 00:00:00", "2026-03-08T03:30:00-04:00"),
    ("NY day before the gap, EST", daily(2, 30), NY, "2026-03-06 12:00:00", "2026-03-07T02:30:00-05:00"),
    ("NY repeated time runs at its first occurrence", daily(1, 30), NY, "2026-11-01 00:00:00", "2026-11-01T01:30:00-04:00"),
    ("NY repeated time runs once", daily(1, 30), NY, "2026-11-01 01:30:00", "2026-11-02T01:30:00-05:00"),
    ("NY 01:00 repeats too", daily(1), NY, "2026-10-31 12:00:00", "2026-11-01T01:00:00-04:00"),
    ("NY after fall back, EST", daily(2), NY, "2026-11-01 01:00:00", "2026-11-01T02:00:00-05:00"),
    # Berlin: 2026-03-29 02:00 CET jumps to 03:00 CEST; 2026-10-25 03:00 CEST falls back to 02:00 CET
    ("Berlin time that does not exist runs at the jump", daily(2, 15), BERLIN, "2026-03-28 12:00:00", "2026-03-29T03:00:00+02:00"),
    ("Berlin after the jump", daily(2, 15), BERLIN, "2026-03-29 03:00:00", "2026-03-30T02:15:00+02:00"),
    ("Berlin repeated time, first occurrence", daily(2, 15), BERLIN, "2026-10-25 00:00:00", "2026-10-25T02:15:00+02:00"),
    ("Berlin repeated time runs once", daily(2, 15), BERLIN, "2026-10-25 02:15:00", "2026-10-26T02:15:00+01:00"),
    # every hour, at minute:second of each hour
    ("hourly later this hour", hourly(15, 30), "UTC", "2026-01-10 10:10:00", "2026-01-10T10:15:30+00:00"),
    ("hourly next hour", hourly(15, 30), "UTC", "2026-01-10 10:20:00", "2026-01-10T11:15:30+00:00"),
    ("hourly exactly at the time", hourly(0), "UTC", "2026-01-10 10:00:00", "2026-01-10T11:00:00+00:00"),
    ("hourly across midnight", hourly(45), SEOUL, "2026-01-10 23:50:00", "2026-01-11T00:45:00+09:00"),
    ("hourly in a half-hour zone runs on the local hour", hourly(0), "Asia/Kolkata", "2026-01-10 10:10:00", "2026-01-10T11:00:00+05:30"),
    ("NY hourly into the gap runs at the jump", hourly(15), NY, "2026-03-08 01:15:00", "2026-03-08T03:00:00-04:00"),
    ("NY hourly after the jump", hourly(15), NY, "2026-03-08 03:00:00", "2026-03-08T03:15:00-04:00"),
    ("NY hourly in the repeated hour runs once", hourly(15), NY, "2026-11-01 01:15:00", "2026-11-01T02:15:00-05:00"),
    ("Berlin hourly into the gap", hourly(0, 1), BERLIN, "2026-03-29 01:30:00", "2026-03-29T03:00:00+02:00"),
    # every week on a weekday (0 = Monday)
    ("weekly later today", weekly(0, 2), SEOUL, "2026-01-12 01:00:00", "2026-01-12T02:00:00+09:00"),
    ("weekly already past this week", weekly(0, 2), SEOUL, "2026-01-12 03:00:00", "2026-01-19T02:00:00+09:00"),
    ("weekly later this week", weekly(4, 2), SEOUL, "2026-01-12 03:00:00", "2026-01-16T02:00:00+09:00"),
    ("weekly Sunday on the NY jump day", weekly(6, 2, 30), NY, "2026-03-02 00:00:00", "2026-03-08T03:00:00-04:00"),
    ("weekly Sunday on the Berlin fall-back day", weekly(6, 2, 30), BERLIN, "2026-10-20 00:00:00", "2026-10-25T02:30:00+02:00"),
    ("weekly Sunday runs once on the fall-back day", weekly(6, 2, 30), BERLIN, "2026-10-25 02:30:00", "2026-11-01T02:30:00+01:00"),
    # every month on a day; 29-31 run on the last day of shorter months
    ("monthly 31 in January", monthly(31, 2), SEOUL, "2026-01-01 00:00:00", "2026-01-31T02:00:00+09:00"),
    ("monthly 31 in February", monthly(31, 2), SEOUL, "2026-01-31 02:00:00", "2026-02-28T02:00:00+09:00"),
    ("monthly 31 in a leap February", monthly(31, 2), SEOUL, "2028-02-01 00:00:00", "2028-02-29T02:00:00+09:00"),
    ("monthly 31 in April", monthly(31, 2), SEOUL, "2026-03-31 02:00:00", "2026-04-30T02:00:00+09:00"),
    ("monthly 30 in February", monthly(30, 2), SEOUL, "2026-02-01 00:00:00", "2026-02-28T02:00:00+09:00"),
    ("monthly 29 in February", monthly(29, 2), SEOUL, "2026-02-01 00:00:00", "2026-02-28T02:00:00+09:00"),
    ("monthly 29 in March is the 29th", monthly(29, 2), SEOUL, "2026-02-28 02:00:00", "2026-03-29T02:00:00+09:00"),
    ("monthly later this month", monthly(15, 8), "UTC", "2026-06-10 00:00:00", "2026-06-15T08:00:00+00:00"),
    ("monthly already past this month", monthly(15, 8), "UTC", "2026-06-15 08:00:01", "2026-07-15T08:00:00+00:00"),
    ("monthly across the year end", monthly(1, 0), "UTC", "2026-12-01 00:00:00", "2027-01-01T00:00:00+00:00"),
    ("monthly on the NY jump day", monthly(8, 2, 30), NY, "2026-02-10 00:00:00", "2026-03-08T03:00:00-04:00"),
    ("monthly 31 on the Berlin fall-back", monthly(25, 2, 30), BERLIN, "2026-10-01 00:00:00", "2026-10-25T02:30:00+02:00"),
    # a whole day that never happened (Samoa moved across the date line)
    ("a skipped day runs at the first instant after it", daily(10), "Pacific/Apia", "2011-12-29 11:00:00", "2011-12-31T00:00:00+14:00"),
]


@pytest.mark.parametrize(("schedule", "tz", "after", "expected"), [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_next_run_after(schedule, tz, after, expected):
    result = next_run_after(schedule, at(tz, after), ZoneInfo(tz))
    assert result.tzinfo == UTC
    assert result.astimezone(ZoneInfo(tz)).isoformat() == expected


def test_missed_runs_collapse_into_the_next_one():
    # Beat down for ten days: the next run is the next scheduled instant, not one per missed day.
    after = at(SEOUL, "2026-01-20 05:00:00")
    assert next_run_after(daily(2), after, ZoneInfo(SEOUL)) == at(SEOUL, "2026-01-21 02:00:00")


def test_naive_after_is_refused():
    with pytest.raises(ValueError, match="aware"):
        next_run_after(daily(2), datetime(2026, 1, 1), ZoneInfo(SEOUL))


@pytest.mark.parametrize(
    "kwargs",
    [{"period": "yearly"}, {"period": "daily", "hour": 24}, {"period": "daily", "minute": 60},
     {"period": "weekly", "weekday": 7}, {"period": "monthly", "month_day": 0}, {"period": "monthly", "month_day": 32}],
)
def test_schedule_refuses_out_of_range_values(kwargs):
    with pytest.raises(ValueError):
        Schedule(**kwargs)


ZONES = [NY, BERLIN, SEOUL, "UTC", "Asia/Kolkata", "Australia/Lord_Howe", "America/Santiago", "Pacific/Apia"]
BOUND = {"hourly": timedelta(hours=2), "daily": timedelta(days=1, hours=2),
         "weekly": timedelta(days=7, hours=2), "monthly": timedelta(days=31, hours=2)}


@settings(max_examples=300, deadline=None)
@given(
    period=st.sampled_from(list(BOUND)),
    hour=st.integers(0, 23), minute=st.integers(0, 59), second=st.integers(0, 59),
    weekday=st.integers(0, 6), month_day=st.integers(1, 31),
    tz=st.sampled_from(ZONES),
    after=st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2035, 1, 1)),
)
def test_next_run_is_soon_after_and_nothing_is_scheduled_in_between(
    period, hour, minute, second, weekday, month_day, tz, after
):
    schedule = Schedule(period, hour=hour, minute=minute, second=second, weekday=weekday, month_day=month_day)
    zone = ZoneInfo(tz)
    after = after.replace(tzinfo=UTC)
    result = next_run_after(schedule, after, zone)
    assert after < result <= after + BOUND[period]
    # Minimal: asking again from any earlier moment in between gives the same run.
    assert next_run_after(schedule, after + (result - after) / 2, zone) == result
    assert next_run_after(schedule, result - timedelta(microseconds=1), zone) == result
    # The run is at the chosen wall-clock time, unless that time did not exist that day.
    wall = result.astimezone(zone)
    if (wall.minute, wall.second) != (minute, second) or (period != "hourly" and wall.hour != hour):
        assert result == local_to_utc(wall.replace(tzinfo=None), zone)  # it is a valid instant...
        assert result.astimezone(zone).utcoffset() != (result - timedelta(seconds=1)).astimezone(zone).utcoffset()
