"""Companies, sites, people who log in (managers and users) and Company Directory entries."""
import zoneinfo
from typing import ClassVar

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Collate, Lower
from django.utils import timezone as dj_timezone

slug_validator = RegexValidator(
    r"^[a-z0-9](?:[a-z0-9-]{0,48}[a-z0-9])?$",
    "Use 1-50 lower-case letters, digits and hyphens, not starting or ending with a hyphen.",
)
login_validator = RegexValidator(
    r"^[A-Za-z0-9._-]{1,40}$", "Use 1-40 letters, digits, dots, hyphens or underscores."
)


def validate_timezone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"“{value}” is not a known time zone; use an Area/City name such as Asia/Seoul.")


class PrefixSearchIndex(models.Index):
    """A b-tree on (company, lower(column)) for case-insensitive "starts with" search and ordered walks.

    The selectors compare lower(column) with a range (`>= 'ab' AND < 'ac'`), which is exactly "starts with"
    only under a byte-wise order. SQLite compares byte-wise (BINARY) already. On PostgreSQL the index column
    gets COLLATE "C" (and the selectors put the same collation on their expression): the default collation
    (e.g. en_US) orders by language rules, where the range would not be a prefix and no b-tree could serve it.
    """

    def create_sql(self, model, schema_editor, using="", **kwargs):
        index: models.Index = self
        if schema_editor.connection.vendor == "postgresql":
            index = self.clone()
            index.expressions = tuple(
                Collate(expression, "C") if isinstance(expression, Lower) else expression
                for expression in self.expressions
            )
        return models.Index.create_sql(index, model, schema_editor, using=using, **kwargs)


# Columns the Company Directory search and the AAID ID dropdown match by prefix.
CONTACT_SEARCH_FIELDS = (
    "first_name", "last_name", "email", "user_principal_name", "office_phone", "mobile_phone",
)


class Company(models.Model):
    slug = models.CharField(max_length=50, unique=True, validators=[slug_validator])
    name = models.CharField(max_length=100)
    timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone])
    created_at = models.DateTimeField(default=dj_timezone.now)

    class Meta:
        verbose_name_plural = "companies"
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.name

    @property
    def tzinfo(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)


class Site(models.Model):
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="sites")
    name = models.CharField(max_length=60)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["company", "name"], name="site_name_unique_per_company")]

    def __str__(self) -> str:
        return self.name


class Contact(models.Model):
    """A Company Directory entry; synced entries carry an AAD object ID and follow AAD."""

    class AadState(models.TextChoices):
        ACTIVE = "active", "Active"
        DISABLED = "disabled", "Disabled in AAD"
        REMOVED = "removed", "Removed from AAD"
        OUT_OF_SCOPE = "out_scope", "Out of the look-up's scope"

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="contacts")
    first_name = models.CharField(max_length=64, blank=True)
    last_name = models.CharField(max_length=64, blank=True)
    email = models.CharField(max_length=256, blank=True)
    office_phone = models.CharField(max_length=64, blank=True)
    mobile_phone = models.CharField(max_length=64, blank=True)
    user_principal_name = models.CharField(max_length=113, blank=True)
    object_id = models.CharField(max_length=36, null=True, blank=True)
    synced = models.BooleanField(default=False)
    is_guest = models.BooleanField(default=False)
    aad_state = models.CharField(max_length=10, choices=AadState.choices, blank=True, default="")
    removed_reason = models.CharField(max_length=10, blank=True, default="")
    last_synced_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=dj_timezone.now)

    class Meta:
        ordering = ["last_name", "first_name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["company", "object_id"],
                condition=Q(object_id__isnull=False),
                name="contact_object_id_unique_per_company",
            ),
            models.CheckConstraint(
                condition=Q(synced=False) | Q(object_id__isnull=False),
                name="contact_synced_has_object_id",
            ),
        ]
        indexes = [
            models.Index(fields=["company", "last_name", "first_name"], name="contact_company_name_idx"),
            models.Index(fields=["company", "first_name", "last_name"], name="contact_company_first_idx"),
            models.Index(fields=["company", "synced", "aad_state"], name="contact_company_sync_idx"),
            models.Index(fields=["company", "user_principal_name"], name="contact_company_upn_idx"),
            models.Index(fields=["company", "email"], name="contact_company_email_idx"),
            PrefixSearchIndex(F("company"), Lower("first_name"), name="contact_first_prefix_idx"),
            PrefixSearchIndex(F("company"), Lower("last_name"), name="contact_last_prefix_idx"),
            PrefixSearchIndex(F("company"), Lower("email"), name="contact_email_prefix_idx"),
            PrefixSearchIndex(F("company"), Lower("user_principal_name"), name="contact_upn_prefix_idx"),
            PrefixSearchIndex(F("company"), Lower("office_phone"), name="contact_office_prefix_idx"),
            PrefixSearchIndex(F("company"), Lower("mobile_phone"), name="contact_mobile_prefix_idx"),
        ]

    def __str__(self) -> str:
        name = f"{self.first_name} {self.last_name}".strip()
        return name or self.user_principal_name or self.email or f"entry {self.pk}"

    @property
    def sync_label(self) -> str:
        if not self.synced:
            return "No"
        if self.aad_state == self.AadState.DISABLED:
            return "Yes (disabled in AAD)"
        if self.aad_state == self.AadState.REMOVED:
            return "Yes (removed from AAD)"
        if self.aad_state == self.AadState.OUT_OF_SCOPE:
            return "Yes (out of the look-up's scope)"
        return "Yes"


