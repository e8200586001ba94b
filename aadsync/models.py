"""MS AAD settings per company, their change log, and sync history."""
from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from aadsync import schedule
from aadsync.validators import GUID_PATTERN, validate_guid
from directory.models import Company


class ExpirySource(models.TextChoices):
    GRAPH = "graph", "read from Microsoft"
    TYPED = "typed", "typed on this page"


MAX_SCOPE_GROUPS = 20


class AadSettings(models.Model):
    class Scope(models.TextChoices):
        ALL = "all", "All users"
        GROUPS = "groups", "Members of these groups"

    class Period(models.TextChoices):
        HOURLY = schedule.HOURLY, "Every hour"
        DAILY = schedule.DAILY, "Every day"
        WEEKLY = schedule.WEEKLY, "Every week"
        MONTHLY = schedule.MONTHLY, "Every month"

    class Weekday(models.IntegerChoices):
        MONDAY = 0, "Monday"
        TUESDAY = 1, "Tuesday"
        WEDNESDAY = 2, "Wednesday"
        THURSDAY = 3, "Thursday"
        FRIDAY = 4, "Friday"
        SATURDAY = 5, "Saturday"
        SUNDAY = 6, "Sunday"

    company = models.OneToOneField(Company, on_delete=models.CASCADE, related_name="aad_settings")
    use_lookup = models.BooleanField("User Look-Up Usage", default=False)
    tenant_id = models.CharField("Tenant ID", max_length=36, blank=True, validators=[validate_guid])
    client_id = models.CharField("Client ID", max_length=36, blank=True, validators=[validate_guid])
    secret_encrypted = models.TextField(blank=True, editable=False)
    period = models.CharField("User Look-Up Period", max_length=10, choices=Period.choices, default=Period.DAILY)
    weekday = models.PositiveSmallIntegerField("Weekday", choices=Weekday.choices, default=Weekday.MONDAY)
    month_day = models.PositiveSmallIntegerField(
        "Day of month", default=1, validators=[MinValueValidator(1), MaxValueValidator(31)]
    )
    exec_hour = models.PositiveSmallIntegerField("Execution hour", default=2, validators=[MaxValueValidator(23)])
    exec_minute = models.PositiveSmallIntegerField("Execution minute", default=0, validators=[MaxValueValidator(59)])
    exec_second = models.PositiveSmallIntegerField("Execution second", default=0, validators=[MaxValueValidator(59)])
    include_guests = models.BooleanField("Include guest accounts", default=False)
    scope = models.CharField("Look-up scope", max_length=10, choices=Scope.choices, default=Scope.ALL)
    # The chosen groups as [{"id": object ID, "name": display name}] (at most MAX_SCOPE_GROUPS); membership is
    # transitive (nested groups count).
    scope_groups = models.JSONField("Groups", default=list, blank=True)
    next_run_at = models.DateTimeField(null=True, blank=True, db_index=True)
    delta_link = models.TextField(blank=True, editable=False)
    delta_for = models.CharField(max_length=80, blank=True, editable=False)
    updated_at = models.DateTimeField(default=timezone.now)
    # When the secret in use expires: read from Microsoft Graph (the app may read its own registration), or typed
    # by a manager from the Azure portal; approximate when several of the app's secrets share its first characters.
    secret_expires_at = models.DateTimeField("Secret expires on", null=True, blank=True)
    secret_expiry_source = models.CharField(max_length=10, choices=ExpirySource.choices, blank=True)
    secret_expiry_approximate = models.BooleanField(default=False)
    secret_expiry_read_at = models.DateTimeField(null=True, blank=True, editable=False)  # last attempt to read it
    # Why the last read found no date ("forbidden": no Application.Read.All; "not_listed"; "failed"), else "".
    secret_expiry_problem = models.CharField(max_length=20, blank=True, editable=False)
    # Set after AAD_QUARANTINE_AFTER failed scheduled look-ups in a row: the schedule runs at most once a day
    # (aadsync.schedule.quarantine_schedule) until a look-up succeeds or the settings change.
    quarantined_since = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = "MS AAD settings"
        verbose_name_plural = "MS AAD settings"
        constraints = [
            models.CheckConstraint(condition=Q(exec_hour__lte=23), name="aad_exec_hour_range"),
            models.CheckConstraint(condition=Q(exec_minute__lte=59), name="aad_exec_minute_range"),
            models.CheckConstraint(condition=Q(exec_second__lte=59), name="aad_exec_second_range"),
            models.CheckConstraint(condition=Q(weekday__lte=6), name="aad_weekday_range"),
            models.CheckConstraint(condition=Q(month_day__gte=1, month_day__lte=31), name="aad_month_day_range"),
            models.CheckConstraint(
                condition=Q(use_lookup=False) | (~Q(tenant_id="") & ~Q(client_id="") & ~Q(secret_encrypted="")),
                name="aad_use_needs_credentials",
            ),
            # A lower-case GUID or nothing: what reaches msal's authority URL is never anything else.
            models.CheckConstraint(
                condition=Q(tenant_id="") | Q(tenant_id__regex=GUID_PATTERN), name="aad_tenant_id_guid"
            ),
            models.CheckConstraint(
                condition=Q(client_id="") | Q(client_id__regex=GUID_PATTERN), name="aad_client_id_guid"
            ),
        ]

    # The fields a manager edits on the MS AAD page (the secret apart): the form's initial data and the change
    # log's labels (each field's verbose name) come from this one list.
    EDITABLE_FIELDS = ("use_lookup", "tenant_id", "client_id", "period", "weekday", "month_day",
                       "exec_hour", "exec_minute", "exec_second", "include_guests", "scope", "scope_groups")

    def __str__(self) -> str:
        return f"MS AAD settings of {self.company}"

    @classmethod
    def field_label(cls, name: str) -> str:
        field = cls._meta.get_field(name)
        assert isinstance(field, models.Field)
        return str(field.verbose_name)

    @property
    def has_secret(self) -> bool:
        return bool(self.secret_encrypted)

    @property
    def is_complete(self) -> bool:
        """Tenant ID, Client ID and a secret are stored: enough to ask Microsoft for a token."""
        return bool(self.tenant_id and self.client_id and self.secret_encrypted)

    @property
    def scope_group_ids(self) -> list[str]:
        return [group["id"] for group in self.scope_groups] if self.scope == self.Scope.GROUPS else []

    @property
    def scope_display(self) -> str:
        if self.scope != self.Scope.GROUPS:
            return str(self.Scope.ALL.label)
        return "Members of " + ", ".join(group.get("name") or group["id"] for group in self.scope_groups)

    @property
    def execution_time_display(self) -> str:
        return f"{self.exec_hour:02d}:{self.exec_minute:02d}:{self.exec_second:02d}"

    @property
    def period_display(self) -> str:
        if self.period == self.Period.WEEKLY:
            return f"Every week on {self.get_weekday_display()}"
        if self.period == self.Period.MONTHLY:
            return f"Every month on day {self.month_day}"
        return self.get_period_display()


