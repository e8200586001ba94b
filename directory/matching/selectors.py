"""Reads for proposed links: every phone user without an AAD account, with the accounts the portal proposes."""
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from typing import NamedTuple, TypeVar

from django.db import connection, connections
from django.db.models import Exists, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Collate, Lower, Trim

from directory.matching.keys import NameKey, name_fold, name_key
from directory.models import Company, Contact, Person

T = TypeVar("T")
STRONG, NAME, AMBIGUOUS, NONE = "strong", "name", "ambiguous", "none"
KINDS = (STRONG, NAME, AMBIGUOUS, NONE)  # also the page's order
REASONS = {
    "mail": "e-mail = AAD mail",
    "upn": "e-mail = AAD user principal name",
    "name": "same first and last name",
}
# Values per "IN (...)" list, and rows per fetch of the names: far below SQLite's 32,766 and PostgreSQL's 65,535
# parameters; only a company with more than 10,000 accounts proposed by name needs a second list.
ID_CHUNK = 10_000
_CANDIDATE_COLUMNS = ("pk", "object_id", "first_name", "last_name", "email", "user_principal_name")


@dataclass(frozen=True, slots=True)
class Candidate:
    """An AAD account proposed for a phone user, and why."""

    contact_id: int
    object_id: str
    first_name: str
    last_name: str
    email: str
    user_principal_name: str
    reason: str  # a key of REASONS

    @property
    def label(self) -> str:
        name = f"{self.first_name} {self.last_name}".strip()
        return f"{name} ({self.user_principal_name})" if name else self.user_principal_name

    @property
    def reason_label(self) -> str:
        return REASONS[self.reason]

    def as_contact(self) -> Contact:
        """An unsaved copy with the values AAD wins with (for directory.linking.aad_differences)."""
        return Contact(pk=self.contact_id, object_id=self.object_id, first_name=self.first_name,
                       last_name=self.last_name, email=self.email, user_principal_name=self.user_principal_name,
                       synced=True, aad_state=Contact.AadState.ACTIVE)


@dataclass(frozen=True, slots=True)
class Proposal:
    """A phone user without an AAD account: strong (one account by e-mail), name (one account by name),
    ambiguous (several accounts: the manager picks one or none) or none."""

    person_id: int
    username: str
    extension: str
    first_name: str
    last_name: str
    email: str
    kind: str
    candidates: tuple[Candidate, ...] = ()
    # Other users whose single proposal is the same account: only one of them can have it.
    shared_with: tuple[str, ...] = ()

    @property
    def account(self) -> Candidate | None:
        """The one proposed account (strong and name), None when the manager has to pick."""
        return self.candidates[0] if self.kind in (STRONG, NAME) else None

    @property
    def preticked(self) -> bool:
        """Strong proposals are ticked for the manager, unless another user is proposed the same account."""
        return self.kind == STRONG and not self.shared_with

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    def as_person(self) -> Person:
        """An unsaved copy with the user's current values (for directory.linking.aad_differences)."""
        return Person(pk=self.person_id, role=Person.Role.USER, first_name=self.first_name,
                      last_name=self.last_name, email=self.email)


def _lower_bytewise(field: str):
    """lower(field) as directory.models.PrefixSearchIndex indexes it (COLLATE "C" on PostgreSQL)."""
    if connection.vendor == "postgresql":
        return Collate(Lower(field), "C")
    return Lower(field)


def _unlinked_users(company: Company) -> QuerySet[Person]:
    return Person.objects.filter(company=company, role=Person.Role.USER, aad_contact__isnull=True)


def _proposable(company: Company) -> QuerySet[Contact]:
    """Accounts that may be proposed: synced from AAD, active there, and linked to nobody (user or manager)."""
    return Contact.objects.filter(
        company=company, synced=True, object_id__isnull=False, aad_state=Contact.AadState.ACTIVE,
    ).filter(~Exists(Person.objects.filter(aad_contact=OuterRef("pk"))))


def _email_key():
    """The e-mail as matched: trimmed and lower-cased by the database, exactly as the accounts' side is."""
    return Lower(Trim("email"))


def _in_chunks(values: list[T], size: int = ID_CHUNK) -> Iterator[list[T]]:
    for start in range(0, len(values), size):
        yield values[start:start + size]