class PersonManager(BaseUserManager["Person"]):
    use_in_migrations = True

    def get_by_natural_key(self, username):
        return self.get(username=username)

    def create_superuser(self, username, password=None, **extra):
        """Operators' admin account; needs a company to belong to (first one, or created)."""
        company = extra.pop("company", None) or Company.objects.get_or_create(
            slug="operators", defaults={"name": "Operators"}
        )[0]
        login = username.split("@", 1)[0]
        person = self.model(
            company=company,
            login=login,
            username=f"{login}@{company.slug}",
            role=Person.Role.MANAGER,
            is_staff=True,
            is_superuser=True,
            **extra,
        )
        person.set_password(password)
        person.save(using=self._db)
        return person


class Person(AbstractBaseUser, PermissionsMixin):
    """Anyone who logs in: a manager (CM portal) or a user (Customer User portal).

    One model for both so that "each MS AAD account is linked once" is a single unique column.
    The sign-in ID is `login@company-slug` (e.g. rich@cm1-vertical).
    """

    class Role(models.TextChoices):
        MANAGER = "manager", "Manager"
        USER = "user", "User"

    class GroupMemberType(models.TextChoices):
        SINGLE = "single", "Single site group members"
        MULTI = "multi", "Multi site group members"

    class Package(models.TextChoices):
        BASIC = "basic", "Basic"
        STANDARD = "standard", "Standard"
        PREMIUM = "premium", "Premium"

    class UserType(models.TextChoices):
        NORMAL = "normal", "Normal user"
        OPERATOR = "operator", "Operator"
        RECEPTIONIST = "receptionist", "Receptionist"

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="people")
    role = models.CharField(max_length=10, choices=Role.choices)
    login = models.CharField(max_length=40, validators=[login_validator])
    username = models.CharField(max_length=91, unique=True, editable=False)
    display_name = models.CharField("name", max_length=24, blank=True)
    first_name = models.CharField(max_length=64, blank=True)
    last_name = models.CharField(max_length=64, blank=True)
    email = models.CharField(max_length=256, blank=True)
    extension = models.CharField(max_length=10, null=True, blank=True)
    site = models.ForeignKey(Site, null=True, blank=True, on_delete=models.PROTECT, related_name="people")
    group_member_type = models.CharField(max_length=10, choices=GroupMemberType.choices, blank=True)
    package = models.CharField(max_length=20, choices=Package.choices, blank=True)
    user_type = models.CharField(max_length=20, choices=UserType.choices, blank=True)
    aad_contact = models.OneToOneField(
        Contact,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="linked_person",
        verbose_name="AAID ID",
    )
    # A manager's choice on My Information: e-mails when the company's MS AAD look-ups fail, recover, or the
    # secret nears its expiry.
    aad_alert_emails = models.BooleanField("E-mail me about MS AAD look-ups", default=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    date_joined = models.DateTimeField(default=dj_timezone.now)

    objects = PersonManager()

    USERNAME_FIELD = "username"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    class Meta:
        verbose_name = "person"
        verbose_name_plural = "people"
        ordering = ["company", "role", "login"]
        constraints = [
            models.UniqueConstraint(fields=["company", "login"], name="person_login_unique_per_company"),
            models.UniqueConstraint(
                fields=["company", "extension"],
                condition=Q(extension__isnull=False),
                name="person_extension_unique_per_company",
            ),
            models.CheckConstraint(condition=Q(role__in=["manager", "user"]), name="person_role_valid"),
        ]

    def __str__(self) -> str:
        return self.username

    def save(self, *args, **kwargs):
        # The sign-in ID is derived, never typed twice.
        self.username = f"{self.login}@{self.company.slug}"
        super().save(*args, **kwargs)

    @property
    def is_manager(self) -> bool:
        return self.role == self.Role.MANAGER

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip() or self.display_name or self.login


class SigninThrottle(models.Model):
    """Failed sign-ins (and checks under way) of one account or one client address in the current window.

    Kept in the database rather than the cache: a conditional UPDATE is atomic on SQLite and PostgreSQL alike,
    where the file cache's incr is a read followed by a write (directory/throttle.py).
    """

    key = models.CharField(max_length=64, unique=True)  # an HMAC of "account:<portal ID>" or "address:<ip>"
    count = models.PositiveIntegerField(default=0)
    window_started_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"{self.count} since {self.window_started_at:%Y-%m-%d %H:%M:%S}"
