"""A look-up's orchestration: credentials, the read phase (Microsoft into a spool, no transaction), then the write
phase (the spool into the directory in one short transaction), removals, linked people, and the run's end."""
from __future__ import annotations

import hashlib
import logging
import time

from celery.exceptions import SoftTimeLimitExceeded
from django.db import InterfaceError, OperationalError, connection, transaction
from django.utils import timezone

from aadsync import crypto
from aadsync.errors import NOTHING_CHANGED, SyncError, minutes
from aadsync.microsoft.graph import USER_FIELDS, GraphClient
from aadsync.microsoft.tokens import Credentials, TokenSource
from aadsync.models import AadSettings, SyncRun
from aadsync.runs import (
    sync_run_claim,
    sync_run_create,
    sync_run_end,
    sync_run_progress_clear,
    sync_time_limits,
)
from aadsync.services import aad_secret_plain
from aadsync.sync.counts import Counts
from aadsync.sync.people import person_follow_contacts
from aadsync.sync.progress import ProgressPublisher
from aadsync.sync.reading import CHANGES, Reader
from aadsync.sync.records import PREVIEW_LINES, AccountChangeLog
from aadsync.sync.sources import AllUsers, source_for
from aadsync.sync.spool import Spool
from aadsync.sync.writes import sqlite_page_cache
from aadsync.sync.writing import Writer
from directory.models import Company, Person

logger = logging.getLogger(__name__)
WRITE_PHASE_RESERVE = 60.0  # seconds of a run's time limit kept for the write phase after reading


def _credentials(company: Company) -> tuple[Credentials, AadSettings]:
    row = AadSettings.objects.filter(company=company).first()
    if row is None or not row.is_complete:
        raise SyncError("not_configured")
    try:
        secret = aad_secret_plain(settings_row=row)
    except crypto.SecretUnreadable:
        raise SyncError("secret_unreadable") from None
    return Credentials(tenant_id=row.tenant_id, client_id=row.client_id, secret=secret), row


def delta_key(credentials: Credentials, *, include_guests: bool, scope: str = AllUsers.scope_key) -> str:
    """What a stored deltaLink belongs to (AadSettings.delta_for): tenant, app, the properties asked for, whether
    guests are synced (turning guests on must list the guests that did not change) and the scope."""
    digest = hashlib.sha256(f"{','.join(USER_FIELDS)};guests={include_guests};scope={scope}".encode()).hexdigest()[:6]
    return f"{credentials.tenant_id}:{credentials.client_id}:{digest}"


def delta_link_drop(*, company: Company) -> None:
    """Forget the stored change position: the next look-up reads the full listing ("full re-sync")."""
    AadSettings.objects.filter(company=company).update(delta_link="", delta_for="")


def _deadline() -> float:
    """When reading must be done (time.monotonic): the run's soft time limit, less a reserve for writing."""
    soft = sync_time_limits()[1]
    return time.monotonic() + soft - min(WRITE_PHASE_RESERVE, soft / 10)


def _sync(run: SyncRun, *, allow_removals: bool, client: GraphClient | None, full: bool = False) -> Counts:
    company = run.company
    credentials, settings_row = _credentials(company)
    progress = ProgressPublisher(run)
    client = client or GraphClient(TokenSource(credentials), deadline=_deadline())
    client.on_wait = client.on_wait or progress.waiting  # "waiting N s for Microsoft (throttled)" on the page
    source = source_for(client, scope=settings_row.scope, groups=settings_row.scope_groups)
    key = delta_key(credentials, include_guests=settings_row.include_guests, scope=source.scope_key)
    stored_link = settings_row.delta_link
    usable = stored_link and settings_row.delta_for == key and source.incremental and not full
    start_link = stored_link if usable else ""
    run.mode = SyncRun.Mode.INCREMENTAL if start_link else SyncRun.Mode.FULL
    SyncRun.objects.filter(pk=run.pk).update(mode=run.mode)  # the history shows it while running
    try:
        client.tokens.access_token()  # a wrong secret or tenant fails here, before any page
        with progress, Spool() as spool:
            reader = Reader(company=company, source=source, spool=spool, progress=progress,
                            include_guests=settings_row.include_guests)
            started = time.monotonic()
            reading = reader.read(start_link)
            read_s = time.monotonic() - started
            run.mode = SyncRun.Mode.INCREMENTAL if reading.mode == CHANGES else SyncRun.Mode.FULL
            writer = Writer(company=company, include_guests=settings_row.include_guests, gone_state=source.gone_state,
                            progress=progress, now=timezone.now(), dry_run=run.preview,
                            log=AccountChangeLog(run, limit=PREVIEW_LINES if run.preview else None))
            writer.counts.pages_read = reader.pages
            if run.preview:
                # Reads and plans only: no transaction to hold (SQLite's would take the write lock), nothing
                # written but the run's own row and its first lines.
                writer.write(spool, reading.mode, allow_removals=allow_removals)
                sync_run_end(run, status=SyncRun.Status.SUCCEEDED, notice=" ".join(reading.notices + writer.notices),
                             results={**writer.counts.as_dict(), "mode": run.mode})
            else:
                with sqlite_page_cache(), transaction.atomic():
                    writer.write(spool, reading.mode, allow_removals=allow_removals)
                    person_follow_contacts(company=company)
                    # Only if the settings still name this tenant, app and scope, and nobody dropped the position.
                    AadSettings.objects.filter(
                        pk=settings_row.pk, tenant_id=credentials.tenant_id, client_id=credentials.client_id,
                        delta_link=stored_link, scope=settings_row.scope,
                    ).update(delta_link=reading.delta_link, delta_for=key if reading.delta_link else "")
                    # In the same transaction as the directory writes: should the database connection be lost during
                    # the commit, the run's row still says whether they were committed (_database_failure_record).
                    sync_run_end(run, status=SyncRun.Status.SUCCEEDED,
                                 notice=" ".join(reading.notices + writer.notices),
                                 results={**writer.counts.as_dict(), "mode": run.mode})
            write_s = time.monotonic() - started - read_s
        logger.info("Look-up %s of %s read Microsoft in %.2f s and wrote the directory in %.2f s", run.pk,
                    company.slug, read_s, write_s)
        return writer.counts
    finally:
        client.close()