class AadSettingsChange(models.Model):
    """Audit trail: who changed which MS AAD fields, when (never the secret's value)."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="aad_settings_changes")
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    changed_by_label = models.CharField(max_length=100)
    changed_at = models.DateTimeField(default=timezone.now)
    fields = models.JSONField(default=list)
    source = models.CharField(max_length=20, default="web")
    note = models.CharField(max_length=300, blank=True)  # e.g. saved without Microsoft confirming the credentials

    class Meta:
        ordering = ["-changed_at", "-id"]

    def __str__(self) -> str:
        return f"{self.changed_by_label} changed {', '.join(self.fields)} at {self.changed_at:%Y-%m-%d %H:%M:%S}"


class SyncRun(models.Model):
    class Trigger(models.TextChoices):
        SCHEDULE = "schedule", "Schedule"
        ONE_TIME = "one-time", "One-time Sync"
        COMMAND = "command", "Command"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    class Mode(models.TextChoices):
        FULL = "full", "Full"
        INCREMENTAL = "incremental", "Incremental"

    ACTIVE_STATUSES = (Status.QUEUED, Status.RUNNING)

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="sync_runs")
    trigger = models.CharField(max_length=10, choices=Trigger.choices)
    mode = models.CharField(max_length=12, choices=Mode.choices, default=Mode.FULL)
    # A preview reads Microsoft as a look-up would and writes nothing to the directory: only this row and the
    # account lines of what it would do (the first PREVIEW_LINES).
    preview = models.BooleanField(default=False)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    queued_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    looked_up = models.PositiveIntegerField(default=0)  # accounts Microsoft returned; see aadsync.sync.counts
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    disabled = models.PositiveIntegerField(default=0)
    removed = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    pages_read = models.PositiveIntegerField(default=0)
    users_applied = models.PositiveIntegerField(default=0)
    removals_held = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    notice = models.TextField(blank=True)

    class Meta:
        ordering = ["-queued_at", "-id"]
        indexes = [models.Index(fields=["company", "-queued_at"], name="syncrun_company_recent_idx")]
        constraints = [
            # One queued-or-running run per company, enforced by the database across processes.
            models.UniqueConstraint(
                fields=["company"],
                condition=Q(status__in=["queued", "running"]),
                name="syncrun_one_active_per_company",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_trigger_display()} sync of {self.company} ({self.status})"

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE_STATUSES

    @property
    def counts_sentence(self) -> str:
        """What the run did, in the same words on the MS AAD page, in the history, the command's summary line and
        e-mails. Every account looked up is counted once; a full read also removes accounts it no longer lists."""
        def part(number: int, label: str) -> str:
            return f"{number:,} {label}"

        parts = [part(self.created, "created"), part(self.updated, "changed"), part(self.unchanged, "unchanged"),
                 part(self.disabled, "disabled")]
        full = self.mode == self.Mode.FULL
        if not full:
            parts.append(part(self.removed, "removed"))
        parts.append(part(self.skipped, "skipped (guests or out of scope)"))
        what = "account" if full else "change"
        sentence = f"Looked up {self.looked_up:,} {what}{'' if self.looked_up == 1 else 's'}: {', '.join(parts)}"
        if full:
            sentence += f"; {part(self.removed, 'removed or out of scope (no longer listed)')}"
        if self.removals_held:
            sentence += f"; {part(self.removals_held, 'removals held back')}"
        return sentence + "."

    @property
    def duration_seconds(self) -> float | None:
        if self.started_at and self.finished_at:
            return (self.finished_at - self.started_at).total_seconds()
        return None


class LookupHealth(models.Model):
    """A company's run of failed look-ups and the alert e-mails sent about it (one row per company).

    Written after each run's end has committed (aadsync.alerts.state); the e-mail marks are set by the task that
    decides a message, so a redelivered task or a second failure never sends it twice.
    """

    company = models.OneToOneField(Company, on_delete=models.CASCADE, related_name="lookup_health")
    last_run_id = models.BigIntegerField(default=0)  # the newest run counted: a run is counted once
    failing_since = models.DateTimeField(null=True, blank=True)  # end of the first failed run of this streak
    failed_in_row = models.PositiveIntegerField(default=0)
    scheduled_failed_in_row = models.PositiveIntegerField(default=0)  # what quarantine counts
    last_error = models.TextField(blank=True)
    failure_mail_at = models.DateTimeField(null=True, blank=True)  # "look-ups are failing" sent for this streak
    reminder_mail_at = models.DateTimeField(null=True, blank=True)  # the latest daily reminder
    expiry_warned_for = models.DateTimeField(null=True, blank=True)  # the expiry date the warnings below were for
    expiry_warned_days = models.PositiveSmallIntegerField(null=True, blank=True)  # 30 or 7: the last warning sent

    class Meta:
        verbose_name = "look-up health"
        verbose_name_plural = "look-up health"

    def __str__(self) -> str:
        return f"Look-up health of {self.company}"

    @property
    def is_failing(self) -> bool:
        return self.failing_since is not None


class AccountChange(models.Model):
    """What one run did to one directory account (a preview: would do): a line of the run's page in Sync History.

    Creations are one line each with no field detail (a first look-up of 100,000 accounts writes 100,000 short
    lines); other lines keep each changed field's old and new value. Kept AAD_CHANGE_LOG_DAYS days."""

    class Kind(models.TextChoices):
        CREATED = "created", "Created"
        CHANGED = "changed", "Changed"
        DISABLED = "disabled", "Disabled in AAD"
        ENABLED = "enabled", "Enabled again"
        OUT_OF_SCOPE = "out_scope", "Out of scope"
        REMOVED = "removed", "Removed from AAD"
        RESTORED = "restored", "Restored"

    run = models.ForeignKey(SyncRun, on_delete=models.CASCADE, related_name="account_changes", db_index=False)
    object_id = models.CharField(max_length=36)
    user_principal_name = models.CharField(max_length=113, blank=True)
    name = models.CharField(max_length=129, blank=True)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    fields = models.JSONField(null=True, blank=True)  # {"first_name": ["old", "new"], ...}; none for creations

    class Meta:
        ordering = ["run", "id"]
        indexes = [models.Index(fields=["run", "id"], name="accountchange_run_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.user_principal_name or self.object_id}"
