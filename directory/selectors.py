"""Reads for the Company Directory, the people who log in and the AAID ID dropdown; all scoped to a company."""
import string
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from typing import overload

from django.db import connection
from django.db.models import BooleanField, ExpressionWrapper, F, Q, QuerySet, prefetch_related_objects
from django.db.models.functions import Coalesce, Collate, Lower

from directory.linking import aad_person_values
from directory.models import CONTACT_SEARCH_FIELDS, Company, Contact, Person

# The AAID ID dropdown matches these; the Company Directory search adds the phones.
AAD_PICKER_FIELDS = ("first_name", "last_name", "email", "user_principal_name")
AAD_PICKER_LIMIT = 20
DIRECTORY_PAGE_SIZE = 50
# A search reads at most this much of what was typed: each word adds index ranges to the query, so fifty one-letter
# words would cost seconds on a large directory, and nobody types more than a few to find a person.
SEARCH_MAX_LENGTH = 100
SEARCH_MAX_WORDS = 5

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
    "out_scope": Q(synced=True, aad_state=Contact.AadState.OUT_OF_SCOPE),
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


def search_text(text: str) -> str:
    """What a search matches: the first SEARCH_MAX_LENGTH characters, their first SEARCH_MAX_WORDS words, folded."""
    return search_fold(" ".join(text[:SEARCH_MAX_LENGTH].split()[:SEARCH_MAX_WORDS]))


def _lc(field: str) -> str:
    return f"lc_{field}"


def _lower(field: str):
    """lower(field) under a byte-wise collation, the expression the PrefixSearchIndex indexes on each database."""
    if connection.vendor == "postgresql":
        return Collate(Lower(field), "C")
    return Lower(field)


def _with_lower_aliases(queryset: QuerySet, fields) -> QuerySet:
    return queryset.alias(**{_lc(field): _lower(field) for field in fields})


def _prefix_q(field: str, word: str, company: Company) -> Q:
    """lower(field) starts with word, as a range that the (company, lower(field)) index serves.

    Under a byte-wise order the strings that start with "ab" are exactly those >= "ab" and < "ac". A range
    (rather than LIKE 'ab%') also needs no escaping of % and _, and SQLite uses expression indexes for
    ranges but not for LIKE.
    """
    alias = _lc(field)
    last = ord(word[-1])
    if last == 0x10FFFF:  # nothing sorts after the last code point: an open range
        return Q(company=company, **{f"{alias}__gte": word})
    return Q(company=company, **{f"{alias}__gte": word, f"{alias}__lt": word[:-1] + chr(last + 1)})


def _starts_any_q(word: str, fields) -> Q:
    """lower(field) starts with word for one of the fields: a plain filter (LIKE, escaped), for rows already found."""
    q = Q()
    for field in fields:
        q |= Q(**{f"{_lc(field)}__startswith": word})
    return q


def _any_prefix_q(word: str, fields, company: Company) -> Q:
    q = Q()
    for field in fields:
        q |= _prefix_q(field, word, company)
    return q


def _driving_word(words: list[str]) -> int:
    """The word whose prefix range is likely the narrowest: the longest, and on a tie the earlier one (the
    last word is usually the one still being typed)."""
    return max(range(len(words)), key=lambda i: (len(words[i]), -i))


def _driver_and_others(words: list[str], fields) -> tuple[int, Q]:
    """The driving word's index, and the condition that every other word starts one of the fields."""
    driver = _driving_word(words)
    others = Q()
    for i, word in enumerate(words):
        if i != driver:
            others &= _starts_any_q(word, fields)
    return driver, others


def _search_q(text: str, fields, company: Company) -> Q | None:
    """The whole text starts one of the fields, or every word starts one of them ("kim min" finds Kim Minsu).

    Written as a flat OR of index ranges, each carrying the company (and the caller adds no other company
    condition): the whole text on each field, and the longest word on each field filtered by the other
    words. Each database then drives the query from the (company, lower(field)) indexes (a bitmap OR on
    PostgreSQL, a multi-index OR on SQLite) rather than walking the name index for ORDER BY ... LIMIT and
    testing every row, which costs a full scan when few rows match.
    """
    folded = search_text(text)
    if not folded:
        return None
    words = folded.split(" ")
    q = _any_prefix_q(folded, fields, company)
    if len(words) > 1:
        driver, others = _driver_and_others(words, fields)
        for field in fields:
            q |= _prefix_q(field, words[driver], company) & others
    return q


# --- Company Directory -------------------------------------------------------------------------------------


def _sort_key(field: str, searching: bool):
    """The column itself, or, while searching, the same value in a form no index provides.

    The matches of a prefix cluster in name order (all the Smiths sit together deep in the name index), but a
    planner assumes them spread evenly and would walk the name index to fill the first page, reading most of
    the table when they are not near its start. Without an index for the order it sorts the matches instead,
    which the prefix indexes find quickly: a cost bounded by the number of matches.
    """
    if searching and field != "id":
        return Coalesce(F(field), F(field))
    return F(field)


