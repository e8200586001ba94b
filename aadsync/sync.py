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
from contextlib import contextmanager
from dataclasses import dataclass, fields

from django.conf import settings
from django.db import DatabaseError, connection, transaction
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
GUEST, STATE = SYNCED_FIELDS.index("is_guest"), SYNCED_FIELDS.index("aad_state")
REMOVAL_CHUNK = 1000
REMOVED_MISSING = "missing"  # removed_reason: absent from a complete listing


# Field rules (pure) ------------------------------------------------------------------------------------------

def _text(value, max_length: int) -> str:
    if value.__class__ is str and len(value) <= max_length and "\x00" not in value:
        return value  # the common case, kept cheap: this runs seven times per user
    if value is None:
        return ""
    # PostgreSQL text cannot hold NUL; Graph should never send one, but a row must never fail on it.
    return str(value).replace("\x00", "")[:max_length]


def normalise_object_id(value) -> str | None:
    """The canonical (lower-case) GUID, or None for anything that is not one."""
    if value.__class__ is not str or len(value) != 36:
        value = value.strip() if isinstance(value, str) else None
        if value is None or len(value) != 36:
            return None
    value = value.lower()
    return value if GUID.match(value) else None


_UPN, _FIRST, _LAST, _MAIL, _OFFICE, _MOBILE = (MAX_LENGTHS[name] for name in (
    "user_principal_name", "first_name", "last_name", "email", "office_phone", "mobile_phone"))
ACTIVE, DISABLED = Contact.AadState.ACTIVE.value, Contact.AadState.DISABLED.value


def contact_row_from_graph(user: dict) -> tuple:
    """design.md's field map as a tuple in SYNCED_FIELDS order: UPN, names, e-mail, businessPhones[0],
    mobilePhone (null -> empty), the guest flag (userType Guest or #EXT# in the UPN), the AAD state
    (accountEnabled false -> disabled), no removal reason, synced."""
    get = user.get
    upn = _text(get("userPrincipalName"), _UPN)
    phones = get("businessPhones")
    office = phones[0] if phones.__class__ is list and phones else (phones if isinstance(phones, str) else None)
    user_type = get("userType")
    is_guest = (user_type.__class__ is str and user_type.lower() == "guest") or "#ext#" in upn.lower()
    return (upn, _text(get("givenName"), _FIRST), _text(get("surname"), _LAST), _text(get("mail"), _MAIL),
            _text(office, _OFFICE), _text(get("mobilePhone"), _MOBILE), is_guest,
            DISABLED if get("accountEnabled") is False else ACTIVE, "", True)


def contact_values_from_graph(user: dict) -> dict:
    """The field map as {Contact field: value}."""
    return dict(zip(SYNCED_FIELDS, contact_row_from_graph(user)))


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

CONTACT_TABLE = Contact._meta.db_table
INSERT_COLUMNS = ("company_id", "object_id", *SYNCED_FIELDS, "last_synced_at", "created_at")
UPDATE_COLUMNS = (*SYNCED_FIELDS, "last_synced_at")


def _column(name: str) -> str:
    return connection.ops.quote_name(Contact._meta.get_field(name).column)


def _db_datetime(value):
    """A datetime as this backend's driver takes it in raw parameters (SQLite: Django's text form)."""
    if connection.vendor == "sqlite":
        return connection.ops.adapt_datetimefield_value(value)
    return value


def _execute_visible(cursor, sql: str, run) -> None:
    """Run `run()` as statement `sql` through Django's execute wrappers and query log, as execute() would,
    so that COPY shows up in captured queries and query counters like any INSERT."""
    def executor(sql, params, many, context):
        return run()

    if hasattr(cursor, "debug_sql"):  # a CursorDebugWrapper: DEBUG, or queries being captured
        with cursor.debug_sql(sql):
            cursor._execute_with_wrappers(sql, None, False, executor)
    else:
        cursor._execute_with_wrappers(sql, None, False, executor)


def contact_insert_rows(rows: list[tuple]) -> None:
    """INSERT new Contact rows (INSERT_COLUMNS order) in one statement: COPY on PostgreSQL, a prepared
    executemany on SQLite. Django's bulk_create, batched at 71 rows on SQLite, costs four times as much."""
    columns = ", ".join(_column(name) for name in INSERT_COLUMNS)
    table = connection.ops.quote_name(CONTACT_TABLE)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            sql = f"COPY {table} ({columns}) FROM STDIN"

            def copy():
                with cursor.cursor.copy(sql) as copy_in:
                    for row in rows:
                        copy_in.write_row(row)

            _execute_visible(cursor, sql, copy)
        else:
            placeholders = ", ".join(["%s"] * len(INSERT_COLUMNS))
            cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({placeholders})", rows)


def contact_update_rows(rows: list[tuple]) -> None:
    """UPDATE changed Contact rows: each tuple holds UPDATE_COLUMNS values, then the pk (one executemany)."""
    assignments = ", ".join(f"{_column(name)} = %s" for name in UPDATE_COLUMNS)
    table = connection.ops.quote_name(CONTACT_TABLE)
    with connection.cursor() as cursor:
        cursor.executemany(f"UPDATE {table} SET {assignments} WHERE {_column('id')} = %s", rows)


