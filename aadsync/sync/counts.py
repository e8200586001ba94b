"""What a run did, counted so the figures add up: every account looked up is created, changed, unchanged,
disabled, removed or skipped, once; a full read's removals of accounts it no longer lists are counted on top."""
from __future__ import annotations

from dataclasses import dataclass, fields


@dataclass
class Counts:
    looked_up: int = 0  # accounts Microsoft returned in this run (a full read: listed; a change round: changes)
    created: int = 0  # new in the directory (and active)
    updated: int = 0  # "changed": a synced field changed (a restored account too)
    unchanged: int = 0
    disabled: int = 0  # newly disabled in AAD (a new account that is disabled counts here, not as created)
    removed: int = 0  # newly removed from AAD (@removed, or no longer listed by a complete read)
    skipped: int = 0  # guests (when not included), accounts out of scope, records without an object ID
    pages_read: int = 0
    users_applied: int = 0
    removals_held: int = 0

    def add(self, other: Counts) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))

    def as_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}
