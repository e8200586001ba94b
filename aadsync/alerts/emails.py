"""Alert e-mails to a company's managers: composed from templates (text and HTML), sent with Django's mail."""
from __future__ import annotations

import logging
from datetime import datetime

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from aadsync.alerts.rules import EXPIRY, FAILING, RECOVERED, REMINDER
from aadsync.expiry import expiry_status
from aadsync.models import AadSettings, LookupHealth, SyncRun
from directory.models import Person

logger = logging.getLogger(__name__)

TEMPLATES = {FAILING: "failing", REMINDER: "failing", RECOVERED: "recovered", EXPIRY: "expiry"}


def portal_url(path: str) -> str:
    """An absolute URL of the portal for e-mails: PORTAL_BASE_URL, else the sign-in redirect base, else in
    production the first allowed host over https, else a local install's http://localhost:8000."""
    base = settings.PORTAL_BASE_URL or getattr(settings, "AAD_REDIRECT_BASE_URL", "")
    if not base:
        hosts = [host for host in settings.ALLOWED_HOSTS if host and not host.startswith(".") and host != "*"]
        production = getattr(settings, "PRODUCTION", not settings.DEBUG)
        base = f"https://{hosts[0]}" if hosts and production else "http://localhost:8000"
    return base.rstrip("/") + path


def subject_of(kind: str, *, company_name: str, days: int | None = None) -> str:
    if kind == FAILING:
        return f"MS AAD look-ups of {company_name} are failing"
    if kind == REMINDER:
        return f"Reminder: MS AAD look-ups of {company_name} are still failing"
    if kind == RECOVERED:
        return f"MS AAD look-ups of {company_name} work again"
    return f"The MS AAD secret of {company_name} expires in {days} days"


def alert_mail_compose(*, kind: str, person: Person, run: SyncRun | None, details: dict,
                       now: datetime | None = None) -> EmailMultiAlternatives:
    company = person.company
    row = AadSettings.objects.filter(company=company).first()
    health = LookupHealth.objects.filter(company=company).first()
    expiry = None
    if row is not None and row.secret_expires_at is not None:
        expiry = expiry_status(row.secret_expires_at, now=now or timezone.now(), tz=company.tzinfo,
                               approximate=row.secret_expiry_approximate)
    context = {
        "kind": kind,
        "reminder": kind == REMINDER,
        "person": person,
        "company": company,
        "tz": company.tzinfo,
        "run": run,
        "settings_row": row,
        "health": health,
        "expiry": expiry,
        "days": details.get("days"),
        "failing_since": _instant(details.get("failing_since")),
        "failure_mail_at": _instant(details.get("failure_mail_at")),
        "failed": details.get("failed"),
        "aad_url": portal_url(reverse("aad-settings")),
        "myinfo_url": portal_url(reverse("my-information")),
    }
    name = TEMPLATES[kind]
    message = EmailMultiAlternatives(
        subject=subject_of(kind, company_name=company.name, days=details.get("days")),
        body=render_to_string(f"aadsync/email/{name}.txt", context),
        to=[person.email],
    )
    message.attach_alternative(render_to_string(f"aadsync/email/{name}.html", context), "text/html")
    return message


def _instant(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def alert_mail_send(*, kind: str, company_id: int, person_id: int, run_id: int | None = None,
                    details: dict | None = None) -> bool:
    """Send one alert to one manager, as they are now (a manager who turned alerts off or left gets nothing).
    SMTP errors propagate: the task retries them. True when a message went out."""
    person = Person.objects.select_related("company").filter(
        pk=person_id, company_id=company_id, role=Person.Role.MANAGER).first()
    if person is None or not person.is_active or not person.aad_alert_emails or not person.email:
        logger.info("Alert %s for company %s not sent to person %s: no longer a recipient.", kind, company_id,
                    person_id)
        return False
    run = SyncRun.objects.filter(pk=run_id, company_id=company_id).first() if run_id else None
    alert_mail_compose(kind=kind, person=person, run=run, details=details or {}).send()
    logger.info("Alert %s for company %s sent to person %s.", kind, company_id, person_id)
    return True