def _failed(run: SyncRun, sentence: str) -> SyncRun:
    return sync_run_end(run, status=SyncRun.Status.FAILED, error=f"{sentence} {NOTHING_CHANGED}",
                        results={"mode": run.mode})


def sync_run_execute(*, run: SyncRun, allow_removals: bool = False, client: GraphClient | None = None,
                     full: bool = False) -> SyncRun:
    """Execute a queued run: mark it running, sync, and end it succeeded (counts) or failed (a sentence).

    The run reads only the changes since the last one (mode incremental) when a change position (deltaLink)
    of the same tenant and app is stored, else the full listing (mode full); see delta_link_drop().
    Microsoft, network and data errors become a failed run and are not raised; so does a database failure
    (connection lost, database locked or full), recorded on a new connection when the old one is gone. Reaching
    the task's time limit ends the run with its own sentence. An unexpected error marks the run failed with a
    generic sentence and is re-raised. A run that is not queued (already executed, e.g. a redelivered task) is
    returned as it is. `client` replaces the Graph client built from the settings.
    """
    if not sync_run_claim(run=run):
        run.refresh_from_db()
        return run
    slug = run.company.slug
    try:
        counts = _sync(run, allow_removals=allow_removals, client=client, full=full)
    except SyncError as error:
        logger.warning("Look-up %s of %s failed: %s", run.pk, slug, error.code)
        return _failed(run, error.sentence)
    except (OperationalError, InterfaceError):
        logger.exception("Look-up %s of %s stopped: the database failed", run.pk, slug)
        return _database_failure_record(run)
    except SoftTimeLimitExceeded:
        logger.warning("Look-up %s of %s stopped at its time limit", run.pk, slug)
        return sync_run_end(run, status=SyncRun.Status.FAILED, results={"mode": run.mode},
                            error=SyncError("timed_out", minutes=minutes(sync_time_limits()[1])).sentence)
    except Exception:
        logger.exception("Look-up %s of %s stopped on an internal error", run.pk, slug)
        _failed(run, SyncError("internal", run=run.pk).sentence)
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
    return _failed(run, SyncError("database").sentence)  # a run the commit did succeed is no longer active


def sync_company_now(*, company: Company, trigger: str, requested_by: Person | None = None,
                     allow_removals: bool = False, full: bool = False, preview: bool = False,
                     client: GraphClient | None = None) -> SyncRun:
    """Create a run and execute it here (raises SyncAlreadyRunning when one is queued or running).
    `full` drops the stored change position first, so the run reads the full listing; `preview` writes nothing to
    the directory (it keeps the change position as it is, and `full` then only reads in full)."""
    run = sync_run_create(company=company, trigger=trigger, requested_by=requested_by, preview=preview)
    if full and preview:
        SyncRun.objects.filter(pk=run.pk).update(mode=SyncRun.Mode.FULL)
        return sync_run_execute(run=run, allow_removals=allow_removals, client=client, full=True)
    if full:
        delta_link_drop(company=company)
    return sync_run_execute(run=run, allow_removals=allow_removals, client=client)
