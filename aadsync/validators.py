"""The GUID rule for tenant IDs, client IDs and object IDs, written once for forms, models and the sync engine."""
import re

from django.core.exceptions import ValidationError

GUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\Z")
GUID_EXAMPLE = "43d42458-b9c9-4619-aa06-c8a1e2f3b4c5"


def guid_normalised(value: object) -> str | None:
    """The canonical (lower-case) GUID, or None for anything that is not one."""
    if not isinstance(value, str):
        return None
    if len(value) != 36:
        value = value.strip()
        if len(value) != 36:
            return None
    value = value.lower()
    return value if GUID_RE.match(value) else None


def guid_clean(value: str, label: str) -> str:
    """A typed GUID, trimmed and lower-cased, or a ValidationError saying where to copy it from."""
    guid = guid_normalised(value)
    if guid is None:
        raise ValidationError(
            f"{label} must be a GUID like {GUID_EXAMPLE} "
            "(copy it from the app registration's Overview page in the Azure AD portal).",
            code="guid",
        )
    return guid
