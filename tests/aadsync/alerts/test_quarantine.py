"""Quarantine: after AAD_QUARANTINE_AFTER failed scheduled look-ups in a row the schedule runs at most once a day at
the company's execution time (in its time zone); a successful look-up or a settings change ends it."""
from datetime import UTC, datetime, timedelta
from html import unescape

import pytest

from aadsync.alerts.state import runs_outcome_record
from aadsync.dispatch import sync_due_dispatch
from aadsync.errors import SyncError
from aadsync.models import AadSettings, LookupHealth, SyncRun
from aadsync.runs import sync_run_create, sync_runs_end
from aadsync.services import Actor, aad_settings_update
from tests.aadsync.run_helpers import configure, published  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 6, 10, 1, 17, 0, tzinfo=UTC)  # 10:17 in Seoul
ERROR = SyncError("wrong_secret").sentence


def _end(company, *, trigger="schedule", failed=True, at=NOW, error=ERROR):
    run = sync_run_create(company=company, trigger=trigger)
    sync_runs_end(SyncRun.objects.filter(pk=run.pk), status="failed" if failed else "succeeded",
                  error=error if failed else "", now=at)
    runs_outcome_record([run.pk], now=at)
    return run


def _fail_scheduled(company, times, *, start=NOW):
    for hour in range(times):
        _end(company, at=start + timedelta(hours=hour))
    return start + timedelta(hours=times - 1)


@pytest.fixture
def hourly(company):
    return configure(company, period="hourly", hour=2, exec_minute=30, next_run_at=NOW + timedelta(minutes=13))


def test_the_fifth_failed_scheduled_look_up_quarantines_and_moves_the_next_run_to_the_daily_time(company, hourly):
    last = _fail_scheduled(company, 4)
    assert AadSettings.objects.get(company=company).quarantined_since is None
    fifth = last + timedelta(hours=1)  # 05:17 UTC, 14:17 in Seoul
    _end(company, at=fifth)
    row = AadSettings.objects.get(company=company)
    assert row.quarantined_since == fifth
    # 02:30 in Seoul is 17:30 UTC: the next one after 14:17 Seoul is 02:30 tomorrow, Seoul time.
    assert row.next_run_at == datetime(2026, 6, 10, 17, 30, tzinfo=UTC)
    health = LookupHealth.objects.get(company=company)
    assert (health.scheduled_failed_in_row, health.failed_in_row, health.last_error) == (5, 5, ERROR)


@pytest.mark.parametrize("after,count,held", [(3, 3, True), (3, 2, False), (0, 20, False)])
def test_the_threshold_comes_from_the_setting(company, hourly, settings, after, count, held):
    settings.AAD_QUARANTINE_AFTER = after
    _fail_scheduled(company, count)
    assert (AadSettings.objects.get(company=company).quarantined_since is not None) is held


def test_failed_one_time_syncs_and_commands_do_not_count_and_do_not_reset(company, hourly):
    _fail_scheduled(company, 4)
    _end(company, trigger="one-time")
    _end(company, trigger="command")
    assert AadSettings.objects.get(company=company).quarantined_since is None
    _end(company)
    assert AadSettings.objects.get(company=company).quarantined_since is not None


def test_runs_that_never_ran_because_of_not_use_do_not_count(company, hourly):
    _fail_scheduled(company, 4)
    _end(company, error=SyncError("not_use").sentence)
    assert LookupHealth.objects.get(company=company).scheduled_failed_in_row == 4


def test_a_run_is_counted_once(company, hourly):
    run = _end(company)
    runs_outcome_record([run.pk, run.pk])
    runs_outcome_record([run.pk])
    assert LookupHealth.objects.get(company=company).failed_in_row == 1


@pytest.mark.parametrize("trigger", ["one-time", "schedule", "command"])
def test_any_successful_look_up_ends_it_and_restores_the_hourly_schedule(company, hourly, trigger):
    _fail_scheduled(company, 5)
    at = NOW + timedelta(hours=6)
    _end(company, trigger=trigger, failed=False, at=at)
    row = AadSettings.objects.get(company=company)
    assert row.quarantined_since is None
    assert row.next_run_at == datetime(2026, 6, 10, 7, 30, tzinfo=UTC)  # the next :30 after 07:17 UTC
    health = LookupHealth.objects.get(company=company)
    assert (health.failing_since, health.failed_in_row, health.scheduled_failed_in_row) == (None, 0, 0)


