"""The field map (pure): a Graph user -> the Company Directory row the sync keeps for it, and delta merges."""
from __future__ import annotations

from typing import Any, NamedTuple

from django.db import models

from aadsync.validators import guid_normalised
from directory.models import Contact

ACTIVE = Contact.AadState.ACTIVE.value
DISABLED = Contact.AadState.DISABLED.value
REMOVED = Contact.AadState.REMOVED.value
OUT_OF_SCOPE = Contact.AadState.OUT_OF_SCOPE.value
REMOVED_MISSING = "missing"  # removed_reason: absent from a complete listing
REMOVAL_REASONS = {"changed", "deleted"}  # Microsoft's @removed reasons (soft-deleted, gone for good)


class ContactRow(NamedTuple):
    """The Contact fields the sync owns, in the order the SQL writes them; compared to decide "changed"."""

    user_principal_name: str
    first_name: str
    last_name: str
    email: str
    office_phone: str
    mobile_phone: str
    is_guest: bool
    aad_state: str
    removed_reason: str
    synced: bool


SYNCED_FIELDS = ContactRow._fields
TEXT_FIELDS = SYNCED_FIELDS[:6]


def _max_length(name: str) -> int:
    field = Contact._meta.get_field(name)
    assert isinstance(field, models.CharField) and field.max_length
    return field.max_length


MAX_LENGTHS = {name: _max_length(name) for name in TEXT_FIELDS}
# The seven fields the product keeps of an AAD account, as the MS AAD article names them, and the Graph property
# each comes from (the MS AAD page shows this table); the guest flag and the AAD state are derived.
SYNCED_FROM_GRAPH = (
    ("User Principal Name", "user_principal_name", "userPrincipalName"),
    ("Object ID", "object_id", "id"),
    ("First Name", "first_name", "givenName"),
    ("Last Name", "last_name", "surname"),
    ("E-mail", "email", "mail"),
    ("Office Phone", "office_phone", "businessPhones[0]"),
    ("Mobile Phone", "mobile_phone", "mobilePhone"),
)
GRAPH_SOURCES = {field: source.removesuffix("[0]") for _, field, source in SYNCED_FROM_GRAPH}
FIELD_LABELS = {field: label for label, field, _ in SYNCED_FROM_GRAPH} | {"is_guest": "Guest"}
_UPN, _FIRST, _LAST, _MAIL, _OFFICE, _MOBILE = (MAX_LENGTHS[name] for name in TEXT_FIELDS)
_MERGED = [(ContactRow._fields.index(field), GRAPH_SOURCES[field]) for field in TEXT_FIELDS]


def normalise_object_id(value: Any) -> str | None:
    """The canonical (lower-case) GUID, or None for anything that is not one."""
    return guid_normalised(value)


def _text(value: Any, max_length: int) -> str:
    if value.__class__ is str and len(value) <= max_length and "\x00" not in value:
        return value  # the common case, kept cheap: this runs seven times per user
    if value is None:
        return ""
    # PostgreSQL text cannot hold NUL; Graph should never send one, but a row must never fail on it.
    return str(value).replace("\x00", "")[:max_length]


def contact_row_from_graph(user: dict) -> ContactRow:
    """design.md's field map: UPN, names, e-mail, businessPhones[0], mobilePhone (null -> empty), the guest flag
    (userType Guest or #EXT# in the UPN), the AAD state (accountEnabled false -> disabled), synced."""
    get = user.get
    upn = _text(get("userPrincipalName"), _UPN)
    phones = get("businessPhones")
    office = phones[0] if phones.__class__ is list and phones else (phones if isinstance(phones, str) else None)
    user_type = get("userType")
    is_guest = (user_type.__class__ is str and user_type.lower() == "guest") or "#ext#" in upn.lower()
    return ContactRow(upn, _text(get("givenName"), _FIRST), _text(get("surname"), _LAST), _text(get("mail"), _MAIL),
                      _text(office, _OFFICE), _text(get("mobilePhone"), _MOBILE), is_guest,
                      DISABLED if get("accountEnabled") is False else ACTIVE, "", True)


def contact_values_from_graph(user: dict) -> dict:
    """The field map as {Contact field: value}."""
    return contact_row_from_graph(user)._asdict()


def contact_row_merge(current: ContactRow, user: dict) -> ContactRow:
    """A changed user from a delta round applied to the stored row: only the properties it carries count
    (under Prefer: return=minimal a missing property means unchanged, not null)."""
    full = contact_row_from_graph(user)
    merged = list(current)
    for index, key in _MERGED:
        if key in user:
            merged[index] = full[index]
    row = ContactRow._make(merged)
    if "userType" in user:
        is_guest = full.is_guest
    else:
        is_guest = bool(current.is_guest) or "#ext#" in row.user_principal_name.lower()
    if "accountEnabled" in user:
        state = full.aad_state
    elif current.aad_state in (REMOVED, OUT_OF_SCOPE):  # listed again: restored
        state = ACTIVE
    else:
        state = current.aad_state
    return row._replace(is_guest=is_guest, aad_state=state, removed_reason="", synced=True)


def contact_row_removed(current: ContactRow, reason: str) -> ContactRow:
    return current._replace(aad_state=REMOVED, removed_reason=reason)
