"""MS AAD credentials checked with Microsoft: before a save, by Test connection, and the secret's expiry they read.

`aad_settings_update` (services.py) stays free of network calls: the form, the page and `aadconfig` call
`aad_settings_verify` first and pass what it learnt (the expiry) to the update.
"""
from __future__ import annotations

import logging
from datetime import date, datetime

from django.utils import timezone

from aadsync import crypto
from aadsync.errors import SyncError
from aadsync.expiry import start_of_day
from aadsync.microsoft.applications import secret_expiry_try
from aadsync.microsoft.check import CheckResult, connection_check
from aadsync.microsoft.graph import GraphClient
from aadsync.microsoft.tokens import Credentials, TokenSource
from aadsync.models import AadSettings, ExpirySource
from aadsync.services import ExpiryValue, aad_secret_plain, aad_settings_get
from directory.models import Company

logger = logging.getLogger(__name__)

CONNECTED = "Connected: Microsoft issued a token and the app can read users."


def credentials_need_check(*, row: AadSettings, data: dict, secret: str) -> bool:
    """Whether a save must ask Microsoft first: Usage is Use and what Microsoft decides on changes (a secret is
    typed, the tenant or client ID differs, or Usage turns to Use). Period, time and guests are the portal's own
    business, so changing only them never waits on Microsoft; Test connection checks saved settings any time."""
    if not data.get("use_lookup"):
        return False
    return bool(secret) or not row.use_lookup or not row.has_secret or (
        data.get("tenant_id", row.tenant_id) != row.tenant_id or data.get("client_id", row.client_id) != row.client_id)


def aad_settings_verify(*, company: Company, data: dict, secret: str) -> CheckResult | None:
    """Ask Microsoft about the credentials a save would store (the typed secret, else the stored one); None when
    the save needs no check (see credentials_need_check). Changes nothing."""
    row = aad_settings_get(company=company)
    if not credentials_need_check(row=row, data=data, secret=secret):
        return None
    if not secret:
        try:
            secret = aad_secret_plain(settings_row=row)
        except crypto.SecretUnreadable:
            return CheckResult(error=SyncError("secret_unreadable"))
    return connection_check(Credentials(tenant_id=data.get("tenant_id", row.tenant_id),
                                        client_id=data.get("client_id", row.client_id), secret=secret))


def aad_connection_test(*, company: Company, now: datetime | None = None) -> CheckResult:
    """Test connection: check the SAVED credentials; the only thing stored is what Microsoft said about the
    secret's expiry."""
    row = aad_settings_get(company=company)
    if not row.is_complete:
        return CheckResult(error=SyncError("not_configured"))
    encrypted = row.secret_encrypted
    try:
        secret = aad_secret_plain(settings_row=row)
    except crypto.SecretUnreadable:
        return CheckResult(error=SyncError("secret_unreadable"))
    result = connection_check(Credentials(tenant_id=row.tenant_id, client_id=row.client_id, secret=secret))
    if result.ok:
        aad_secret_expiry_store(row=row, encrypted=encrypted, expiry_read=result, now=now or timezone.now())
    return result


def aad_secret_expiry_store(*, row: AadSettings, encrypted: str, expiry_read: CheckResult,
                            now: datetime) -> bool:
    """Store what Graph said about the expiry of the secret `encrypted` (as stored when it was read): a date
    read replaces a typed one; a read that found no date keeps the date there is and records why. Nothing is
    written when the secret or the app changed meanwhile (the reading was about another secret)."""
    values: dict = {"secret_expiry_read_at": now, "secret_expiry_problem": expiry_read.expiry_problem}
    if expiry_read.expiry is not None:
        values.update(secret_expires_at=expiry_read.expiry.expires_at, secret_expiry_source=ExpirySource.GRAPH,
                      secret_expiry_approximate=expiry_read.expiry.approximate, secret_expiry_problem="")
    return bool(AadSettings.objects.filter(pk=row.pk, secret_encrypted=encrypted, client_id=row.client_id,
                                           tenant_id=row.tenant_id).update(**values))


def aad_secret_expiry_refresh(*, company: Company, now: datetime | None = None) -> bool:
    """After a successful look-up: read the expiry again with the look-ups' own token (best effort: any failure
    is logged and only recorded as the reason no date was read). True when something was stored."""
    row = AadSettings.objects.filter(company=company).first()
    if row is None or not row.is_complete:
        return False
    encrypted = row.secret_encrypted
    try:
        secret = aad_secret_plain(settings_row=row)
    except crypto.SecretUnreadable:
        return False
    client = GraphClient(TokenSource(Credentials(tenant_id=row.tenant_id, client_id=row.client_id, secret=secret)))
    try:
        expiry, problem = secret_expiry_try(client, client_id=row.client_id)
    finally:
        client.close()
    return aad_secret_expiry_store(row=row, encrypted=encrypted, now=now or timezone.now(),
                                   expiry_read=CheckResult(expiry=expiry, expiry_problem=problem))


def expiry_after_save(*, row: AadSettings, typed: date | None, secret_new: bool, check: CheckResult | None,
                      now: datetime) -> ExpiryValue | None:
    """The expiry fields a save stores, or None to leave them as they are.

    A date Graph read during the check wins. Otherwise a date the manager typed (changed from the one shown)
    is stored as typed; clearing a typed date clears it. A new secret never inherits the old secret's date.
    """
    tz = row.company.tzinfo
    if check is not None and check.ok and check.expiry is not None:
        return ExpiryValue(expires_at=check.expiry.expires_at, source=ExpirySource.GRAPH,
                           approximate=check.expiry.approximate, read_at=now)
    problem, read_at = (check.expiry_problem, now) if check is not None and check.ok else (
        ("", None) if secret_new else (row.secret_expiry_problem, row.secret_expiry_read_at))
    shown = row.secret_expires_at.astimezone(tz).date() if row.secret_expires_at else None
    if typed is not None and typed != shown:
        return ExpiryValue(expires_at=start_of_day(typed, tz), source=ExpirySource.TYPED, problem=problem,
                           read_at=read_at)
    if secret_new or (typed is None and shown is not None and row.secret_expiry_source == ExpirySource.TYPED):
        return ExpiryValue(expires_at=None, source="", problem=problem, read_at=read_at)
    if check is not None and check.ok:  # same secret: keep its date, note the read
        return ExpiryValue(expires_at=row.secret_expires_at, source=row.secret_expiry_source,
                           approximate=row.secret_expiry_approximate, problem=problem, read_at=read_at)
    return None
