"""How soon a secret expires (pure): days in the company's calendar, the page's level, warnings once each."""
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from aadsync.expiry import expiry_status, start_of_day, warning_due

SEOUL = ZoneInfo("Asia/Seoul")
NOW = datetime(2027, 3, 1, 3, 0, tzinfo=UTC)  # 12:00 in Seoul


@pytest.mark.parametrize("delta,days,level,label", [
    (timedelta(days=31), 31, "ok", ""),
    (timedelta(days=30), 30, "soon", "expires soon"),
    (timedelta(days=8), 8, "soon", "expires soon"),
    (timedelta(days=7), 7, "urgent", "expires very soon"),
    (timedelta(hours=1), 0, "urgent", "expires very soon"),
    (timedelta(0), 0, "expired", "expired"),
    (timedelta(days=-2), -2, "expired", "expired"),
])
def test_levels(delta, days, level, label):
    status = expiry_status(NOW + delta, now=NOW, tz=SEOUL)
    assert (status.days_left, status.level, status.label) == (days, level, label)


def test_days_are_counted_in_the_companys_calendar():
    # 14:59 UTC is 23:59 in Seoul; 15:01 UTC already the next day there.
    assert expiry_status(datetime(2027, 3, 1, 14, 59, tzinfo=UTC), now=NOW, tz=SEOUL).days_left == 0
    assert expiry_status(datetime(2027, 3, 1, 15, 1, tzinfo=UTC), now=NOW, tz=SEOUL).days_left == 1


@pytest.mark.parametrize("delta,approximate,sentence", [
    (timedelta(days=45), False, "Secret expires on 2027-04-15 (in 45 days)"),
    (timedelta(days=1), True, "Secret expires on about 2027-03-02 (in 1 day)"),
    (timedelta(hours=2), False, "Secret expires on 2027-03-01 (today)"),
    (timedelta(days=-1), False, "Secret expired on 2027-02-28 (1 day ago)"),
    (timedelta(days=-10), False, "Secret expired on 2027-02-19 (10 days ago)"),
])
def test_sentences(delta, approximate, sentence):
    assert expiry_status(NOW + delta, now=NOW, tz=SEOUL, approximate=approximate).sentence == sentence


EXPIRES = NOW + timedelta(days=60)


@pytest.mark.parametrize("days_before,warned_for,warned_days,due", [
    (31, None, None, None),
    (30, None, None, 30),
    (29, EXPIRES, 30, None),  # the 30-day warning went out already
    (8, EXPIRES, 30, None),
    (7, EXPIRES, 30, 7),
    (6, EXPIRES, 7, None),  # both sent
    (5, None, None, 7),  # first seen within 7 days: the 7-day warning only
    (20, NOW + timedelta(days=300), 7, 30),  # marks of another secret's expiry do not count
    (0.5, None, None, 7),
    (0, None, None, None),  # expired: the look-ups' failure e-mail says it
    (-3, None, None, None),
])
def test_warnings_once_each(days_before, warned_for, warned_days, due):
    now = EXPIRES - timedelta(days=days_before)
    assert warning_due(EXPIRES, now=now, tz=SEOUL, warned_for=warned_for, warned_days=warned_days) == due


def test_a_typed_date_is_the_start_of_that_day_in_the_company_time_zone():
    assert start_of_day(date(2027, 5, 1), SEOUL) == datetime(2027, 4, 30, 15, 0, tzinfo=UTC)
