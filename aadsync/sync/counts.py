"""What a run did, counted: the figures a run's history row, the MS AAD page and the command print."""
from __future__ import annotations

from dataclasses import dataclass, fields


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

    def as_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}
