"""Reads for the Company Directory, the people who log in and the AAID ID dropdown; all scoped to a company."""
import string
from dataclasses import dataclass

from django.db import connection
from django.db.models import Q, QuerySet
from django.db.models.functions import Lower

from directory.models import CONTACT_SEARCH_FIELDS, Company, Contact, Person

# The AAID ID dropdown matches these; the Company Directory search adds the phones.
AAD_PICKER_FIELDS = ("first_name", "last_name", "email", "user_principal_name")
AAD_PICKER_LIMIT = 20
DIRECTORY_PAGE_SIZE = 50

# Sort keys offered by the directory page: each is backed by an index that starts with company.
DIRECTORY_SORTS = {
    "name": ("last_name", "first_name", "id"),
    "first_name": ("first_name", "last_name", "id"),
    "email": ("email", "id"),
    "upn": ("user_principal_name", "id"),
    "sync": ("synced", "aad_state", "last_name", "first_name", "id"),
}
SYNC_FILTERS = {
    "yes": Q(synced=True),
    "active": Q(synced=True, aad_state=Contact.AadState.ACTIVE),
    "disabled": Q(synced=True, aad_state=Contact.AadState.DISABLED),
    "removed": Q(synced=True, aad_state=Contact.AadState.REMOVED),
    "no": Q(synced=False),
}
EXPORT_COLUMNS = (
    "first_name", "last_name", "email", "office_phone", "mobile_phone", "user_principal_name", "object_id", "synced",
)

_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)


def search_fold(text: str) -> str:
    """Lower-case text as the database's lower() does: SQLite folds ASCII letters only."""
    if connection.vendor == "sqlite":
        return text.translate(_ASCII_LOWER)
    return text.lower()


def _lc(field: str) -> str:
    return f"lc_{field}"


def _with_lower_aliases(queryset: QuerySet, fields) -> QuerySet:
    return queryset.alias(**{_lc(field): Lower(field) for field in fields})


def _prefix_q(field: str, word: str, company: Company) -> Q:
    """lower(field) starts with word, written so the (company, lower(field)) index serves it.

    PostgreSQL: LIKE 'word%' on a text_pattern_ops index. SQLite does not use expression indexes for LIKE,
    but does for a range, and its lower() output compares byte-wise, so [word, word+1) is exactly the prefix.
    """
    alias = _lc(field)
    if connection.vendor == "sqlite":
        last = ord(word[-1])
        if last < 0x10FFFF:
            return Q(company=company, **{f"{alias}__gte": word, f"{alias}__lt": word[:-1] + chr(last + 1)})
    return Q(company=company, **{f"{alias}__startswith": word})


def _any_prefix_q(word: str, fields, company: Company) -> Q:
    q = Q()
    for field in fields:
        q |= _prefix_q(field, word, company)
    return q


def _search_q(text: str, fields, company: Company) -> Q | None:
    """The whole text starts one of the fields, or every word starts one of them ("kim min" finds Kim Minsu).

    Each alternative carries the company, and the caller adds no other company condition: then each
    database drives the query from the (company, lower(field)) indexes (a bitmap OR on PostgreSQL, a
    multi-index OR on SQLite) instead of walking the name index for ORDER BY ... LIMIT and filtering
    every row, which SQLite prefers otherwise and which costs a full scan when few rows match.
    """
    folded = search_fold(" ".join(text.split()))
    if not folded:
        return None
    words = folded.split(" ")
    if len(words) == 1:
        return _any_prefix_q(folded, fields, company)
    every_word = Q()
    for word in words[1:]:
        every_word &= _any_prefix_q(word, fields, company)
    return _any_prefix_q(words[0], fields, company) & (_any_prefix_q(folded, fields, company) | every_word)


# --- Company Directory -------------------------------------------------------------------------------------


def contact_list(*, company: Company, search: str = "", sync: str = "", sort: str = "name",
                 descending: bool = False) -> QuerySet:
    """The directory page's rows, with the person each synced entry is linked to (one query per page)."""
    search_q = _search_q(search, CONTACT_SEARCH_FIELDS, company)
    if search_q is None:
        queryset = Contact.objects.filter(company=company)
    else:
        queryset = _with_lower_aliases(Contact.objects.all(), CONTACT_SEARCH_FIELDS).filter(search_q)
    if sync in SYNC_FILTERS:
        queryset = queryset.filter(SYNC_FILTERS[sync])
    order = DIRECTORY_SORTS.get(sort, DIRECTORY_SORTS["name"])
    if descending:
        order = tuple(f"-{field}" for field in order)
    return queryset.select_related("linked_person").order_by(*order)


def contact_get_manual(*, company: Company, pk: int) -> Contact:
    """A manually entered entry of the company; synced entries follow AAD and are not editable here."""
    return Contact.objects.get(company=company, pk=pk, synced=False)


