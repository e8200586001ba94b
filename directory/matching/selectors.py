"""Reads for proposed links: every phone user without an AAD account, with the accounts the portal proposes."""
import json
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, overload

from django.db import connection, models
from django.db.models import Exists, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Collate, Lower, Trim

from directory.matching.keys import NameKey, name_fold, name_key
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


# The look-ups below are plain SQL (identifiers from the models, quoted by the backend; values always parameters,
# hence the noqa: S608). Each takes all its keys in one parameter (a JSON array: one query whatever the number of
# users) and probes an index once per key. Written as an IN, neither database reliably does that for thousands of
# keys: PostgreSQL hashes the keys and reads every entry of the company, lower-casing two columns of each (120-200
# ms at 100,000 entries), even with its planner costs lowered or sequential scans disabled. PostgreSQL gets a
# LATERAL subquery per key; SQLite a CROSS JOIN, which fixes its loop order (keys outside).

def _names() -> dict[str, str]:
    """Quoted names: "contact" and "person" (the tables) and the columns used below."""
    quote = connection.ops.quote_name
    names = {"contact": quote(Contact._meta.db_table), "person": quote(Person._meta.db_table)}
    for model, fields in ((Contact, ("id", "company", "object_id", "first_name", "last_name", "email",
                                     "user_principal_name", "synced", "aad_state")),
                          (Person, ("aad_contact",))):
        for name in fields:
            field = model._meta.get_field(name)
            assert isinstance(field, models.Field) and field.column
            names[name] = quote(field.column)
    return names


def _account_columns(n: dict[str, str], alias: str) -> str:
    """The columns of a Candidate (_candidate's order)."""
    return ", ".join(f"{alias}.{n[name]}" for name in
                     ("id", "object_id", "first_name", "last_name", "email", "user_principal_name"))


def _proposable_sql(n: dict[str, str], alias: str) -> tuple[str, list[Any]]:
    """_proposable() for the entry under `alias` (the company is each query's own condition), and its parameters.

    On SQLite a unary + keeps synced and aad_state from choosing the index: (company, synced, aad_state) has one
    column more in equality than the one each look-up probes, and SQLite would walk 90 % of the directory per key.
    """
    plus = "+" if connection.vendor == "sqlite" else ""
    sql = (f"{plus}{alias}.{n['synced']} = %s AND {alias}.{n['object_id']} IS NOT NULL "  # noqa: S608
           f"AND {plus}{alias}.{n['aad_state']} = %s "
           f"AND NOT EXISTS (SELECT 1 FROM {n['person']} p WHERE p.{n['aad_contact']} = {alias}.{n['id']})")
    return sql, [True, Contact.AadState.ACTIVE.value]


def _json(values: list) -> str:
    """The look-up's keys as one parameter: a JSON array (json_each on SQLite, json_array_elements on PostgreSQL,
    which also estimates 100 keys rather than thousands: no JIT compilation for a query of milliseconds)."""
    return json.dumps(values, ensure_ascii=False)


