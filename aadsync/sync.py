"""The sync engine: a tenant's users from Graph into the Company Directory, page by page, in one transaction.

Modes: a FULL run reads the initial round of /users/delta (every user) and stores the deltaLink it ends with;
an INCREMENTAL run starts from the stored deltaLink and applies only what changed (missing properties under
Prefer: return=minimal keep their value; @removed users are marked removed with Microsoft's reason). The first
run, a run after the tenant, app or guest setting changed, a "full re-sync" (delta_link_drop) and a run whose
stored position Microsoft no longer accepts (400 syncStateNotFound, 410) are full.

Per page, a constant number of queries: one SELECT of the page's existing rows (by object ID), one INSERT of
the new rows (COPY on PostgreSQL), one UPDATE of the changed rows only. A re-run with nothing changed writes
nothing to the directory. The next page is fetched (in a thread) while the current one is applied (on this
thread). At the end, linked managers and users take their name and e-mail from their AAD account.

Removed users in a full run: a user the COMPLETE listing no longer returns is marked "removed from AAD" (never
deleted). The IDs seen are spilled to disk in sorted runs (aadsync/seen.py) and merged with the synced rows at
the end, so memory stays bounded by a page. More than AAD_REMOVAL_HOLD_PERCENT (20 %) of the synced rows at
once is held back and said in the run's notice. Everything happens in one transaction: a failure removes
nothing and leaves the directory as it was.
"""
from __future__ import annotations

import hashlib
import logging
import re
import threading
from contextlib import contextmanager
from dataclasses import dataclass, fields

from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError, connection, transaction
from django.db.models.functions import Collate
from django.utils import timezone

from aadsync import crypto
from aadsync.errors import NOTHING_CHANGED, SyncError
from aadsync.graph import USER_FIELDS, Credentials, GraphClient, Prefetcher, TokenSource
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
PROGRESS_EVERY = 0.25  # seconds between progress updates for other processes
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
                        seen: SeenIds | None = None) -> Counts:
    """Apply one page of a full listing to the directory in bulk: one SELECT of the page's existing rows,
    one INSERT of the new ones, one UPDATE of the changed ones, whatever the size of the page or tenant."""
    counts = Counts()
    incoming: dict[str, tuple] = {}
    seen_ids = []
    skipped = disabled = 0
    for user in users:
        object_id = normalise_object_id(user.get("id") if user.__class__ is dict else None)
        if object_id is None or "@removed" in user:  # removals are contact_apply_changes' business
            skipped += object_id is None
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
    updates = []
    unchanged = 0
    for pk, object_id, *current in contact_existing_rows(company, list(incoming)):
        row = incoming.pop(object_id)
        if tuple(current) == row:
            unchanged += 1
        else:
            updates.append((*row, stamp, pk))
    creates = [(company.pk, object_id, *row, stamp, stamp) for object_id, row in incoming.items()]
    counts.created, counts.updated, counts.unchanged = len(creates), len(updates), unchanged
    return _contact_write(creates, updates, counts)


# Which Graph property sets which synced field (is_guest, aad_state, removed_reason, synced are derived).
FIELD_SOURCES = [(SYNCED_FIELDS.index(field), key) for field, key in (
    ("user_principal_name", "userPrincipalName"), ("first_name", "givenName"), ("last_name", "surname"),
    ("email", "mail"), ("office_phone", "businessPhones"), ("mobile_phone", "mobilePhone"))]
UPN, REMOVED_REASON = SYNCED_FIELDS.index("user_principal_name"), SYNCED_FIELDS.index("removed_reason")
REMOVED = Contact.AadState.REMOVED.value
REMOVAL_REASONS = {"changed", "deleted"}


def contact_row_merge(current: tuple, user: dict) -> tuple:
    """A changed user from a delta round applied to the stored row: only the properties it carries count
    (under Prefer: return=minimal a missing property means unchanged, not null)."""
    full = contact_row_from_graph(user)
    merged = list(current)
    for index, key in FIELD_SOURCES:
        if key in user:
            merged[index] = full[index]
    if "userType" in user:
        merged[GUEST] = full[GUEST]
    else:
        merged[GUEST] = bool(current[GUEST]) or "#ext#" in merged[UPN].lower()
    if "accountEnabled" in user:
        merged[STATE] = full[STATE]
    elif current[STATE] == REMOVED:  # listed again: restored
        merged[STATE] = ACTIVE
    merged[REMOVED_REASON] = ""
    merged[SYNCED_FIELDS.index("synced")] = True
    return tuple(merged)


