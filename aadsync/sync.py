"""The sync engine: a tenant's users from Graph into the Company Directory, page by page, in one transaction.

Per page of up to 999 users, a constant number of queries: one SELECT of the page's existing rows (by object
ID), bulk INSERT of new rows, bulk UPDATE of changed rows only, one SELECT of the people linked to the page's
rows and a bulk UPDATE of those whose name or e-mail differ from AAD. A re-run with nothing changed writes
nothing. The next page is fetched (in a thread) while the current one is applied (on this thread).

Removed users: a user a COMPLETE listing no longer returns is marked "removed from AAD" (never deleted). The
IDs seen are spilled to disk in sorted runs (aadsync/seen.py) and merged with the synced rows at the end, so
memory stays bounded by a page. More than AAD_REMOVAL_HOLD_PERCENT (20 %) of the synced rows at once is held
back and said in the run's notice. Everything happens in one transaction: a failure removes nothing and
leaves the directory as it was.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass, fields

from django.conf import settings
from django.db import connection, transaction
from django.db.models.functions import Collate
from django.utils import timezone

from aadsync import crypto
from aadsync.errors import NOTHING_CHANGED, SyncError
from aadsync.graph import Credentials, GraphClient, Prefetcher, TokenSource
from aadsync.models import AadSettings, SyncRun
from aadsync.runs import (
    sync_run_claim,
    sync_run_create,
    sync_run_mark_failed,
    sync_run_mark_succeeded,
    sync_run_progress_clear,
    sync_run_progress_set,
)
from aadsync.seen import SeenIds, SpilledInts
from aadsync.services import aad_secret_plain
from directory.models import Company, Contact, Person

logger = logging.getLogger(__name__)

GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\Z")
# The Contact fields the sync owns, compared to decide "changed"; last_synced_at is written with them.
SYNCED_FIELDS = ("user_principal_name", "first_name", "last_name", "email", "office_phone", "mobile_phone",
                 "is_guest", "aad_state", "removed_reason", "synced")
MAX_LENGTHS = {name: Contact._meta.get_field(name).max_length for name in
               ("user_principal_name", "first_name", "last_name", "email", "office_phone", "mobile_phone")}
MANAGER_NAME_MAX = Person._meta.get_field("display_name").max_length  # 24
REMOVAL_CHUNK = 1000
REMOVED_MISSING = "missing"  # removed_reason: absent from a complete listing


# Field rules (pure) ------------------------------------------------------------------------------------------

def _text(value, max_length: int) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        value = str(value)
    # PostgreSQL text cannot hold NUL; Graph should never send one, but a row must never fail on it.
    return value.replace("\x00", "")[:max_length]


def normalise_object_id(value) -> str | None:
    """The canonical (lower-case) GUID, or None for anything that is not one."""
    if not isinstance(value, str):
        return None
    value = value.strip().lower()
    return value if GUID.match(value) else None


def contact_values_from_graph(user: dict) -> dict:
    """design.md's field map: UPN, names, e-mail, businessPhones[0], mobilePhone (null -> empty), plus the
    guest flag (userType Guest or #EXT# in the UPN) and the AAD state (accountEnabled false -> disabled)."""
    upn = _text(user.get("userPrincipalName"), MAX_LENGTHS["user_principal_name"])
    phones = user.get("businessPhones")
    office = phones[0] if isinstance(phones, list) and phones else (phones if isinstance(phones, str) else None)
    user_type = user.get("userType")
    return {
        "user_principal_name": upn,
        "first_name": _text(user.get("givenName"), MAX_LENGTHS["first_name"]),
        "last_name": _text(user.get("surname"), MAX_LENGTHS["last_name"]),
        "email": _text(user.get("mail"), MAX_LENGTHS["email"]),
        "office_phone": _text(office, MAX_LENGTHS["office_phone"]),
        "mobile_phone": _text(user.get("mobilePhone"), MAX_LENGTHS["mobile_phone"]),
        "is_guest": (isinstance(user_type, str) and user_type.lower() == "guest") or "#ext#" in upn.lower(),
        "aad_state": Contact.AadState.DISABLED if user.get("accountEnabled") is False else Contact.AadState.ACTIVE,
        "removed_reason": "",
        "synced": True,
    }


def person_values_from_contact(person_role: str, values: dict) -> dict:
    """What a linked person takes from their AAD account: first/last name and e-mail, and for a manager the
    display name (max 24). An empty AAD value keeps the person's own (a person must keep a name and e-mail)."""
    wanted = {}
    for field, source in (("first_name", "first_name"), ("last_name", "last_name"), ("email", "email")):
        if values[source]:
            wanted[field] = values[source]
    if person_role == Person.Role.MANAGER:
        name = f"{values['first_name']} {values['last_name']}".strip()[:MANAGER_NAME_MAX].strip()
        if name:
            wanted["display_name"] = name
    return wanted


# Counting ---------------------------------------------------------------------------------------------------

@dataclass
class Counts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    disabled: int = 0
    removed: int = 0
    skipped: int = 0
    pages_read: int = 0
    users_applied: int = 0
    removals_held: int = 0

    def add(self, other: Counts) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))

    def as_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}