def _candidate(row: tuple, reason: str) -> Candidate:
    pk, object_id, first_name, last_name, email, upn = row[:6]
    return Candidate(pk, object_id, first_name, last_name, email, upn, reason)


def _email_matches(company: Company) -> QuerySet:
    """(account columns..., lower(mail), lower(UPN)) of proposable accounts whose mail or UPN is an unlinked user's
    e-mail key; one query whatever the number of users (their keys go in as a subquery).

    SQLite: a UNION of one IN per column, each probing its (company, lower(column)) index once per key; written
    as an OR, or in the model's default order, SQLite walks every entry of the company. PostgreSQL hashes the keys
    and reads the company's entries (its choice for thousands of keys): the OR reads them once, a UNION twice.
    """
    keys = _unlinked_users(company).annotate(key=_email_key()).exclude(key="").values("key")
    accounts = (_proposable(company).order_by()
                .annotate(mail_key=_lower_bytewise("email"), upn_key=_lower_bytewise("user_principal_name")))
    columns = (*_CANDIDATE_COLUMNS, "mail_key", "upn_key")
    if connection.vendor == "sqlite":
        return accounts.filter(mail_key__in=keys).values_list(*columns).union(
            accounts.filter(upn_key__in=keys).values_list(*columns), all=True)
    return accounts.filter(Q(mail_key__in=keys) | Q(upn_key__in=keys)).values_list(*columns)


class _User(NamedTuple):
    pk: int
    username: str
    extension: str | None
    first_name: str
    last_name: str
    email: str
    email_key: str


_USER_COLUMNS = _User._fields


def _strong_candidates(company: Company, users: list[_User]) -> dict[int, list[Candidate]]:
    """person pk -> accounts whose mail or UPN is the user's e-mail (trimmed, any case); one query."""
    by_key: dict[str, list[int]] = defaultdict(list)
    for user in users:
        if user.email_key:
            by_key[user.email_key].append(user.pk)
    if not by_key:
        return {}
    found: dict[int, dict[int, Candidate]] = defaultdict(dict)
    for row in _email_matches(company):
        for key, reason in ((row[-1], "upn"), (row[-2], "mail")):  # mail last: it names the reason when both match
            for person_id in by_key.get(key, ()):
                found[person_id][row[0]] = _candidate(row, reason)
    return {person_id: list(candidates.values()) for person_id, candidates in found.items()}


def _stream(queryset: QuerySet) -> Iterator[tuple]:
    """A values_list() query's rows straight from the database cursor, a chunk at a time: Django's own iterator
    adds generator steps per row, a third of the time of reading 100,000 names."""
    sql, params = queryset.query.sql_with_params()
    with connections[queryset.db].cursor() as cursor:
        cursor.execute(sql, params)
        while rows := cursor.fetchmany(ID_CHUNK):
            yield from rows


def _accounts_named(company: Company, wanted: set[NameKey]) -> dict[NameKey, list[Candidate]]:
    """name key -> proposable accounts with that first and last name, for the wanted keys only; two queries.

    Accents cannot be folded in SQL on both databases, so Python folds: the company's names are read once,
    streamed in chunks (on SQLite from the (company, last_name, first_name) index alone); each distinct name is
    folded once (names repeat) and a last name no user has ends the row's work.
    Measured faster on SQLite than making the database narrow the rows first (bench/bench_match.py). The
    matches are then read in full, proposable ones only.
    """
    if not wanted:
        return {}
    wanted_lasts = {last for _first, last in wanted}
    folded: dict[str, str] = {}
    matched: dict[int, NameKey] = {}
    names = Contact.objects.filter(company=company).values_list("pk", "first_name", "last_name")
    if connection.vendor == "sqlite":
        # The index's order makes SQLite read that index alone (without statistics it would pick another index
        # of the company and read every table row). PostgreSQL reads the table faster than in name order.
        names = names.order_by("last_name", "first_name")
    else:
        names = names.order_by()
    for pk, first_name, last_name in _stream(names):
        last = folded.get(last_name)
        if last is None:
            last = folded[last_name] = name_fold(last_name)
        if last in wanted_lasts:
            first = folded.get(first_name)
            if first is None:
                first = folded[first_name] = name_fold(first_name)
            if (first, last) in wanted:
                matched[pk] = (first, last)
    accounts: dict[NameKey, list[Candidate]] = defaultdict(list)
    for chunk in _in_chunks(sorted(matched)):
        for row in _proposable(company).filter(pk__in=chunk).order_by("pk").values_list(*_CANDIDATE_COLUMNS):
            accounts[matched[row[0]]].append(_candidate(row, "name"))
    return accounts