def _fetch(sql: str, params: list[Any]) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _stream(sql: str, params: list[Any]) -> Iterator[tuple]:
    """The rows one at a time, each garbage as soon as it is read (for rows that are not kept)."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        yield from cursor


def _email_matches(company: Company, keys: list[str]) -> list[tuple]:
    """(account columns..., lower(mail), lower(UPN)) of proposable accounts whose mail or UPN, lower-cased by the
    database, is one of `keys`; one query, a probe per key of each (company, lower(column)) index (an account
    whose mail and UPN are both the key comes twice)."""
    n = _names()
    if connection.vendor == "postgresql":
        proposable, params = _proposable_sql(n, "m")
        # COLLATE "C": the expression of the indexes (directory.models.PrefixSearchIndex).
        mail, upn = f'lower(c.{n["email"]}) COLLATE "C"', f'lower(c.{n["user_principal_name"]}) COLLATE "C"'
        branch = (f"SELECT {_account_columns(n, 'c')}, {mail} AS mail_key, {upn} AS upn_key, "  # noqa: S608
                  f"c.{n['synced']}, c.{n['aad_state']} FROM {n['contact']} c WHERE c.{n['company']} = %s AND ")
        sql = (f"SELECT {_account_columns(n, 'm')}, m.mail_key, m.upn_key "  # noqa: S608
               "FROM json_array_elements_text(%s::json) AS k(key) "
               f"CROSS JOIN LATERAL ({branch}{mail} = k.key UNION ALL {branch}{upn} = k.key) AS m WHERE {proposable}")
        return _fetch(sql, [_json(keys), company.pk, company.pk, *params])
    proposable, params = _proposable_sql(n, "c")
    mail, upn = f"lower(c.{n['email']})", f"lower(c.{n['user_principal_name']})"
    branch = (f"SELECT {_account_columns(n, 'c')}, {mail}, {upn} FROM json_each(%s) AS k "  # noqa: S608
              f"CROSS JOIN {n['contact']} c WHERE c.{n['company']} = %s AND {proposable} AND ")
    params = [_json(keys), company.pk, *params]
    return _fetch(f"{branch}{mail} = k.value UNION ALL {branch}{upn} = k.value", params * 2)


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
    for row in _email_matches(company, sorted(by_key)):
        accounts[row[0]] = row  # _candidate() reads the first six columns
        for key, reason in ((row[-1], "upn"), (row[-2], "mail")):  # mail last: it names the reason when both match
            for person_id in by_key.get(key, ()):
                found[person_id][row[0]] = reason
    return found


class _Spellings(NamedTuple):
    pairs: list[tuple[str, str]]  # (last name, first name) as stored
    lasts: dict[str, str]  # a last name as stored -> folded
    firsts: dict[str, str]  # a first name as stored -> folded


def _spellings(company: Company, wanted: set[NameKey]) -> _Spellings:
    """The (last name, first name) pairs, as stored, of the company's entries whose folded names are a wanted key,
    and what each of those names folds to.

    One query reads the distinct last names and the distinct first names of the company (each from a
    (company, name, ...) index alone): names repeat, so that is a fraction of the entries. Python folds each once;
    a wanted key's spellings are its last name's spellings times its first name's ("Müller", "MULLER" times
    "Émile", "Emile"), so the next query can find the entries by their names as stored.
    """
    n = _names()
    wanted_lasts = {last for _first, last in wanted}
    wanted_firsts = {first for first, _last in wanted}
    folded_lasts: dict[str, str] = {}
    folded_firsts: dict[str, str] = {}
    sql = (f"SELECT 0, {n['last_name']} FROM {n['contact']} WHERE {n['company']} = %s "  # noqa: S608
           f"GROUP BY {n['last_name']} UNION ALL "
           f"SELECT 1, {n['first_name']} FROM {n['contact']} WHERE {n['company']} = %s GROUP BY {n['first_name']}")
    for which, stored in _stream(sql, [company.pk, company.pk]):
        folded = name_fold(stored)
        if which == 0:
            if folded in wanted_lasts:
                folded_lasts[stored] = folded
        elif folded in wanted_firsts:
            folded_firsts[stored] = folded
    lasts: dict[str, list[str]] = defaultdict(list)
    firsts: dict[str, list[str]] = defaultdict(list)
    for stored, folded in folded_lasts.items():
        lasts[folded].append(stored)
    for stored, folded in folded_firsts.items():
        firsts[folded].append(stored)
    pairs = [(last, first) for first_key, last_key in wanted
             for last in lasts.get(last_key, ()) for first in firsts.get(first_key, ())]
    return _Spellings(pairs, folded_lasts, folded_firsts)


def _accounts_named(company: Company, wanted: set[NameKey], accounts: dict[int, tuple]) -> dict[NameKey, list[int]]:
    """name key -> ids of the proposable accounts with that first and last name, for the wanted keys only; two
    queries. The accounts' columns go into `accounts` by id.

    Accents cannot be folded in SQL on both databases (and no index on lower(name) finds "Müller" for "muller"), so
    Python folds the distinct names (_spellings) and the database finds the entries with those names as stored:
    one probe per spelling of the (company, first_name, last_name) index.
    """
    if not wanted:
        return {}
    spellings = _spellings(company, wanted)
    if not spellings.pairs:
        return {}
    n = _names()
    if connection.vendor == "postgresql":
        proposable, params = _proposable_sql(n, "m")
        # OFFSET 0 keeps the subquery a probe per spelling (flattened, a join PostgreSQL may hash).
        sql = (f"SELECT {_account_columns(n, 'm')} FROM json_array_elements(%s::json) AS k(name) "  # noqa: S608
               f"CROSS JOIN LATERAL (SELECT {_account_columns(n, 'c')}, c.{n['synced']}, c.{n['aad_state']} "
               f"FROM {n['contact']} c WHERE c.{n['company']} = %s AND c.{n['last_name']} = k.name->>0 "
               f"AND c.{n['first_name']} = k.name->>1 OFFSET 0) AS m WHERE {proposable}")
    else:
        proposable, params = _proposable_sql(n, "c")
        sql = (f"SELECT {_account_columns(n, 'c')} FROM json_each(%s) AS k CROSS JOIN {n['contact']} c "  # noqa: S608
               f"WHERE c.{n['company']} = %s AND c.{n['last_name']} = json_extract(k.value, '$[0]') "
               f"AND c.{n['first_name']} = json_extract(k.value, '$[1]') AND {proposable}")
    params = [_json(spellings.pairs), company.pk, *params]
    named: dict[NameKey, list[int]] = defaultdict(list)
    for row in _fetch(sql, params):
        accounts[row[0]] = row
        named[spellings.firsts[row[2]], spellings.lasts[row[3]]].append(row[0])
    return named


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
    named = _accounts_named(company, {key for key in name_keys.values() if key is not None}, accounts)
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
