"""The alert rules (pure): the failure streak and what quarantine counts, and which e-mail is due when."""
from datetime import UTC, datetime, timedelta

import pytest

from aadsync.alerts.rules import (
    FAILING,
    REMINDER,
    Streak,
    failing_mail_due,
    quarantined,
    recovered_mail_due,
    streak_after,
)

T0 = datetime(2027, 1, 4, 1, 0, tzinfo=UTC)
S, ONE, C = "schedule", "one-time", "command"


def _play(outcomes, *, after=5):
    """Apply (trigger, failed) outcomes an hour apart; the streak and whether it is quarantined."""
    streak = Streak()
    for hour, (trigger, failed) in enumerate(outcomes):
        streak = streak_after(streak, failed=failed, scheduled=trigger == S, at=T0 + timedelta(hours=hour))
    return streak, quarantined(streak, after=after)


@pytest.mark.parametrize("outcomes,failed,scheduled,quarantine", [
    ([], 0, 0, False),
    ([(S, True)] * 4, 4, 4, False),
    ([(S, True)] * 5, 5, 5, True),  # the fifth failed scheduled look-up in a row
    ([(S, True)] * 7, 7, 7, True),
    ([(S, True)] * 4 + [(ONE, True)], 5, 4, False),  # a failed One-time Sync does not count ...
    ([(S, True)] * 4 + [(ONE, True), (S, True)], 6, 5, True),  # ... nor reset the count
    ([(S, True)] * 4 + [(C, True), (C, True), (S, True)], 7, 5, True),  # manage.py aadsync likewise
    ([(S, True)] * 6 + [(ONE, False)], 0, 0, False),  # a successful One-time Sync ends it
    ([(S, True)] * 6 + [(S, False)], 0, 0, False),  # so does a successful scheduled look-up
    ([(S, True)] * 3 + [(S, False)] + [(S, True)] * 4, 4, 4, False),  # "in a row": a success starts again
    ([(ONE, True)] * 9, 9, 0, False),  # only scheduled look-ups are quarantined
])
def test_streak_and_quarantine(outcomes, failed, scheduled, quarantine):
    streak, held = _play(outcomes)
    assert (streak.failed_in_row, streak.scheduled_failed_in_row, held) == (failed, scheduled, quarantine)


def test_the_streak_starts_at_its_first_failure():
    streak, _ = _play([(S, False), (S, True), (ONE, True), (S, True)])
    assert streak.failing_since == T0 + timedelta(hours=1)
    assert _play([(S, True), (S, False)])[0].failing_since is None


@pytest.mark.parametrize("after,count,held", [(3, 3, True), (3, 2, False), (1, 1, True), (0, 50, False)])
def test_the_threshold_is_a_setting(after, count, held):
    assert quarantined(Streak(T0, count, count), after=after) is held


@pytest.mark.parametrize("first,reminder,now,due", [
    (None, None, T0, FAILING),  # first failure of the streak
    (T0, None, T0 + timedelta(hours=1), None),  # the second failure: nothing
    (T0, None, T0 + timedelta(hours=23, minutes=59), None),
    (T0, None, T0 + timedelta(days=1), REMINDER),  # a day after the first e-mail
    (T0, T0 + timedelta(days=1), T0 + timedelta(days=1, hours=5), None),  # at most one reminder a day
    (T0, T0 + timedelta(days=1), T0 + timedelta(days=2), REMINDER),
])
def test_failing_mails(first, reminder, now, due):
    assert failing_mail_due(failure_mail_at=first, reminder_mail_at=reminder, now=now) == due


@pytest.mark.parametrize("failing,first,due", [(False, T0, True), (False, None, False), (True, T0, False)])
def test_recovered_mail(failing, first, due):
    assert recovered_mail_due(failing=failing, failure_mail_at=first) is due