def contact_apply_changes(*, company: Company, users: list[dict], include_guests: bool, now) -> Counts:
    """Apply one page of a delta round: changed and new users upserted (missing properties keep their value),
    `@removed` users marked removed from AAD with Microsoft's reason ("changed": restorable, "deleted": gone
    for good). The same constant number of queries per page as contact_upsert_page."""
    counts = Counts()
    changed: dict[str, dict] = {}
    removed: dict[str, str] = {}
    for user in users:
        object_id = normalise_object_id(user.get("id") if user.__class__ is dict else None)
        if object_id is None:
            counts.skipped += 1
            continue
        if "@removed" in user:
            reason = (user.get("@removed") or {}).get("reason")
            removed[object_id] = reason if reason in REMOVAL_REASONS else "deleted"
            changed.pop(object_id, None)
        else:
            changed[object_id] = user
            removed.pop(object_id, None)

    stamp = _db_datetime(now)
    existing = {row[1]: (row[0], tuple(row[2:])) for row in contact_existing_rows(company, [*changed, *removed])}
    creates, updates = [], []
    for object_id, user in changed.items():
        if object_id in existing:
            pk, current = existing[object_id]
            row = contact_row_merge(current, user)
            if row[GUEST] and not include_guests:
                counts.skipped += 1
                continue
            if row == current:
                counts.unchanged += 1
            else:
                updates.append((*row, stamp, pk))
                counts.updated += 1
        else:
            row = contact_row_from_graph(user)
            # A new user comes with every property it has (userType always). Without userType this is a change
            # (return=minimal) to an account this directory does not hold, e.g. a skipped guest: not a new row.
            if "userType" not in user or (row[GUEST] and not include_guests):
                counts.skipped += 1
                continue
            creates.append((company.pk, object_id, *row, stamp, stamp))
            counts.created += 1
        counts.disabled += row[STATE] == DISABLED
    for object_id, reason in removed.items():
        if object_id not in existing:
            continue  # never synced here (a guest, or removed before the first look-up)
        pk, current = existing[object_id]
        row = list(current)
        row[STATE], row[REMOVED_REASON] = REMOVED, reason
        if tuple(row) != current:
            updates.append((*row, stamp, pk))
            counts.removed += 1
    return _contact_write(creates, updates, counts)


def _contact_write(creates: list, updates: list, counts: Counts) -> Counts:
    """One INSERT of the page's new rows and one UPDATE of its changed ones (none when there are none)."""
    if creates:
        contact_insert_rows(creates)
    if updates:
        contact_update_rows(updates)
    counts.users_applied = counts.created + counts.updated + counts.unchanged
    return counts


PERSON_FIELDS = ["first_name", "last_name", "email", "display_name"]


def person_follow_contacts(*, company: Company, chunk: int = 2000) -> int:
    """Linked managers and users take first name, last name and e-mail from their synced AAD account: one
    pass over the company's linked people at the end of every run (incremental runs too, so a local edit is
    undone even when the account did not change), updating only those who differ."""
    changed, count = [], 0
    people = Person.objects.filter(company=company, aad_contact__synced=True).order_by().values_list(
        "pk", "role", "first_name", "last_name", "email", "display_name",
        "aad_contact__first_name", "aad_contact__last_name", "aad_contact__email",
    )
    for pk, role, first_name, last_name, email, display_name, *aad in people.iterator(chunk_size=chunk):
        current = {"first_name": first_name, "last_name": last_name, "email": email, "display_name": display_name}
        wanted = person_values_from_contact(role, dict(zip(("first_name", "last_name", "email"), aad)))
        if any(current[name] != value for name, value in wanted.items()):
            changed.append(Person(pk=pk, **{**current, **wanted}))
        if len(changed) >= chunk:
            Person.objects.bulk_update(changed, PERSON_FIELDS)
            count, changed = count + len(changed), []
    if changed:
        Person.objects.bulk_update(changed, PERSON_FIELDS)
    return count + len(changed)


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
    if row is None or not row.is_complete:
        raise SyncError("not_configured")
    try:
        secret = aad_secret_plain(settings_row=row)
    except crypto.SecretUnreadable:
        raise SyncError("secret_unreadable") from None
    return Credentials(tenant_id=row.tenant_id, client_id=row.client_id, secret=secret), row