def contact_existing_rows(company: Company, object_ids: list[str]) -> list[tuple]:
    """(pk, object_id, *SYNCED_FIELDS) of the company's rows with these object IDs: one SELECT. Plain SQL,
    because building a 999-value IN lookup through the ORM costs more than the query itself."""
    if not object_ids:
        return []
    table = connection.ops.quote_name(CONTACT_TABLE)
    columns = ", ".join(_column(name) for name in ("id", "object_id", *SYNCED_FIELDS))
    placeholders = ", ".join(["%s"] * len(object_ids))
    # "object_id IS NOT NULL" lets SQLite use the partial unique index (company, object_id).
    sql = (f"SELECT {columns} FROM {table} WHERE {_column('company')} = %s AND {_column('object_id')} IS NOT NULL "
           f"AND {_column('object_id')} IN ({placeholders})")
    with connection.cursor() as cursor:
        cursor.execute(sql, [company.pk, *object_ids])
        rows = cursor.fetchall()
    return rows  # SQLite returns booleans as 0/1, which compare equal to False/True


def contact_upsert_page(*, company: Company, users: list[dict], include_guests: bool, now,
                        seen: SeenIds | None = None, follow_people: bool = True) -> Counts:
    """Apply one Graph page to the directory in bulk: one SELECT of the page's existing rows, one INSERT of
    the new ones, one UPDATE of the changed ones, and for linked people one SELECT (and an UPDATE if needed),
    whatever the size of the page or of the tenant. `follow_people=False` skips the people query (the
    caller knows nobody in the company is linked)."""
    counts = Counts()
    incoming: dict[str, tuple] = {}
    seen_ids = []
    skipped = disabled = 0
    for user in users:
        object_id = normalise_object_id(user.get("id") if user.__class__ is dict else None)
        if object_id is None:
            skipped += 1
            continue
        row = contact_row_from_graph(user)
        seen_ids.append(object_id)  # skipped guests are still in AAD: never mark them removed
        if row[GUEST] and not include_guests:
            skipped += 1
            continue
        incoming[object_id] = row
        disabled += row[STATE] == DISABLED
    counts.skipped, counts.disabled = skipped, disabled
    if seen is not None:
        seen.add(seen_ids)

    stamp = _db_datetime(now)
    updates, linked_values = [], {}
    unchanged = 0
    for pk, object_id, *current in contact_existing_rows(company, list(incoming)):
        row = incoming.pop(object_id)
        if follow_people:
            linked_values[pk] = row
        if tuple(current) == row:
            unchanged += 1
        else:
            updates.append((*row, stamp, pk))
    creates = [(company.pk, object_id, *row, stamp, stamp) for object_id, row in incoming.items()]
    counts.created, counts.updated, counts.unchanged = len(creates), len(updates), unchanged
    if creates:
        contact_insert_rows(creates)
    if updates:
        contact_update_rows(updates)
    if linked_values:
        person_follow_contacts(contact_values={pk: dict(zip(SYNCED_FIELDS, row)) for pk, row in linked_values.items()})
    counts.users_applied = counts.created + counts.updated + counts.unchanged
    return counts


def person_follow_contacts(*, contact_values: dict[int, dict]) -> int:
    """Linked managers and users take first name, last name and e-mail from their AAD account."""
    changed = []
    people = Person.objects.filter(aad_contact_id__in=list(contact_values)).order_by().values_list(
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


class PlannerStats:
    """On PostgreSQL, ANALYZE the directory table as a large first sync grows it (after 2k, 4k, 8k ... new
    rows): with statistics from when the table was empty, the planner answers each page's lookup by scanning
    all of the company's rows instead of using the (company, object_id) index, which makes a load quadratic."""

    def __init__(self, first_at: int = 2000):
        self.next_at = first_at
        self.enabled = connection.vendor == "postgresql"

    def grew(self, created_so_far: int) -> None:
        if not self.enabled or created_so_far < self.next_at:
            return
        while self.next_at <= created_so_far:
            self.next_at *= 2
        try:
            with transaction.atomic(), connection.cursor() as cursor:  # a savepoint: a refusal aborts nothing
                # Only the columns the lookup filters on: cheaper than the whole table and its expression indexes.
                columns = ", ".join(_column(name) for name in ("company", "object_id"))
                cursor.execute(f"ANALYZE {connection.ops.quote_name(CONTACT_TABLE)} ({columns})")
        except DatabaseError:
            logger.warning("Could not ANALYZE %s; page lookups may be slow", CONTACT_TABLE, exc_info=True)
            self.enabled = False


@contextmanager
def sqlite_page_cache(kib: int = 16384):
    """A larger SQLite page cache for the run (16 MiB instead of 2 MiB): each new row lands at scattered places in a dozen
    indexes, and with the default cache a 100k-user load spends half its time re-reading index pages."""
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        before = cursor.fetchone()[0]
        cursor.execute(f"PRAGMA cache_size = {-int(kib)}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA cache_size = {int(before)}")


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
        with SeenIds() as seen, Prefetcher(client.user_pages()) as pages, sqlite_page_cache(), transaction.atomic():
            synced_before = _synced_rows(company).count()
            # With nobody linked (checked once), pages skip the query for linked people.
            follow_people = Person.objects.filter(company=company, aad_contact__isnull=False).exists()
            stats = PlannerStats()
            for page in pages:
                counts.add(contact_upsert_page(company=company, users=page.users, now=now, seen=seen,
                                               include_guests=settings_row.include_guests,
                                               follow_people=follow_people))
                stats.grew(counts.created)
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