def contact_list(*, company: Company, search: str = "", sync: str = "", sort: str = "name",
                 descending: bool = False) -> QuerySet:
    """The directory page's rows with the person each entry is linked to (a constant number of queries)."""
    search_q = _search_q(search, CONTACT_SEARCH_FIELDS, company)
    if search_q is None:
        queryset = Contact.objects.filter(company=company)
    else:
        queryset = _with_lower_aliases(Contact.objects.all(), CONTACT_SEARCH_FIELDS).filter(search_q)
    if sync in SYNC_FILTERS:
        queryset = queryset.filter(SYNC_FILTERS[sync])
    keys = [_sort_key(field, search_q is not None) for field in DIRECTORY_SORTS.get(sort, DIRECTORY_SORTS["name"])]
    order = [key.desc() if descending else key.asc() for key in keys]
    # A separate query for the page's linked people, not a join: an OFFSET then skips contact rows only.
    return queryset.prefetch_related("linked_person").order_by(*order)


# The column whose empty values an ascending sort puts after the others (descending puts them last already).
BLANKS_LAST = {"name": "last_name", "first_name": "first_name", "email": "email", "upn": "user_principal_name"}


class ContactListing:
    """The directory page's rows in order, for a Paginator (count() and slices), each page as cheap as the first.

    Blanks last: entries without a last name (rooms, typed-in e-mails) come after the named ones, though the index
    sorts '' first. An ascending sort is then two runs, each read in index order: the filled rows (`field > ''`, a
    range of the index) and the blanks (`field = ''`). The first pages read the filled run forward and need no count
    of the blanks (a short read means the run ended there); a page in the far half counts them once and reads its run
    in reverse, so an OFFSET never steps over more than half the directory. Queries: the count, one per run the page
    touches (plus the count of blanks in the far half), and one for each of `prefetch`.
    """

    ordered = True

    def __init__(self, queryset: QuerySet, *, blank_field: str | None = None, prefetch: tuple[str, ...] = ()):
        self.queryset = queryset
        self.blank_field = blank_field
        self.prefetch = prefetch

    @cached_property
    def total(self) -> int:
        return self.queryset.count()

    @cached_property
    def blanks(self) -> int:
        return self.queryset.filter(**{self.blank_field: ""}).count() if self.blank_field else 0

    def count(self) -> int:
        return self.total

    def __len__(self) -> int:
        return self.total

    @staticmethod
    def _run(queryset: QuerySet, start: int, stop: int, size: int | None) -> list[Contact]:
        """Positions [start, stop) of a run of `size` rows in `queryset`'s order (None: read forward, size unknown)."""
        if stop <= start:
            return []
        if size is None or start <= size // 2:
            return list(queryset[start:stop])
        rows = list(queryset.reverse()[size - stop:size - start])
        rows.reverse()
        return rows

    def _rows(self, start: int, stop: int) -> list[Contact]:
        if self.blank_field is None:
            return self._run(self.queryset, start, stop, self.total)
        filled_run = self.queryset.filter(**{f"{self.blank_field}__gt": ""})
        blank_run = self.queryset.filter(**{self.blank_field: ""})
        if start <= self.total // 2:
            rows = self._run(filled_run, start, stop, None)
            if len(rows) == stop - start:
                return rows
            filled = start + len(rows) if rows else self.total - self.blanks  # where the filled run ends
            return rows + self._run(blank_run, max(start - filled, 0), stop - filled, None)
        filled = self.total - self.blanks
        rows = self._run(filled_run, start, min(stop, filled), filled)
        return rows + self._run(blank_run, max(start, filled) - filled, stop - filled, self.blanks)

    def __iter__(self) -> Iterator[Contact]:  # every row: Paginator only slices, this is for completeness
        return iter(self[0:self.total])

    @overload
    def __getitem__(self, item: int) -> Contact: ...

    @overload
    def __getitem__(self, item: slice) -> list[Contact]: ...

    def __getitem__(self, item: int | slice) -> Contact | list[Contact]:
        if isinstance(item, int):
            found = self[item:item + 1]
            if not found:
                raise IndexError(item)
            return found[0]
        start, stop, _ = item.indices(self.total)
        rows = self._rows(start, stop)
        prefetch_related_objects(rows, *self.prefetch)
        return rows