# Writes -----------------------------------------------------------------------------------------------------

def contact_upsert_page(*, company: Company, users: list[dict], include_guests: bool, now,
                        seen: SeenIds | None = None) -> Counts:
    """Apply one Graph page to the directory in bulk; a constant number of queries whatever the tenant size."""
    counts = Counts()
    incoming: dict[str, dict] = {}
    seen_ids = []
    for user in users:
        object_id = normalise_object_id(user.get("id") if isinstance(user, dict) else None)
        if object_id is None:
            counts.skipped += 1
            continue
        values = contact_values_from_graph(user)
        seen_ids.append(object_id)  # skipped guests are still in AAD: never mark them removed
        if values["is_guest"] and not include_guests:
            counts.skipped += 1
            continue
        incoming[object_id] = values
    if seen is not None:
        seen.add(seen_ids)

    updates, linked_values = [], {}
    existing = Contact.objects.filter(company=company, object_id__in=list(incoming)).values_list(
        "pk", "object_id", *SYNCED_FIELDS
    )
    for pk, object_id, *current in existing:
        values = incoming.pop(object_id)
        linked_values[pk] = values
        if tuple(current) == tuple(values[name] for name in SYNCED_FIELDS):
            counts.unchanged += 1
        else:
            updates.append(Contact(pk=pk, last_synced_at=now, **values))
            counts.updated += 1
        counts.disabled += values["aad_state"] == Contact.AadState.DISABLED
    creates = [
        Contact(company=company, object_id=object_id, last_synced_at=now, created_at=now, **values)
        for object_id, values in incoming.items()
    ]
    counts.created = len(creates)
    counts.disabled += sum(values["aad_state"] == Contact.AadState.DISABLED for values in incoming.values())
    if creates:
        Contact.objects.bulk_create(creates)
    if updates:
        Contact.objects.bulk_update(updates, [*SYNCED_FIELDS, "last_synced_at"])
    if linked_values:
        person_follow_contacts(contact_values=linked_values)
    counts.users_applied = counts.created + counts.updated + counts.unchanged
    return counts


def person_follow_contacts(*, contact_values: dict[int, dict]) -> int:
    """Linked managers and users take first name, last name and e-mail from their AAD account."""
    changed = []
    people = Person.objects.filter(aad_contact_id__in=list(contact_values)).values_list(
        "pk", "aad_contact_id", "role", "first_name", "last_name", "email", "display_name"
    )
    for pk, contact_id, role, first_name, last_name, email, display_name in people:
        current = {"first_name": first_name, "last_name": last_name, "email": email, "display_name": display_name}
        wanted = person_values_from_contact(role, contact_values[contact_id])
        if any(current[name] != value for name, value in wanted.items()):
            changed.append(Person(pk=pk, **{**current, **wanted}))
    if changed:
        Person.objects.bulk_update(changed, ["first_name", "last_name", "email", "display_name"])
    return len(changed)


def _synced_rows(company: Company):
    return Contact.objects.filter(
        company=company, synced=True, aad_state__in=[Contact.AadState.ACTIVE, Contact.AadState.DISABLED]
    )


