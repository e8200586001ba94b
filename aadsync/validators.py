"""The GUID rule for tenant IDs, client IDs and object IDs, written once for forms, models and the sync engine."""
import re

from django.core.exceptions import ValidationError

# \A and \Z mean the start and the very end of the text both in Python and in PostgreSQL's regular expressions
# ($ would let a trailing newline through in Python, which SQLite's REGEXP runs): the database check uses it too.
GUID_PATTERN = r"\A[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\Z"
GUID_RE = re.compile(GUID_PATTERN)
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


def validate_guid(value: str) -> None:
    """Model-level rule for stored GUIDs: the canonical lower-case form (the forms trim and lower-case first)."""
    if guid_normalised(value) is None:
        raise ValidationError(
            f"Use a GUID like {GUID_EXAMPLE} (copy it from the app registration's Overview page in the Azure AD "
            "portal).",
            code="guid",
        )
    if guid_normalised(value) != value:
        raise ValidationError(f"Write the GUID in lower case without spaces, like {GUID_EXAMPLE}.", code="guid_case")
