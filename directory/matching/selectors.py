"""Reads for proposed links: every phone user without an AAD account, with the accounts the portal proposes."""
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import NamedTuple, overload

from django.db import connection
from django.db.models import Exists, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Collate, Lower, Trim

from directory.matching.keys import name_key
from directory.matching.lookups import accounts_named, email_matches
from directory.models import Company, Contact, Person

STRONG, NAME, AMBIGUOUS, NONE = "strong", "name", "ambiguous", "none"
KINDS = (STRONG, NAME, AMBIGUOUS, NONE)  # also the page's order
REASONS = {
    "mail": "e-mail = AAD mail",
    "upn": "e-mail = AAD user principal name",
    "name": "same first and last name",
}
# Values per "IN (...)" list of the bulk link (services.py): far below SQLite's 32,766 and PostgreSQL's 65,535
# parameters. The proposals' own look-ups take all their keys in one parameter.
ID_CHUNK = 10_000


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


def _candidate(row: tuple, reason: str) -> Candidate:
    pk, object_id, first_name, last_name, email, upn = row[:6]
    return Candidate(pk, object_id, first_name, last_name, email, upn, reason)


class _User(NamedTuple):
    pk: int
    username: str
    extension: str | None
    first_name: str
    last_name: str
    email: str
    email_key: str


_USER_COLUMNS = _User._fields


def _strong_candidates(company: Company, users: list[_User], accounts: dict[int, tuple]) -> dict[int, dict[int, str]]:
    """person pk -> {account id: "mail" or "upn"} for the accounts whose mail or UPN is the user's e-mail (trimmed,
    any case); one query. The accounts' columns go into `accounts` by id."""
    by_key: dict[str, list[int]] = defaultdict(list)
    for user in users:
        if user.email_key:
            by_key[user.email_key].append(user.pk)
    if not by_key:
        return {}
    found: dict[int, dict[int, str]] = defaultdict(dict)
    for row in email_matches(company, sorted(by_key)):
        accounts[row[0]] = row  # _candidate() reads the first six columns
        for key, reason in ((row[-1], "upn"), (row[-2], "mail")):  # mail last: it names the reason when both match
            for person_id in by_key.get(key, ()):
                found[person_id][row[0]] = reason
    return found


def _kind(accounts: dict[int, str]) -> str:
    if not accounts:
        return NONE
    if len(accounts) > 1:
        return AMBIGUOUS
    return NAME if next(iter(accounts.values())) == "name" else STRONG


_KIND_ORDER = {kind: position for position, kind in enumerate(KINDS)}


class _Entry(NamedTuple):
    """A user's place in the list (the first five fields, compared in that order: kind, then extension, then the
    unique portal ID), kind and proposed accounts ({account id: reason}), before it is a Proposal. One tuple per
    user: at 5,000 users every object saved per user is fewer garbage collections in the request."""

    kind_order: int
    no_extension: bool
    extension_length: int  # extensions are digits: shorter first is numeric order
    extension: str
    username: str
    user: _User
    kind: str
    accounts: dict[int, str]


def _entry(user: _User, kind: str, accounts: dict[int, str]) -> _Entry:
    extension = user.extension or ""
    return _Entry(_KIND_ORDER[kind], not extension, len(extension), extension, user.username, user, kind, accounts)


_NO_ACCOUNTS: dict[int, str] = {}  # shared by the users without a proposal; never changed


class ProposalList(Sequence[Proposal]):
    """Every phone user's proposal in the page's order, with the counts per kind; each Proposal (its accounts'
    Candidates, sorted, and the users it shares its account with) is built only when read: a page of 100 rows
    costs 100 of them, whatever the number of users."""

    def __init__(self, entries: list[_Entry], accounts: dict[int, tuple], holders: dict[int, list[str]],
                 counts: dict[str, int]):
        self._entries = entries
        self._accounts = accounts
        self._holders = holders
        self.counts = counts  # every kind's, also in a list of one kind

    def of_kind(self, kind: str) -> "ProposalList":
        """The proposals of one kind (strong, name, ambiguous or none), in the same order."""
        return ProposalList([entry for entry in self._entries if entry.kind == kind], self._accounts, self._holders,
                            self.counts)

    def __len__(self) -> int:
        return len(self._entries)

    @overload
    def __getitem__(self, index: int) -> Proposal: ...

    @overload
    def __getitem__(self, index: slice) -> list[Proposal]: ...

    def __getitem__(self, index: int | slice) -> Proposal | list[Proposal]:
        if isinstance(index, slice):
            return [self._proposal(entry) for entry in self._entries[index]]
        return self._proposal(self._entries[index])

    def _proposal(self, entry: _Entry) -> Proposal:
        user = entry.user
        candidates = sorted((_candidate(self._accounts[pk], reason) for pk, reason in entry.accounts.items()),
                            key=lambda candidate: candidate.user_principal_name)
        shared: tuple[str, ...] = ()
        if entry.kind in (STRONG, NAME):
            holders = self._holders[candidates[0].contact_id]
            if len(holders) > 1:
                shared = tuple(name for name in holders if name != user.username)
        return Proposal(person_id=user.pk, username=user.username, extension=user.extension or "",
                        first_name=user.first_name, last_name=user.last_name, email=user.email, kind=entry.kind,
                        candidates=tuple(candidates), shared_with=shared)


def link_proposal_list(*, company: Company) -> ProposalList:
    """Every phone user of the company without an AAD account, strong proposals first, then name, ambiguous and
    none, each by extension.

    Strong: the user's e-mail (trimmed, any case) is an account's mail or UPN. Otherwise name: the first and last
    name equal one account's (directory.matching.keys.name_fold). Two or more accounts: ambiguous. Accounts that
    are linked to anyone, disabled or removed in AAD, or typed in are never proposed. A constant number of
    queries, whatever the number of users or directory entries: users, e-mail matches, names, name matches.
    Every user's kind is known (the counts, the order, a filter by kind, an account proposed to two users); the
    Proposals are built as they are read.
    """
    users = [_User(*row) for row in
             _unlinked_users(company).annotate(email_key=_email_key()).values_list(*_USER_COLUMNS)]
    accounts: dict[int, tuple] = {}
    strong = _strong_candidates(company, users, accounts)
    name_keys = {user.pk: name_key(user.first_name, user.last_name) for user in users if user.pk not in strong}
    named = accounts_named(company, {key for key in name_keys.values() if key is not None}, accounts)
    entries = []
    holders: dict[int, list[str]] = defaultdict(list)  # account id -> users it is the single proposal of
    counts = dict.fromkeys(KINDS, 0)
    for user in users:
        proposed = strong.get(user.pk)
        if proposed is None:
            key = name_keys[user.pk]
            ids = named.get(key) if key is not None else None
            proposed = dict.fromkeys(ids, "name") if ids else _NO_ACCOUNTS
        kind = _kind(proposed)
        counts[kind] += 1
        if kind in (STRONG, NAME):
            holders[next(iter(proposed))].append(user.username)
        entries.append(_entry(user, kind, proposed))
    entries.sort()
    return ProposalList(entries, accounts, holders, counts)


def link_proposals(*, company: Company) -> list[Proposal]:
    """link_proposal_list(), every Proposal built (matchaad; the page reads one page of the list)."""
    return list(link_proposal_list(company=company))


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
