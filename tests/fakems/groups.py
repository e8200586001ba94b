"""The fake's groups: security and Microsoft 365 groups of a tenant, whose members are users or other groups."""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field

GROUP_MEMBER_READ_ALL = "GroupMember.Read.All"  # enough to list groups and their members


@dataclass
class Group:
    id: str
    display_name: str
    kind: str = "security"  # or "m365" (a Microsoft 365 group: groupTypes ["Unified"], mail-enabled)
    members: list[str] = field(default_factory=list)  # object IDs of users and of nested groups

    def resource(self) -> dict:
        m365 = self.kind == "m365"
        return {"id": self.id, "displayName": self.display_name, "groupTypes": ["Unified"] if m365 else [],
                "securityEnabled": not m365, "mailEnabled": m365,
                "mail": f"{self.display_name.lower().replace(' ', '.')}@example.com" if m365 else None,
                "description": None}


class Groups:
    """A tenant's groups; transitive membership follows nested groups (a group met twice counts once)."""

    def __init__(self) -> None:
        self.by_id: dict[str, Group] = {}

    def add(self, display_name: str, *, members=(), kind: str = "security", group_id: str | None = None) -> Group:
        group = Group(group_id or str(uuid.uuid4()), display_name, kind, list(members))
        self.by_id[group.id] = group
        return group

    def remove(self, group_id: str) -> None:
        self.by_id.pop(group_id)
        for group in self.by_id.values():
            if group_id in group.members:
                group.members.remove(group_id)

    def transitive_user_ids(self, group_id: str) -> list[str]:
        """Every user reached from the group through nested groups, each once, in the order first met."""
        users: dict[str, None] = {}
        seen_groups = {group_id}
        todo = [group_id]
        while todo:
            for member in self.by_id[todo.pop(0)].members:
                if member in self.by_id:
                    if member not in seen_groups:
                        seen_groups.add(member)
                        todo.append(member)
                else:
                    users.setdefault(member, None)
        return list(users)