def contact_mark_missing_removed(*, company: Company, seen: SeenIds, synced_before: int, now,
                                 allow_removals: bool = False) -> tuple[int, int, str]:
    """Mark synced rows a complete listing did not return as removed from AAD, unless that is more than the
    hold threshold. Returns (removed, held, notice)."""
    order = Collate("object_id", "C") if connection.vendor == "postgresql" else "object_id"  # bytewise order
    rows = _synced_rows(company).order_by(order).values_list("pk", "object_id").iterator(chunk_size=2000)
    with SpilledInts() as missing:
        for pk in seen.missing(rows):
            missing.append(pk)
        if not missing.count:
            return 0, 0, ""
        percent = getattr(settings, "AAD_REMOVAL_HOLD_PERCENT", 20)
        if not allow_removals and missing.count * 100 > synced_before * percent:
            share = 100 * missing.count / synced_before
            notice = (
                f"{missing.count} of the {synced_before} synced directory entries ({share:.0f} %) are no longer "
                f"in Microsoft's listing. That is more than the {percent} % safety limit, so none of them was "
                f"marked removed from AAD. If these accounts really were deleted, an operator can apply the "
                f"removals with: manage.py aadsync --company {company.slug} --allow-removals"
            )
            return 0, missing.count, notice
        for chunk in missing.chunks(REMOVAL_CHUNK):
            Contact.objects.filter(pk__in=chunk).update(
                aad_state=Contact.AadState.REMOVED, removed_reason=REMOVED_MISSING, last_synced_at=now
            )
        return missing.count, 0, ""


# Runs -------------------------------------------------------------------------------------------------------

def _credentials(company: Company) -> tuple[Credentials, AadSettings]:
    row = AadSettings.objects.filter(company=company).first()
    if row is None or not (row.tenant_id and row.client_id and row.secret_encrypted):
        raise SyncError("not_configured")
    try:
        secret = aad_secret_plain(settings_row=row)
    except crypto.SecretUnreadable:
        raise SyncError("secret_unreadable") from None
    return Credentials(tenant_id=row.tenant_id, client_id=row.client_id, secret=secret), row


def _sync(run: SyncRun, *, allow_removals: bool, client: GraphClient | None) -> tuple[Counts, str]:
    company = run.company
    credentials, settings_row = _credentials(company)
    client = client or GraphClient(TokenSource(credentials))
    try:
        client.tokens.access_token()  # a wrong secret or tenant fails here, before any page or transaction
        counts = Counts()
        now = timezone.now()
        with SeenIds() as seen, Prefetcher(client.user_pages()) as pages, transaction.atomic():
            synced_before = _synced_rows(company).count()
            for page in pages:
                counts.add(contact_upsert_page(company=company, users=page.users,
                                               include_guests=settings_row.include_guests, now=now, seen=seen))
                counts.pages_read = page.number
                sync_run_progress_set(run=run, pages_read=counts.pages_read, users_applied=counts.users_applied)
            counts.removed, counts.removals_held, notice = contact_mark_missing_removed(
                company=company, seen=seen, synced_before=synced_before, now=now, allow_removals=allow_removals)
        return counts, notice
    finally:
        client.close()


def sync_run_execute(*, run: SyncRun, allow_removals: bool = False, client: GraphClient | None = None) -> SyncRun:
    """Execute a queued run: mark it running, sync, and end it succeeded (counts) or failed (a sentence).

    Microsoft, network and data errors become a failed run and are not raised. An unexpected error marks the
    run failed with a generic sentence and is re-raised. A run that is not queued (already executed, e.g. a
    redelivered task) is returned as it is. `client` replaces the Graph client built from the settings.
    """
    if not sync_run_claim(run=run):
        run.refresh_from_db()
        return run
    slug = run.company.slug
    try:
        counts, notice = _sync(run, allow_removals=allow_removals, client=client)
    except SyncError as error:
        logger.warning("Look-up %s of %s failed: %s", run.pk, slug, error.code)
        return sync_run_mark_failed(run=run, error=f"{error.sentence} {NOTHING_CHANGED}")
    except Exception:
        logger.exception("Look-up %s of %s stopped on an internal error", run.pk, slug)
        sync_run_mark_failed(run=run, error=f"{SyncError('internal', run=run.pk).sentence} {NOTHING_CHANGED}")
        raise
    finally:
        sync_run_progress_clear(run=run)
    logger.info("Look-up %s of %s: %s", run.pk, slug, counts.as_dict())
    return sync_run_mark_succeeded(run=run, counts=counts.as_dict(), notice=notice)


def sync_company_now(*, company: Company, trigger: str, requested_by: Person | None = None,
                     allow_removals: bool = False, client: GraphClient | None = None) -> SyncRun:
    """Create a run and execute it here (raises SyncAlreadyRunning when one is queued or running)."""
    run = sync_run_create(company=company, trigger=trigger, requested_by=requested_by)
    return sync_run_execute(run=run, allow_removals=allow_removals, client=client)