def delta_key(credentials: Credentials, *, include_guests: bool) -> str:
    """What a stored deltaLink belongs to (AadSettings.delta_for): tenant, app, the properties asked for and
    whether guests are synced (turning guests on must list the guests that did not change)."""
    digest = hashlib.sha256(f"{','.join(USER_FIELDS)};guests={include_guests}".encode()).hexdigest()[:6]
    return f"{credentials.tenant_id}:{credentials.client_id}:{digest}"


def delta_link_drop(*, company: Company) -> None:
    """Forget the stored change position: the next look-up reads the full listing ("full re-sync")."""
    AadSettings.objects.filter(company=company).update(delta_link="", delta_for="")


class ProgressPublisher:
    """Publishes a run's progress for other processes from a small thread, every PROGRESS_EVERY seconds while
    it changes: pages cost nothing extra (a cache write per 200-user page is not free), and progress stays
    live precisely while the engine waits for Microsoft."""

    def __init__(self, run: SyncRun):
        self.run = run
        self._latest: tuple[int, int] | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="sync-progress", daemon=True)

    def update(self, pages_read: int, users_applied: int) -> None:
        self._latest = (pages_read, users_applied)  # one atomic assignment, read by the thread

    def _loop(self) -> None:
        published = None
        while True:
            latest = self._latest
            if latest is not None and latest != published:
                sync_run_progress_set(run=self.run, pages_read=latest[0], users_applied=latest[1])
                published = latest
            if self._stop.wait(PROGRESS_EVERY):
                return

    def __enter__(self) -> ProgressPublisher:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


class _Run:
    """One run's work inside its transaction: rounds of pages applied, counts, progress, notices."""

    def __init__(self, run: SyncRun, client: GraphClient, settings_row: AadSettings, now):
        self.run, self.client, self.settings_row, self.now = run, client, settings_row, now
        self.company = run.company
        self.counts = Counts()
        self.notices: list[str] = []
        self.progress = ProgressPublisher(run)

    def _page_done(self) -> None:
        self.counts.pages_read += 1
        self.progress.update(self.counts.pages_read, self.counts.users_applied)

    def changes(self, delta_link: str) -> str | None:
        """A delta round from the stored link: only what changed. Returns the new deltaLink."""
        new_link = None
        with Prefetcher(self.client.delta_pages(delta_link, minimal=True)) as pages:
            for page in pages:
                self.counts.add(contact_apply_changes(
                    company=self.company, users=page.users, include_guests=self.settings_row.include_guests,
                    now=self.now))
                self._page_done()
                new_link = page.delta_link or new_link
        return new_link

    def full_listing(self, *, allow_removals: bool) -> str | None:
        """An initial delta round: every user, then whoever it did not list is marked removed (or held)."""
        new_link = None
        stats = PlannerStats()
        synced_before = _synced_rows(self.company).count()
        with SeenIds() as seen, Prefetcher(self.client.delta_pages(None)) as pages:
            for page in pages:
                listed = [user for user in page.users if "@removed" not in user]
                self.counts.add(contact_upsert_page(
                    company=self.company, users=listed, include_guests=self.settings_row.include_guests,
                    now=self.now, seen=seen))
                if len(listed) < len(page.users):  # soft-deleted users Microsoft names in a full round
                    removals = contact_apply_changes(
                        company=self.company, users=[u for u in page.users if "@removed" in u],
                        include_guests=True, now=self.now)
                    self.counts.removed += removals.removed
                    self.counts.skipped += removals.skipped
                stats.grew(self.counts.created)
                self._page_done()
                new_link = page.delta_link or new_link
            removed, held, notice = contact_mark_missing_removed(
                company=self.company, seen=seen, synced_before=synced_before, now=self.now,
                allow_removals=allow_removals)
        self.counts.removed += removed
        self.counts.removals_held += held
        if notice:
            self.notices.append(notice)
        return new_link


