"""Reads for proposed links: every phone user without an AAD account, with the accounts the portal proposes."""
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace

from django.db import connection
from django.db.models import Count, Exists, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce, Collate, Lower, Trim

from directory.matching.keys import NameKey, name_fold, name_key
from directory.models import Company, Contact, Person

STRONG, NAME, AMBIGUOUS, NONE = "strong", "name", "ambiguous", "none"
KINDS = (STRONG, NAME, AMBIGUOUS, NONE)  # also the page's order
REASONS = {
    "mail": "e-mail = AAD mail",
    "upn": "e-mail = AAD user principal name",
    "name": "same first and last name",
}
# Rows per "pk IN (...)" query: far below SQLite's 32,766 and PostgreSQL's 65,535 parameters, and never reached by
# a realistic company (it bounds the name candidates of one page load, not the users or the directory).
ID_CHUNK = 10_000
_CANDIDATE_COLUMNS = ("pk", "object_id", "first_name", "last_name", "email", "user_principal_name")


@dataclass(frozen=True)
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


@dataclass(frozen=True)
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


def _in_chunks(ids: list[int], size: int = ID_CHUNK) -> Iterator[list[int]]:
    for start in range(0, len(ids), size):
        yield ids[start:start + size]


def _candidate(row: tuple, reason: str) -> Candidate:
    pk, object_id, first_name, last_name, email, upn = row[:6]
    return Candidate(pk, object_id, first_name, last_name, email, upn, reason)


def _strong_candidates(company: Company, users: list[dict]) -> dict[int, list[Candidate]]:
    """person pk -> accounts whose mail or UPN is the user's e-mail. One query: the users' e-mails go in as a
    subquery, and each side is matched on the (company, lower(column)) indexes."""
    by_key: dict[str, list[int]] = defaultdict(list)
    for user in users:
        if user["email_key"]:
            by_key[user["email_key"]].append(user["pk"])
    if not by_key:
        return {}
    keys = _unlinked_users(company).annotate(key=_email_key()).exclude(key="").values("key")
    rows = (
        _proposable(company)
        .annotate(mail_key=_lower_bytewise("email"), upn_key=_lower_bytewise("user_principal_name"))
        .filter(Q(mail_key__in=keys) | Q(upn_key__in=keys))
        .order_by("pk")
        .values_list(*_CANDIDATE_COLUMNS, "mail_key", "upn_key")
    )
    found: dict[int, dict[int, Candidate]] = defaultdict(dict)
    for row in rows:
        mail_key, upn_key = row[6], row[7]
        for key, reason in ((mail_key, "mail"), (upn_key, "upn")):
            for person_id in by_key.get(key, ()):
                found[person_id].setdefault(row[0], _candidate(row, reason))
    return {person_id: list(candidates.values()) for person_id, candidates in found.items()}


def _accounts_named(company: Company, wanted: set[NameKey]) -> dict[NameKey, list[Candidate]]:
    """name key -> proposable accounts with that first and last name, for the wanted keys only.

    Accents cannot be folded in SQL on both databases, so the company's names are read once (id, first, last:
    the (company, last_name, first_name) index covers them, no table rows are read) and folded here, cheaply
    because rows come sorted by last name and a last name no user has ends the row's work. Only the ids that
    match are then read in full (a second query), keeping only the proposable ones.
    """
    if not wanted:
        return {}
    wanted_last = {last for _first, last in wanted}
    matched: dict[int, NameKey] = {}
    previous_last, last_key = None, ""
    names = (
        Contact.objects.filter(company=company)
        .order_by("last_name", "first_name")
        .values_list("pk", "first_name", "last_name")
        .iterator(chunk_size=ID_CHUNK)
    )
    for pk, first_name, last_name in names:
        if last_name != previous_last:
            previous_last, last_key = last_name, name_fold(last_name)
        if last_key in wanted_last:
            key = (name_fold(first_name), last_key)
            if key in wanted:
                matched[pk] = key
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
    users = list(
        _unlinked_users(company)
        .annotate(email_key=_email_key())
        .values("pk", "username", "extension", "first_name", "last_name", "email", "email_key")
    )
    strong = _strong_candidates(company, users)
    by_name: dict[NameKey, list[dict]] = defaultdict(list)
    for user in users:
        key = name_key(user["first_name"], user["last_name"])
        if user["pk"] not in strong and key is not None:
            by_name[key].append(user)
    named = _accounts_named(company, set(by_name))
    proposals = []
    for user in users:
        candidates = strong.get(user["pk"])
        if candidates is None:
            key = name_key(user["first_name"], user["last_name"])
            candidates = named.get(key, []) if key is not None else []
        proposals.append(Proposal(
            person_id=user["pk"], username=user["username"], extension=user["extension"] or "",
            first_name=user["first_name"], last_name=user["last_name"], email=user["email"],
            kind=_kind(candidates), candidates=tuple(sorted(candidates, key=lambda c: c.user_principal_name)),
        ))
    return sorted(_mark_shared(proposals), key=_sort_key)


def proposal_counts(proposals: Iterable[Proposal]) -> dict[str, int]:
    counts = dict.fromkeys(KINDS, 0)
    for proposal in proposals:
        counts[proposal.kind] += 1
    return counts


def linkable_user_count(*, company: Company) -> int:
    """How many phone users without an AAD account have exactly one account by e-mail (the strong proposals),
    in one query for the MS AAD page after a look-up."""
    matches = (
        _proposable(company)
        .annotate(mail_key=_lower_bytewise("email"), upn_key=_lower_bytewise("user_principal_name"))
        .filter(Q(mail_key=OuterRef("email_key")) | Q(upn_key=OuterRef("email_key")))
        .order_by()
        .values("company")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return (
        _unlinked_users(company)
        .annotate(email_key=_email_key())
        .exclude(email_key="")
        .annotate(matches=Coalesce(Subquery(matches, output_field=IntegerField()), 0))
        .filter(matches=1)
        .count()
    )