def _kind(candidates: list[Candidate]) -> str:
    if not candidates:
        return NONE
    if len(candidates) > 1:
        return AMBIGUOUS
    return NAME if candidates[0].reason == "name" else STRONG


def _sort_key(proposal: Proposal) -> tuple:
    extension = proposal.extension or ""
    # Extensions are digits: shorter first is numeric order.
    return KINDS.index(proposal.kind), not extension, len(extension), extension, proposal.username


def _mark_shared(proposals: list[Proposal]) -> list[Proposal]:
    """An account that is the single proposal of several users: name the others on each of them."""
    holders: dict[int, list[str]] = defaultdict(list)
    for proposal in proposals:
        if proposal.account is not None:
            holders[proposal.account.contact_id].append(proposal.username)
    marked = []
    for proposal in proposals:
        others = holders[proposal.account.contact_id] if proposal.account is not None else []
        if len(others) > 1:
            marked.append(replace(proposal, shared_with=tuple(name for name in others if name != proposal.username)))
        else:
            marked.append(proposal)
    return marked


def link_proposals(*, company: Company) -> list[Proposal]:
    """Every phone user of the company without an AAD account, strong proposals first, then name, ambiguous and
    none, each by extension.

    Strong: the user's e-mail (trimmed, any case) is an account's mail or UPN. Otherwise name: the first and last
    name equal one account's (directory.matching.keys.name_fold). Two or more accounts: ambiguous. Accounts that
    are linked to anyone, disabled or removed in AAD, or typed in are never proposed. A constant number of
    queries, whatever the number of users or directory entries: users, e-mail matches, names, name matches.
    """
    users = [_User(*row) for row in
             _unlinked_users(company).annotate(email_key=_email_key()).values_list(*_USER_COLUMNS)]
    strong = _strong_candidates(company, users)
    name_keys = {user.pk: name_key(user.first_name, user.last_name) for user in users if user.pk not in strong}
    named = _accounts_named(company, {key for key in name_keys.values() if key is not None})
    proposals = []
    for user in users:
        candidates = strong.get(user.pk)
        if candidates is None:
            key = name_keys[user.pk]
            candidates = named.get(key, []) if key is not None else []
        proposals.append(Proposal(
            person_id=user.pk, username=user.username, extension=user.extension or "",
            first_name=user.first_name, last_name=user.last_name, email=user.email,
            kind=_kind(candidates), candidates=tuple(sorted(candidates, key=lambda c: c.user_principal_name)),
        ))
    return sorted(_mark_shared(proposals), key=_sort_key)


def proposal_counts(proposals: Iterable[Proposal]) -> dict[str, int]:
    counts = dict.fromkeys(KINDS, 0)
    for proposal in proposals:
        counts[proposal.kind] += 1
    return counts


def _first_account_by(company: Company, column: str) -> Subquery:
    """The first proposable account whose `column` is the outer user's e-mail key. LIMIT 1 keeps it one index probe
    per user on both databases (written as EXISTS, PostgreSQL hashes every entry of the company instead)."""
    return Subquery(
        _proposable(company).order_by().annotate(key=_lower_bytewise(column))
        .filter(key=OuterRef("email_key")).values("pk")[:1]
    )


def linkable_user_count(*, company: Company) -> int:
    """How many phone users without an AAD account have an e-mail that is an active, unlinked account's mail or
    UPN (the strong proposals, and the few where several accounts share that e-mail): the MS AAD page's figure
    after a look-up. One query, one index probe per user and column."""
    return (
        _unlinked_users(company).annotate(email_key=_email_key()).exclude(email_key="")
        .alias(by_mail=_first_account_by(company, "email"), by_upn=_first_account_by(company, "user_principal_name"))
        .filter(Q(by_mail__isnull=False) | Q(by_upn__isnull=False))
        .count()
    )
