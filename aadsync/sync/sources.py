"""Who is looked up: a user source yields the pages of a full read and of a change round for one scope.

Today's scope is every user of the tenant (`AllUsers`). Another scope (members of chosen groups) is one more class
with the same three members: the engine, the field map and the removal rules stay as they are.
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

from aadsync.microsoft.graph import GraphClient, Page


class UserSource(Protocol):
    """The users of one scope, as pages of Graph user objects; a round's last page carries its deltaLink."""

    #: Part of what a stored deltaLink belongs to: another scope must start with a full read.
    scope_key: str

    def full(self) -> Iterator[Page]:
        """Every user in scope (a complete listing: who it does not return is no longer in scope)."""
        ...

    def changes(self, delta_link: str) -> Iterator[Page]:
        """What changed since `delta_link` (Prefer: return=minimal: a missing property means unchanged)."""
        ...


class AllUsers:
    """Every user of the tenant, read through /users/delta."""

    scope_key = "all"

    def __init__(self, client: GraphClient):
        self.client = client

    def full(self) -> Iterator[Page]:
        return self.client.delta_pages(None)

    def changes(self, delta_link: str) -> Iterator[Page]:
        return self.client.delta_pages(delta_link, minimal=True)