def contact_export_rows(*, company: Company):
    """The CSV rows of every entry, streamed from the database in chunks (memory bounded by a chunk)."""
    rows = (
        Contact.objects.filter(company=company)
        .order_by("last_name", "first_name", "id")
        .values_list(*EXPORT_COLUMNS)
        .iterator(chunk_size=2000)
    )
    for *values, synced in rows:
        yield [value or "" for value in values] + ["Yes" if synced else "No"]


# --- The AAID ID dropdown ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AadAccount:
    """One choice of the AAID ID dropdown."""

    object_id: str
    first_name: str
    last_name: str
    email: str
    user_principal_name: str
    aad_state: str = Contact.AadState.ACTIVE

    @classmethod
    def from_contact(cls, contact: Contact) -> "AadAccount":
        return cls(contact.object_id, contact.first_name, contact.last_name, contact.email,
                   contact.user_principal_name, contact.aad_state)

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def label(self) -> str:
        return f"{self.name} ({self.user_principal_name})" if self.name else self.user_principal_name

    def as_json(self) -> dict:
        return {
            "id": self.object_id,
            "label": self.label,
            "first_name": self.first_name,
            "last_name": self.last_name,
            "email": self.email,
            "upn": self.user_principal_name,
        }


def aad_account_search(*, company: Company, text: str, person: Person | None = None,
                       limit: int = AAD_PICKER_LIMIT) -> tuple[list[AadAccount], bool]:
    """Synced, active accounts nobody has linked yet (plus `person`'s own), by name/e-mail/UPN prefix.

    Returns at most `limit` accounts and whether more matched. One query, whatever the directory's size.
    """
    free = Q(linked_person__isnull=True)
    if person is not None and person.aad_contact_id:
        free |= Q(pk=person.aad_contact_id)
    queryset = Contact.objects.filter(synced=True, aad_state=Contact.AadState.ACTIVE).filter(free)
    search_q = _search_q(text, AAD_PICKER_FIELDS, company)
    if search_q is None:
        queryset = queryset.filter(company=company)
    else:
        queryset = _with_lower_aliases(queryset, AAD_PICKER_FIELDS).filter(search_q)
    rows = list(
        queryset.order_by("last_name", "first_name", "id").values_list(
            "object_id", "first_name", "last_name", "email", "user_principal_name"
        )[: limit + 1]
    )
    return [AadAccount(*row) for row in rows[:limit]], len(rows) > limit


def aad_contact_resolve(*, company: Company, value: str) -> Contact | None:
    """The company's synced entry whose object ID or user principal name (any case) is `value`."""
    value = value.strip()
    if not value:
        return None
    synced = Contact.objects.filter(company=company, synced=True)
    contact = synced.filter(object_id__in={value, value.lower()}).first()
    if contact is None:
        contact = (
            _with_lower_aliases(synced, ["user_principal_name"])
            .filter(**{_lc("user_principal_name"): search_fold(value)})
            .order_by("id")
            .first()
        )
    return contact


def person_holding_contact(*, contact: Contact, exclude: Person | None = None) -> Person | None:
    """Who has linked this AAD account, if anyone (other than `exclude`)."""
    queryset = Person.objects.filter(aad_contact=contact)
    if exclude is not None and exclude.pk:
        queryset = queryset.exclude(pk=exclude.pk)
    return queryset.first()


def person_for_aad_object_id(*, company: Company, object_id: str) -> Person | None:
    """The active person linked to the company's AAD account with this object ID (for Microsoft sign-in)."""
    return (
        Person.objects.select_related("company", "aad_contact")
        .filter(company=company, is_active=True, aad_contact__synced=True, aad_contact__object_id=object_id)
        .first()
    )


# --- People ---------------------------------------------------------------------------------------------------


def user_list(*, company: Company, search: str = "") -> QuerySet:
    queryset = Person.objects.filter(company=company, role=Person.Role.USER)
    search = " ".join(search.split())
    if search:
        queryset = queryset.filter(
            Q(extension__startswith=search) | Q(login__istartswith=search) | Q(first_name__istartswith=search)
            | Q(last_name__istartswith=search) | Q(email__istartswith=search)
        )
    return queryset.select_related("site", "aad_contact").order_by("extension", "login")


def user_get(*, company: Company, pk: int) -> Person:
    """A phone user of the company (never a manager: their AAD link is theirs to set)."""
    return Person.objects.select_related("site", "aad_contact").get(company=company, pk=pk, role=Person.Role.USER)


def aad_differences(*, person: Person, contact: Contact, fields=("first_name", "last_name", "email")) -> list[dict]:
    """Where the person's saved values differ from the AAD account's (AAD's win when they are linked)."""
    labels = {"first_name": "First name", "last_name": "Last name", "email": "E-mail"}
    return [
        {"field": field, "label": labels[field], "current": getattr(person, field), "aad": getattr(contact, field)}
        for field in fields
        if getattr(person, field) != getattr(contact, field)
    ]
