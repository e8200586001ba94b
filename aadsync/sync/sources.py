"""Who is looked up: a user source reads one scope's users from Microsoft, for a full read and for a change round.

Today's scope is every user of the tenant (`AllUsers`). Another scope (members of chosen groups) is one more class
with the same members: the engine, the field map and the removal rules stay as they are.
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

from aadsync.microsoft.graph import GraphClient, Page


class UserSource(Protocol):
    """The users of one scope, as pages of Graph user objects."""

    #: Part of what a stored deltaLink belongs to: another scope must start with a full read.
    scope_key: str

    def position_now(self) -> str:
        """A deltaLink for the state as of now, with no users read: taken before `listing`, so that whatever
        changes while the listing is read comes again in the next change round."""
        ...

    def listing(self) -> Iterator[Page]:
        """Every user in scope, with every property the look-up reads (a complete listing: whoever it does not
        return is no longer in scope)."""
        ...

    def changes(self, delta_link: str) -> Iterator[Page]:
        """What changed since `delta_link` (Prefer: return=minimal: a missing property means unchanged); the
        round's last page carries the next deltaLink."""
        ...

    def complete(self, object_ids: list[str]) -> list[dict]:
        """The full records of these users (a change round gives only what changed)."""
        ...


class AllUsers:
    """Every user of the tenant: /users at 999 a page for a full read, /users/delta for changes."""

    scope_key = "all"

    def __init__(self, client: GraphClient):
        self.client = client

    def position_now(self) -> str:
        return self.client.delta_link_from_now()

    def listing(self) -> Iterator[Page]:
        return self.client.user_pages()

    def changes(self, delta_link: str) -> Iterator[Page]:
        return self.client.delta_pages(delta_link, minimal=True)

    def complete(self, object_ids: list[str]) -> list[dict]:
        return self.client.users_by_id(object_ids)
