"""A company's failure streak, its quarantine, and which alert e-mails are due, kept in LookupHealth.

`runs_outcome_record` counts each ended run once (the after-commit hook calls it); `alerts_decide` and
`expiry_warnings_decide` pick the e-mails due and mark them sent in the same transaction, so that a second
failure, a redelivered task or a concurrent check never picks the same message again.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import groupby

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from aadsync.alerts.rules import (
    EXPIRY,
    FAILING,
    RECOVERED,
    REMINDER,
    Streak,
    failing_mail_due,
    quarantined,
    recovered_mail_due,
    streak_after,
)
from aadsync.errors import SyncError
from aadsync.expiry import SOON_DAYS, warning_due
from aadsync.models import AadSettings, LookupHealth, SyncRun
from aadsync.services import aad_next_run_at
from directory.models import Person

logger = logging.getLogger(__name__)
ENDED = (SyncRun.Status.SUCCEEDED, SyncRun.Status.FAILED)


@dataclass(frozen=True)
class Mail:
    """One alert to send to each recipient: what kind, about which company (and run), with what details."""

    kind: str
    company_id: int
    recipient_ids: tuple[int, ...]
    run_id: int | None = None
    details: dict = field(default_factory=dict)


def _health_locked(company_id: int) -> LookupHealth:
    """The company's LookupHealth row, created if missing, locked until the caller's transaction ends."""
    try:
        with transaction.atomic():
            LookupHealth.objects.get_or_create(company_id=company_id)
    except IntegrityError:  # created by a concurrent hook meanwhile
        pass
    return LookupHealth.objects.select_for_update().get(company_id=company_id)


def _streak(health: LookupHealth) -> Streak:
    return Streak(failing_since=health.failing_since, failed_in_row=health.failed_in_row,
                  scheduled_failed_in_row=health.scheduled_failed_in_row)


def runs_outcome_record(run_ids: list[int], *, now: datetime | None = None) -> list[int]:
    """Count the ended runs `run_ids` (each once, in order) into their companies' streaks, and start or end the
    quarantine of a company's schedule: after AAD_QUARANTINE_AFTER failed scheduled look-ups in a row it runs at
    most once a day; any successful look-up ends that. Runs that never ran because Usage became Not Use do not
    count. Returns the ids counted."""
    now = now or timezone.now()
    not_use = SyncError("not_use").sentence
    runs = SyncRun.objects.filter(pk__in=run_ids, status__in=ENDED).order_by("company_id", "id").values_list(
        "id", "company_id", "status", "trigger", "finished_at", "error")
    counted = []
    for company_id, group in groupby(runs, key=lambda run: run[1]):
        with transaction.atomic():
            # AadSettings before LookupHealth, the order aad_settings_update takes them in: no deadlock.
            row = AadSettings.objects.select_for_update().filter(company_id=company_id).first()
            health = _health_locked(company_id)
            streak = _streak(health)
            for run_id, _, status, trigger, finished_at, error in group:
                if run_id <= health.last_run_id:
                    continue  # counted already (the hook ran twice)
                health.last_run_id = run_id
                if status == SyncRun.Status.FAILED and error == not_use:
                    continue
                failed = status == SyncRun.Status.FAILED
                streak = streak_after(streak, failed=failed, scheduled=trigger == SyncRun.Trigger.SCHEDULE,
                                      at=finished_at or now)
                health.last_error = error if failed else ""
                counted.append(run_id)
            health.failing_since, health.failed_in_row = streak.failing_since, streak.failed_in_row
            health.scheduled_failed_in_row = streak.scheduled_failed_in_row
            health.save()
            if row is not None:
                _quarantine_follow(row, quarantined(streak, after=settings.AAD_QUARANTINE_AFTER), now=now)
    return counted


def _quarantine_follow(row: AadSettings, quarantine: bool, *, now: datetime) -> None:
    """Start or end the schedule's quarantine (`row` is locked), moving the next run time with it."""
    if quarantine == (row.quarantined_since is not None):
        return
    tz = row.company.tzinfo
    if quarantine:
        row.quarantined_since = now
        backed_off = aad_next_run_at(settings_row=row, tz=tz, after=now, quarantined=True)
        if row.next_run_at is not None and backed_off is not None:
            row.next_run_at = max(row.next_run_at, backed_off)
        logger.warning("Look-ups of %s quarantined: at most once a day until one succeeds.", row.company.slug)
    else:
        row.quarantined_since = None
        row.next_run_at = aad_next_run_at(settings_row=row, tz=tz, after=now) if row.next_run_at else None
        logger.info("Quarantine of %s's look-ups ended.", row.company.slug)
    row.save(update_fields=["quarantined_since", "next_run_at"])


