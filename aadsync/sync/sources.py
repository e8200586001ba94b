"""Who is looked up: a user source reads one scope's users from Microsoft, for a full read and for a change round.

Two scopes: every user of the tenant (`AllUsers`, full reads and change rounds through delta) and the members of
chosen groups (`GroupMembers`, nested groups included, always a full read). The engine, the field map and the
removal rules are the same for both; a source only says who is in scope.
"""
from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Protocol

from aadsync.microsoft.graph import GraphClient, Page
from aadsync.microsoft.groups import group_user_pages
from aadsync.validators import guid_normalised
from directory.models import Contact


class UserSource(Protocol):
    """The users of one scope, as pages of Graph user objects."""

    #: Part of what a stored deltaLink belongs to: another scope must start with a full read.
    scope_key: str
    #: Whether change rounds (delta) can follow a full read; if not, every look-up reads the scope in full.
    incremental: bool
    #: The state of a directory entry that a complete read of this scope no longer lists.
    gone_state: str

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
    incremental = True
    gone_state = Contact.AadState.REMOVED.value

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


class GroupMembers:
    """The users of chosen groups, nested groups followed (transitiveMembers/microsoft.graph.user, 999 a page),
    each user once however many of the groups hold them. Read in full at every look-up: a group's transitive
    membership has no change round to follow, and a scope of groups is usually far smaller than the tenant.

    Whoever the groups no longer list (they left every group, or AAD itself) is out of scope: kept in the directory,
    never deleted, and current again when a group lists them."""

    incremental = False
    gone_state = Contact.AadState.OUT_OF_SCOPE.value

    def __init__(self, client: GraphClient, groups: list[dict]):
        self.client = client
        self.groups = groups
        ids = ",".join(sorted(group["id"] for group in groups))
        self.scope_key = "groups:" + hashlib.sha256(ids.encode()).hexdigest()[:12]

    def position_now(self) -> str:
        return ""  # nothing to continue from: the next look-up reads the groups again

    def listing(self) -> Iterator[Page]:
        seen: set[str] = set()  # a user in two groups is listed once (an ID each: bounded by the scope)
        number = 0
        for group in self.groups:
            for page in group_user_pages(self.client, group):
                users = []
                for user in page.users:
                    object_id = guid_normalised(user.get("id") if isinstance(user, dict) else None)
                    if object_id is None or object_id not in seen:
                        users.append(user)
                        if object_id is not None:
                            seen.add(object_id)
                number += 1
                yield Page(number=number, users=users)

    def changes(self, delta_link: str) -> Iterator[Page]:
        raise NotImplementedError("a scope of groups is read in full at every look-up")

    def complete(self, object_ids: list[str]) -> list[dict]:
        return self.client.users_by_id(object_ids)


def source_for(client: GraphClient, *, scope: str, groups: list[dict]) -> UserSource:
    """The source of a company's look-up scope (AadSettings.scope and scope_groups)."""
    if scope == "groups":
        return GroupMembers(client, groups)
    return AllUsers(client)
