"""Celery entry points of the alerts: decide after runs ended, warn before a secret expires, send one e-mail, read
the secret's expiry after a successful look-up. Each takes ids, reloads rows and calls one service."""
from __future__ import annotations

import logging
import smtplib
from datetime import timedelta

from celery import shared_task
from django.utils import timezone

from aadsync.alerts.emails import alert_mail_send
from aadsync.alerts.state import Mail, alerts_decide, alerts_undo, expiry_warnings_decide
from aadsync.connection import aad_secret_expiry_refresh
from aadsync.models import AadSettings, SyncRun
from directory.models import Company

logger = logging.getLogger(__name__)

# The expiry is read again after a successful look-up at most this often (hourly look-ups need not ask hourly).
EXPIRY_READ_EVERY = timedelta(hours=6)


@shared_task(name="aadsync.alert_mail_send", autoretry_for=(smtplib.SMTPException, OSError), retry_backoff=5,
             retry_backoff_max=900, retry_jitter=True, max_retries=10)
def alert_mail_send_task(kind: str, company_id: int, person_id: int, run_id: int | None = None,
                         details: dict | None = None) -> bool:
    """One e-mail to one manager; an SMTP server that is down or refuses is tried again with backoff
    (5 s, 10 s, 20 s ... at most 15 minutes apart, ten times)."""
    return alert_mail_send(kind=kind, company_id=company_id, person_id=person_id, run_id=run_id, details=details)


def mails_publish(mails: list[Mail]) -> int:
    """Queue one send task per recipient of each mail; a mail that cannot be queued is unmarked. The count queued."""
    queued = 0
    for mail in mails:
        try:
            for person_id in mail.recipient_ids:
                alert_mail_send_task.apply_async((mail.kind, mail.company_id, person_id, mail.run_id, mail.details))
                queued += 1
        except Exception:
            logger.exception("Could not queue the %s e-mail of company %s; it is tried again later.", mail.kind,
                             mail.company_id)
            alerts_undo(mail)
    return queued


@shared_task(name="aadsync.alerts_after_runs")
def alerts_after_runs_task(run_ids: list[int]) -> int:
    """After look-ups ended (and were counted): queue the e-mails due, and after a success read the secret's
    expiry again (its own task: it never delays the e-mails)."""
    queued = mails_publish(alerts_decide(run_ids))
    succeeded = SyncRun.objects.filter(pk__in=run_ids, status=SyncRun.Status.SUCCEEDED)
    stale = timezone.now() - EXPIRY_READ_EVERY
    for company_id in set(succeeded.values_list("company_id", flat=True)):
        due = AadSettings.objects.filter(company_id=company_id, use_lookup=True).exclude(
            secret_expiry_read_at__gt=stale).exists()
        if due:
            secret_expiry_refresh_task.delay(company_id)
    return queued


@shared_task(name="aadsync.secret_expiry_refresh", soft_time_limit=60, time_limit=90)
def secret_expiry_refresh_task(company_id: int) -> bool:
    """Best effort: a failure is logged, never retried (the next successful look-up asks again)."""
    company = Company.objects.filter(pk=company_id).first()
    if company is None:
        return False
    try:
        return aad_secret_expiry_refresh(company=company)
    except Exception:
        logger.exception("Reading the secret's expiry of %s failed", company.slug)
        return False


@shared_task(name="aadsync.alerts_expiry_check")
def alerts_expiry_check_task() -> int:
    """Beat's check for secrets expiring in 30 or 7 days (hourly; each warning goes out once per secret)."""
    return mails_publish(expiry_warnings_decide())