def test_a_settings_change_ends_it_and_the_count_starts_again(company, hourly):
    _fail_scheduled(company, 5)
    aad_settings_update(company=company, data={"exec_minute": 45}, secret=None,
                        actor=Actor(person=None, source="test"))
    row = AadSettings.objects.get(company=company)
    assert row.quarantined_since is None and row.next_run_at.minute == 45
    assert LookupHealth.objects.get(company=company).scheduled_failed_in_row == 0
    _fail_scheduled(company, 4, start=NOW + timedelta(hours=8))
    assert AadSettings.objects.get(company=company).quarantined_since is None


@pytest.mark.parametrize("period,tz,expected", [
    # Hourly, quarantined: once a day at the execution time, in the company's time zone.
    ("hourly", "Asia/Seoul", datetime(2026, 6, 10, 17, 30, tzinfo=UTC)),  # 02:30 KST
    ("hourly", "America/New_York", datetime(2026, 6, 10, 6, 30, tzinfo=UTC)),  # 21:17 EDT now: 02:30 EDT next
    ("hourly", "Europe/Berlin", datetime(2026, 6, 11, 0, 30, tzinfo=UTC)),  # 02:30 CEST
    # Daily and slower schedules already run at most once a day: unchanged.
    ("daily", "Asia/Seoul", datetime(2026, 6, 10, 17, 30, tzinfo=UTC)),
    ("weekly", "Asia/Seoul", datetime(2026, 6, 14, 17, 30, tzinfo=UTC)),  # Monday 02:30 KST
])
def test_the_dispatcher_backs_a_quarantined_schedule_off_to_daily(make_company, published, period, tz, expected):
    company = make_company(slug="cm7-q", timezone=tz)
    configure(company, period=period, hour=2, exec_minute=30, next_run_at=NOW - timedelta(seconds=1),
              quarantined_since=NOW - timedelta(days=1), weekday=0)
    result = sync_due_dispatch(now=NOW)
    assert result.queued == 1
    assert AadSettings.objects.get(company=company).next_run_at == expected


def test_the_dispatcher_keeps_hourly_for_companies_not_quarantined(company, published):
    configure(company, period="hourly", hour=2, exec_minute=30, next_run_at=NOW - timedelta(seconds=1))
    sync_due_dispatch(now=NOW)
    assert AadSettings.objects.get(company=company).next_run_at == datetime(2026, 6, 10, 1, 30, tzinfo=UTC)


def test_across_a_daylight_saving_change_the_daily_back_off_keeps_the_wall_clock_time(make_company, published):
    company = make_company(slug="cm8-dst", timezone="Europe/Berlin")
    before_change = datetime(2026, 3, 28, 12, 0, tzinfo=UTC)  # Saturday; clocks go forward on Sunday 02:00
    configure(company, period="hourly", hour=3, exec_minute=0, next_run_at=before_change,
              quarantined_since=before_change)
    sync_due_dispatch(now=before_change)
    # 03:00 CEST on Sunday is 01:00 UTC (it would be 02:00 UTC in winter time).
    assert AadSettings.objects.get(company=company).next_run_at == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)


def test_the_page_says_look_ups_are_paused_and_why(manager_client, company, hourly):
    _fail_scheduled(company, 5)
    html = unescape(manager_client.get("/aad/").content.decode())
    assert 'data-testid="quarantine"' in html
    assert "Look-ups are paused to once a day" in html and "after 5 failed scheduled look-ups in a row since" in html
    assert "the next one runs at 02:30:00" in html and ERROR in html
    assert "a successful look-up or a change to the settings ends the pause" in html


def test_the_hook_counts_runs_when_their_end_commits(company, hourly, django_capture_on_commit_callbacks,
                                                     alerts_queued):
    run = sync_run_create(company=company, trigger="schedule")
    with django_capture_on_commit_callbacks(execute=True):
        sync_runs_end(SyncRun.objects.filter(pk=run.pk), status="failed", error=ERROR)
    assert LookupHealth.objects.get(company=company).failed_in_row == 1
    assert alerts_queued == [run.pk]