def alert_recipient_ids(company_id: int) -> tuple[int, ...]:
    """The company's active managers with an e-mail address who did not turn the alerts off."""
    return tuple(Person.objects.filter(company_id=company_id, role=Person.Role.MANAGER, is_active=True,
                                       aad_alert_emails=True).exclude(email="").order_by("id")
                 .values_list("id", flat=True))


def alerts_decide(run_ids: list[int], *, now: datetime | None = None) -> list[Mail]:
    """The e-mails due after these runs ended, each marked sent: FAILING once a streak, REMINDER at most daily,
    RECOVERED once after a success that ended a streak with a FAILING e-mail. Looks at each company's latest
    run among them, against its streak as it is now (a later success may have ended it already)."""
    now = now or timezone.now()
    latest: dict[int, SyncRun] = {}
    for run in SyncRun.objects.filter(pk__in=run_ids, status__in=ENDED).order_by("id"):
        latest[run.company_id] = run
    mails = []
    for company_id, run in latest.items():
        with transaction.atomic():
            health = LookupHealth.objects.select_for_update().filter(company_id=company_id).first()
            if health is None:
                continue
            mail = _mail_due(health, run, now=now)
            if mail is not None:
                health.save(update_fields=["failure_mail_at", "reminder_mail_at"])
                mails.append(mail)
    return mails


def _mail_due(health: LookupHealth, run: SyncRun, *, now: datetime) -> Mail | None:
    if run.status == SyncRun.Status.FAILED and health.is_failing and run.pk <= health.last_run_id:
        kind = failing_mail_due(failure_mail_at=health.failure_mail_at, reminder_mail_at=health.reminder_mail_at,
                                now=now)
        if kind is None:
            return None
        if kind == FAILING:
            health.failure_mail_at = now
        else:
            health.reminder_mail_at = now
        assert health.failing_since is not None
        return Mail(kind=kind, company_id=run.company_id, run_id=run.pk,
                    recipient_ids=alert_recipient_ids(run.company_id),
                    details={"failing_since": health.failing_since.isoformat(), "failed": health.failed_in_row})
    if run.status == SyncRun.Status.SUCCEEDED and recovered_mail_due(failing=health.is_failing,
                                                                     failure_mail_at=health.failure_mail_at):
        assert health.failure_mail_at is not None
        details = {"failure_mail_at": health.failure_mail_at.isoformat()}
        health.failure_mail_at = health.reminder_mail_at = None
        return Mail(kind=RECOVERED, company_id=run.company_id, run_id=run.pk,
                    recipient_ids=alert_recipient_ids(run.company_id), details=details)
    return None


def alerts_undo(mail: Mail) -> None:
    """Forget that `mail` was sent (it could not even be queued): the next chance picks it again."""
    marks = {FAILING: {"failure_mail_at": None}, REMINDER: {"reminder_mail_at": None}}.get(mail.kind)
    if mail.kind == EXPIRY:
        LookupHealth.objects.filter(company_id=mail.company_id).update(expiry_warned_days=None)
    elif marks:
        LookupHealth.objects.filter(company_id=mail.company_id).update(**marks)


def expiry_warnings_decide(*, now: datetime | None = None) -> list[Mail]:
    """The 30- and 7-day warnings due now for companies that use look-ups, each once per secret (marked)."""
    now = now or timezone.now()
    mails = []
    soon = AadSettings.objects.filter(use_lookup=True, secret_expires_at__gt=now,
                                      secret_expires_at__lte=now + timedelta(days=SOON_DAYS + 1))
    for row in soon.select_related("company").order_by("id"):
        with transaction.atomic():
            health = _health_locked(row.company_id)
            expires_at = AadSettings.objects.filter(pk=row.pk).values_list("secret_expires_at", flat=True).first()
            if expires_at is None:
                continue
            days = warning_due(expires_at, now=now, tz=row.company.tzinfo, warned_for=health.expiry_warned_for,
                               warned_days=health.expiry_warned_days)
            if days is None:
                continue
            health.expiry_warned_for, health.expiry_warned_days = expires_at, days
            health.save(update_fields=["expiry_warned_for", "expiry_warned_days"])
            mails.append(Mail(kind=EXPIRY, company_id=row.company_id, recipient_ids=alert_recipient_ids(row.company_id),
                              details={"days": days}))
    return mails