def contact_listing(*, company: Company, search: str = "", sync: str = "", sort: str = "name",
                    descending: bool = False) -> ContactListing:
    """contact_list() with blank values of the sort column last, to page through (see ContactListing).

    While searching, the database sorts the matches anyway (no index gives their order, see _sort_key), so blanks
    go last by one more sort key instead of two runs: the runs' `field > ''` is an index range, and SQLite then
    walked that index over most of the company instead of the search's prefix ranges (a one-letter search took
    72-79 ms against 51 ms without blanks last, at 100,000 entries)."""
    queryset = contact_list(company=company, search=search, sync=sync, sort=sort, descending=descending)
    blank_field = None if descending else BLANKS_LAST.get(sort)
    if blank_field is not None and search_text(search):
        blank_last = ExpressionWrapper(Q(**{blank_field: ""}), output_field=BooleanField())
        queryset = queryset.order_by(blank_last.asc(), *queryset.query.order_by)
        blank_field = None
    return ContactListing(queryset.prefetch_related(None), blank_field=blank_field, prefetch=("linked_person",))


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
    linked_to: str = ""  # who else has linked it ("27728 Anna Kim"): shown in the dropdown, never pickable

    @classmethod
    def from_contact(cls, contact: Contact) -> "AadAccount":
        return cls(contact.object_id or "", contact.first_name, contact.last_name, contact.email,
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
            # What a manager's Name becomes when they link this account (My Information locks it).
            "name": aad_person_values(role=Person.Role.MANAGER, first_name=self.first_name,
                                      last_name=self.last_name, email=self.email).get("display_name", ""),
            "linked_to": self.linked_to,
            "disabled": bool(self.linked_to),
        }


def _holder_label(role: str, login: str, first_name: str, last_name: str, display_name: str) -> str:
    """How the dropdown names who holds an account: "27728 Anna Kim" (a user), "manager rich (Rich Kang)"."""
    if role == Person.Role.MANAGER:
        return f"manager {login} ({display_name})" if display_name and display_name != login else f"manager {login}"
    return " ".join(part for part in (login, first_name, last_name) if part)


def aad_account_search(*, company: Company, text: str, person: Person | None = None,
                       limit: int = AAD_PICKER_LIMIT) -> tuple[list[AadAccount], bool]:
    """Synced, active accounts by name/e-mail/UPN prefix; those someone other than `person` has linked come with
    `linked_to` (who holds them), for the dropdown to show disabled, so a manager sees why they cannot be picked.

    Matches as the directory search does: the whole text starts a field, or every word starts one. Returns at
    most `limit` accounts in name order and whether more matched; one query, whatever the directory's size (the
    holder comes from a LEFT JOIN on the one-to-one link).

    How it stays fast: each "walk" reads one field's (company, lower(field)) index in order from the prefix
    and stops at limit + 1 accounts, so a one-letter prefix matching a third of 100,000 accounts costs as
    little as a rare one; the union of the walks (a few dozen rows) is then put in name order. With several
    words, the longest word drives the walks (the narrowest range to read; the other words filter) and the
    whole text drives walks of its own. When more than `limit` match, those shown are the ones whose
    matching field sorts first; the dropdown says so and asks for more letters.
    """
    offered = Contact.objects.filter(synced=True, aad_state=Contact.AadState.ACTIVE)
    folded = search_text(text)
    if not folded:
        queryset = offered.filter(company=company)
    else:
        words = folded.split(" ")
        drivers = [(folded, Q())]
        if len(words) > 1:
            driver, others = _driver_and_others(words, AAD_PICKER_FIELDS)
            drivers.append((words[driver], others))
        walks = [
            _with_lower_aliases(offered, AAD_PICKER_FIELDS)
            .filter(_prefix_q(field, word, company))
            .filter(others)
            .order_by(_lc(field), "id")
            .values("pk")[: limit + 1]
            for word, others in drivers
            for field in AAD_PICKER_FIELDS
        ]
        if connection.features.supports_slicing_ordering_in_compound:
            # PostgreSQL: one IN over a UNION ALL, which it joins on the primary key (an OR of INs would
            # make it test every row of the table against hashed lists).
            queryset = Contact.objects.filter(pk__in=walks[0].union(*walks[1:], all=True))
        else:
            # SQLite allows no LIMIT inside a compound SELECT; it runs an OR of INs as a multi-index OR.
            matches = Q()
            for walk in walks:
                matches |= Q(pk__in=walk)
            queryset = Contact.objects.filter(matches)
    rows = list(
        queryset.order_by("last_name", "first_name", "id").values_list(
            "object_id", "first_name", "last_name", "email", "user_principal_name", "linked_person__pk",
            "linked_person__role", "linked_person__login", "linked_person__first_name", "linked_person__last_name",
            "linked_person__display_name",
        )[: limit + 1]
    )
    own = person.pk if person is not None else None
    accounts = [
        AadAccount(object_id or "", first_name, last_name, email, upn,
                   linked_to=_holder_label(*holder) if holder_pk is not None and holder_pk != own else "")
        for object_id, first_name, last_name, email, upn, holder_pk, *holder in rows[:limit]
    ]
    return accounts, len(rows) > limit


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
    search = " ".join(search[:SEARCH_MAX_LENGTH].split())
    if search:
        queryset = queryset.filter(
            Q(extension__startswith=search) | Q(login__istartswith=search) | Q(first_name__istartswith=search)
            | Q(last_name__istartswith=search) | Q(email__istartswith=search)
        )
    return queryset.select_related("site", "aad_contact").order_by("extension", "login")


def user_get(*, company: Company, pk: int) -> Person:
    """A phone user of the company (never a manager: their AAD link is theirs to set)."""
    return Person.objects.select_related("site", "aad_contact").get(company=company, pk=pk, role=Person.Role.USER)