def _sync(run: SyncRun, *, allow_removals: bool, client: GraphClient | None) -> Counts:
    company = run.company
    credentials, settings_row = _credentials(company)
    client = client or GraphClient(TokenSource(credentials))
    key = delta_key(credentials, include_guests=settings_row.include_guests)
    stored_link = settings_row.delta_link
    start_link = stored_link if stored_link and settings_row.delta_for == key else ""
    run.mode = SyncRun.Mode.INCREMENTAL if start_link else SyncRun.Mode.FULL
    SyncRun.objects.filter(pk=run.pk).update(mode=run.mode)  # the history shows it while running
    try:
        client.tokens.access_token()  # a wrong secret or tenant fails here, before any page or transaction
        work = _Run(run, client, settings_row, timezone.now())
        with work.progress, sqlite_page_cache(), transaction.atomic():
            new_link = None
            if start_link:
                try:
                    new_link = work.changes(start_link)
                except SyncError as error:
                    if error.code != "delta_expired":
                        raise
                    # Same run, same transaction: read everything instead. Removals then come only from the
                    # complete listing (with its hold), never from the interrupted round.
                    work.notices.append(error.sentence)
                    run.mode = SyncRun.Mode.FULL
            if run.mode == SyncRun.Mode.FULL:
                new_link = work.full_listing(allow_removals=allow_removals)
            person_follow_contacts(company=company)
            # Only if the settings still name this tenant and app, and nobody dropped the position meanwhile.
            AadSettings.objects.filter(
                pk=settings_row.pk, tenant_id=credentials.tenant_id, client_id=credentials.client_id,
                delta_link=stored_link,
            ).update(delta_link=new_link or "", delta_for=key if new_link else "")
            # In the same transaction as the directory writes: should the database connection be lost during
            # the commit, the run's row still says whether they were committed (_database_failure_record).
            sync_run_mark_succeeded(run=run, counts={**work.counts.as_dict(), "mode": run.mode},
                                    notice=" ".join(work.notices))
        return work.counts
    finally:
        client.close()


def sync_run_execute(*, run: SyncRun, allow_removals: bool = False, client: GraphClient | None = None) -> SyncRun:
    """Execute a queued run: mark it running, sync, and end it succeeded (counts) or failed (a sentence).

    The run reads only the changes since the last one (mode incremental) when a change position (deltaLink)
    of the same tenant and app is stored, else the full listing (mode full); see delta_link_drop().
    Microsoft, network and data errors become a failed run and are not raised; so does a database failure
    (connection lost, database locked or full), recorded on a new connection when the old one is gone. An
    unexpected error marks the run failed with a generic sentence and is re-raised. A run that is not queued
    (already executed, e.g. a redelivered task) is returned as it is. `client` replaces the Graph client built
    from the settings.
    """
    if not sync_run_claim(run=run):
        run.refresh_from_db()
        return run
    slug = run.company.slug
    try:
        counts = _sync(run, allow_removals=allow_removals, client=client)
    except SyncError as error:
        logger.warning("Look-up %s of %s failed: %s", run.pk, slug, error.code)
        return sync_run_mark_failed(run=run, error=f"{error.sentence} {NOTHING_CHANGED}")
    except (OperationalError, InterfaceError):
        logger.exception("Look-up %s of %s stopped: the database failed", run.pk, slug)
        return _database_failure_record(run)
    except Exception:
        logger.exception("Look-up %s of %s stopped on an internal error", run.pk, slug)
        sync_run_mark_failed(run=run, error=f"{SyncError('internal', run=run.pk).sentence} {NOTHING_CHANGED}")
        raise
    finally:
        sync_run_progress_clear(run=run)
    logger.info("Look-up %s of %s (%s): %s", run.pk, slug, run.mode, counts.as_dict())
    return run


def _database_failure_record(run: SyncRun) -> SyncRun:
    """End a run the database failed under. Its transaction was rolled back, unless the failure hit the commit
    and the commit went through: then the row already says succeeded (recorded in that transaction) and stays.
    A lost connection is replaced first (not inside a caller's transaction, which is the caller's to end).
    If the database cannot be reached at all, the error propagates and the run stays "running" until the
    dispatcher's reaper marks it failed, once its time limit has passed."""
    if not connection.in_atomic_block and not connection.is_usable():
        connection.close()  # the next query opens a new connection
    if not SyncRun.objects.filter(pk=run.pk, status=SyncRun.Status.SUCCEEDED).exists():
        sync_run_mark_failed(run=run, error=f"{SyncError('database').sentence} {NOTHING_CHANGED}")
    run.refresh_from_db()  # the counts in memory were never committed
    return run


def sync_company_now(*, company: Company, trigger: str, requested_by: Person | None = None,
                     allow_removals: bool = False, full: bool = False, client: GraphClient | None = None) -> SyncRun:
    """Create a run and execute it here (raises SyncAlreadyRunning when one is queued or running).
    `full` drops the stored change position first, so the run reads the full listing."""
    run = sync_run_create(company=company, trigger=trigger, requested_by=requested_by)
    if full:
        delta_link_drop(company=company)
    return sync_run_execute(run=run, allow_removals=allow_removals, client=client)
