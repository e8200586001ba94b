"""The read phase of a run: every page Microsoft sends is fetched, checked, mapped and spooled to disk, with no
transaction open, so that a slow Microsoft never holds the directory's write lock."""
from __future__ import annotations

from dataclasses import dataclass, field

from aadsync.errors import SyncError
from aadsync.microsoft.graph import Page
from aadsync.sync.plans import COMPLETE, listing_entries
from aadsync.sync.prefetch import Prefetcher
from aadsync.sync.progress import ProgressPublisher
from aadsync.sync.sources import UserSource
from aadsync.sync.spool import Spool
from aadsync.sync.writes import contact_existing_rows
from aadsync.validators import guid_normalised
from directory.models import Company

FULL, CHANGES = "full", "changes"  # the spool's record kinds


@dataclass
class Reading:
    """What the read phase found: the mode it ended in, the position to store, notices for the history."""

    mode: str
    delta_link: str
    notices: list[str] = field(default_factory=list)


class Reader:
    def __init__(self, *, company: Company, source: UserSource, spool: Spool, include_guests: bool,
                 progress: ProgressPublisher):
        self.company, self.source, self.spool = company, source, spool
        self.include_guests = include_guests
        self.progress = progress
        self.pages = self.users = 0

    def read(self, start_link: str) -> Reading:
        """The changes since `start_link` when there is one, else (or when Microsoft no longer accepts it) every
        user in scope."""
        if start_link and self.source.incremental:
            try:
                return Reading(CHANGES, self.changes(start_link))
            except SyncError as error:
                if error.code != "delta_expired":
                    raise
                # Nothing was written yet: read everything instead. Removals then come only from the complete
                # listing (with its hold), never from the interrupted round.
                self.spool.clear()
                return Reading(FULL, self.full(), notices=[error.sentence])
        return Reading(FULL, self.full())

    def full(self) -> str:
        link = self.source.position_now()  # first: what changes during the listing comes again next round
        with Prefetcher(self.source.listing()) as pages:
            for page in pages:
                entries, seen, skipped = listing_entries(page.users, include_guests=self.include_guests)
                self.spool.write((FULL, entries, seen, skipped, len(page.users)))
                self._read(page)
        return link

    def changes(self, delta_link: str) -> str:
        link = ""
        with Prefetcher(self.source.changes(delta_link)) as pages:
            for page in pages:
                self.spool.write((CHANGES, self._completed(page.users), len(page.users)))
                self._read(page)
                link = page.delta_link or link
        return link

    def _completed(self, users: list[dict]) -> list[dict]:
        """A change round's users, where the directory does not hold one yet, replaced by its full record."""
        ids = {object_id: user for object_id, user in
               ((guid_normalised(user.get("id")), user) for user in users
                if user.__class__ is dict and "@removed" not in user) if object_id is not None}
        if not ids:
            return users
        # The engine's own lookup, whose "object_id IS NOT NULL" lets SQLite use the partial unique index (company,
        # object_id): the ORM drops that condition beside IN, and SQLite then read the company's 100,000 rows.
        held = contact_existing_rows(self.company, list(ids))
        missing = [object_id for object_id in ids if object_id not in held]
        if not missing:
            return users
        full = {guid_normalised(user.get("id")): user for user in self.source.complete(missing)}
        completed = []
        for user in users:
            record = full.get(guid_normalised(user.get("id"))) if user.__class__ is dict else None
            completed.append({**record, COMPLETE: True} if record is not None and "@removed" not in user else user)
        return completed

    def _read(self, page: Page) -> None:
        self.pages += 1
        self.users += len(page.users)
        self.progress.update(pages_read=self.pages, users_read=self.users)
