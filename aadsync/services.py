"""Writes for MS AAD settings (the only source of truth for when a company syncs)."""
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import timezone

from aadsync import crypto
from aadsync.models import AadSettings, AadSettingsChange, ExpirySource, LookupHealth
from aadsync.schedule import Schedule, next_run_after, quarantine_schedule
from directory.models import Company, Person

SECRET_LABEL = "Secret Code"  # noqa: S105 - a field label, not a password
EXPIRY_LABEL = "Secret expires on"


@dataclass(frozen=True)
class Actor:
    """Who made a change: a person from the web, or an operator's command."""

    person: Person | None
    source: str = "web"

    @property
    def label(self) -> str:
        if self.person is not None:
            return self.person.username
        return f"operator ({self.source})"


@dataclass(frozen=True)
class ExpiryValue:
    """The secret-expiry fields a save stores: a date read from Graph or typed (None: unknown), and the outcome
    of the latest attempt to read it (`problem`, `read_at`)."""

    expires_at: datetime | None
    source: str
    approximate: bool = False
    problem: str = ""
    read_at: datetime | None = None


def aad_settings_get(*, company: Company) -> AadSettings:
    settings_row, _ = AadSettings.objects.get_or_create(company=company)
    return settings_row


@transaction.atomic
def aad_settings_update(*, company: Company, data: dict, secret: str | None, actor: Actor,
                        expiry: ExpiryValue | None = None, note: str = "") -> list[str]:
    """Apply validated values; an empty `secret` keeps the stored one. Returns the changed field labels.

    `expiry` sets the secret's expiry fields (a typed date that differs counts as a change); without it a new
    secret forgets the old one's expiry. `note` goes into the change log (e.g. saved without checking). Any change
    ends a quarantine of the schedule. Checking the credentials with Microsoft is the caller's (aadsync.connection).
    """
    row = AadSettings.objects.select_for_update().get(pk=aad_settings_get(company=company).pk)
    changed = []
    for name in AadSettings.EDITABLE_FIELDS:
        if name in data and getattr(row, name) != data[name]:
            setattr(row, name, data[name])
            changed.append(AadSettings.field_label(name))
    if secret:
        # A new value always counts as a change; the old one cannot be compared without decrypting.
        row.secret_encrypted = crypto.encrypt(secret)
        changed.append(SECRET_LABEL)
        if expiry is None:
            expiry = ExpiryValue(expires_at=None, source="")
    if expiry is not None:
        if expiry.source == ExpirySource.TYPED and expiry.expires_at != row.secret_expires_at:
            changed.append(EXPIRY_LABEL)
        row.secret_expires_at, row.secret_expiry_source = expiry.expires_at, expiry.source
        row.secret_expiry_approximate = expiry.approximate
        row.secret_expiry_problem, row.secret_expiry_read_at = expiry.problem, expiry.read_at
    if not changed:
        return []
    if {AadSettings.field_label("tenant_id"), AadSettings.field_label("client_id")} & set(changed):
        # Another tenant or app: any stored incremental-sync position belongs to the old one.
        row.delta_link = ""
        row.delta_for = ""
    row.updated_at = timezone.now()
    # Saving recomputes when the schedule runs next; Not Use stops scheduled runs.
    row.next_run_at = aad_next_run_at(settings_row=row, tz=company.tzinfo, after=row.updated_at)
    # New settings deserve their regular schedule again: a quarantine (and its count) ends here.
    row.quarantined_since = None
    LookupHealth.objects.filter(company=company).update(scheduled_failed_in_row=0)
    row.save()
    AadSettingsChange.objects.create(
        company=company,
        changed_by=actor.person,
        changed_by_label=actor.label,
        fields=changed,
        source=actor.source,
        note=note,
    )
    return changed


SCHEDULE_FIELDS = ("period", "weekday", "month_day", "exec_hour", "exec_minute", "exec_second")  # AadSettings'


def schedule_from_fields(period: str, weekday: int, month_day: int, exec_hour: int, exec_minute: int,
                         exec_second: int) -> Schedule:
    """The Schedule that AadSettings' SCHEDULE_FIELDS describe, in that order (the dispatcher reads them as values,
    without building a model instance per company: that cost 0.4 s at 10,000 companies)."""
    return Schedule(period=period, hour=exec_hour, minute=exec_minute, second=exec_second, weekday=weekday,
                    month_day=month_day)


def aad_schedule(*, settings_row: AadSettings) -> Schedule:
    return schedule_from_fields(*(getattr(settings_row, name) for name in SCHEDULE_FIELDS))


def aad_next_run_at(*, settings_row: AadSettings, tz: ZoneInfo, after: datetime,
                    quarantined: bool = False) -> datetime | None:
    """The first scheduled look-up after `after`, or None when User Look-Up Usage is Not Use; `quarantined`: at
    most once a day (schedule.quarantine_schedule)."""
    if not settings_row.use_lookup:
        return None
    schedule = aad_schedule(settings_row=settings_row)
    return next_run_after(quarantine_schedule(schedule) if quarantined else schedule, after, tz)


def aad_secret_plain(*, settings_row: AadSettings) -> str:
    """The decrypted client secret, for the Microsoft client only. Never log or render it."""
    return crypto.decrypt(settings_row.secret_encrypted)
