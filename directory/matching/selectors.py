"""Reads for proposed links: every phone user without an AAD account, with the accounts the portal proposes."""
import json
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from typing import Any, NamedTuple, TypeVar

from django.db import connection, models
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


# The look-ups below are plain SQL (identifiers from the models, quoted by the backend; values always parameters,
# hence the noqa: S608). Each takes all its keys in one parameter (a PostgreSQL array, a JSON array on SQLite: one
# query whatever the number of users) and probes an index once per key. Written as an IN, neither database reliably
# does that for thousands of keys: PostgreSQL hashes the keys and reads every entry of the company, lower-casing
# two columns of each (120-200 ms at 100,000 entries), even with its planner costs lowered. PostgreSQL gets a
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


def _fetch(sql: str, params: list[Any]) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


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
        sql = (f"SELECT {_account_columns(n, 'm')}, m.mail_key, m.upn_key FROM unnest(%s::text[]) AS k(key) "  # noqa: S608
               f"CROSS JOIN LATERAL ({branch}{mail} = k.key UNION ALL {branch}{upn} = k.key) AS m WHERE {proposable}")
        return _fetch(sql, [keys, company.pk, company.pk, *params])
    proposable, params = _proposable_sql(n, "c")
    mail, upn = f"lower(c.{n['email']})", f"lower(c.{n['user_principal_name']})"
    branch = (f"SELECT {_account_columns(n, 'c')}, {mail}, {upn} FROM json_each(%s) AS k "  # noqa: S608
              f"CROSS JOIN {n['contact']} c WHERE c.{n['company']} = %s AND {proposable} AND ")
    params = [json.dumps(keys, ensure_ascii=False), company.pk, *params]
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


def _strong_candidates(company: Company, users: list[_User]) -> dict[int, list[Candidate]]:
    """person pk -> accounts whose mail or UPN is the user's e-mail (trimmed, any case); one query."""
    by_key: dict[str, list[int]] = defaultdict(list)
    for user in users:
        if user.email_key:
            by_key[user.email_key].append(user.pk)
    if not by_key:
        return {}
    found: dict[int, dict[int, Candidate]] = defaultdict(dict)
    for row in _email_matches(company, sorted(by_key)):
        for key, reason in ((row[-1], "upn"), (row[-2], "mail")):  # mail last: it names the reason when both match
            for person_id in by_key.get(key, ()):
                found[person_id][row[0]] = _candidate(row, reason)
    return {person_id: list(candidates.values()) for person_id, candidates in found.items()}


def _spellings(company: Company, wanted: set[NameKey]) -> list[tuple[str, str]]:
    """The (last name, first name) pairs, as stored, of the company's entries whose folded names are a wanted key.

    One query reads the distinct last names and the distinct first names of the company (each from a
    (company, name, ...) index alone): names repeat, so that is a fraction of the entries. Python folds each once;
    a wanted key's spellings are its last name's spellings times its first name's ("Müller", "MULLER" times
    "Émile", "Emile"), so the next query can find the entries by their names as stored.
    """
    n = _names()
    wanted_lasts = {last for _first, last in wanted}
    wanted_firsts = {first for first, _last in wanted}
    lasts: dict[str, list[str]] = defaultdict(list)
    firsts: dict[str, list[str]] = defaultdict(list)
    sql = (f"SELECT 0, {n['last_name']} FROM {n['contact']} WHERE {n['company']} = %s "  # noqa: S608
           f"GROUP BY {n['last_name']} UNION ALL "
           f"SELECT 1, {n['first_name']} FROM {n['contact']} WHERE {n['company']} = %s GROUP BY {n['first_name']}")
    for which, stored in _fetch(sql, [company.pk, company.pk]):
        folded = name_fold(stored)
        if which == 0:
            if folded in wanted_lasts:
                lasts[folded].append(stored)
        elif folded in wanted_firsts:
            firsts[folded].append(stored)
    return [(last, first) for first_key, last_key in wanted
            for last in lasts.get(last_key, ()) for first in firsts.get(first_key, ())]


def _accounts_named(company: Company, wanted: set[NameKey]) -> dict[NameKey, list[Candidate]]:
    """name key -> proposable accounts with that first and last name, for the wanted keys only; two queries.

    Accents cannot be folded in SQL on both databases (and no index on lower(name) finds "Müller" for "muller"), so
    Python folds the distinct names (_spellings) and the database finds the entries with those names as stored:
    one probe per spelling of the (company, first_name, last_name) index.
    """
    if not wanted:
        return {}
    spellings = _spellings(company, wanted)
    if not spellings:
        return {}
    n = _names()
    if connection.vendor == "postgresql":
        proposable, params = _proposable_sql(n, "m")
        # OFFSET 0 keeps the subquery a probe per spelling (flattened, a join PostgreSQL may hash).
        sql = (f"SELECT {_account_columns(n, 'm')} FROM unnest(%s::text[], %s::text[]) AS k(last, first) "  # noqa: S608
               f"CROSS JOIN LATERAL (SELECT {_account_columns(n, 'c')}, c.{n['synced']}, c.{n['aad_state']} "
               f"FROM {n['contact']} c WHERE c.{n['company']} = %s AND c.{n['last_name']} = k.last "
               f"AND c.{n['first_name']} = k.first OFFSET 0) AS m WHERE {proposable}")
        params = [[last for last, _first in spellings], [first for _last, first in spellings], company.pk, *params]
    else:
        proposable, params = _proposable_sql(n, "c")
        sql = (f"SELECT {_account_columns(n, 'c')} FROM json_each(%s) AS k CROSS JOIN {n['contact']} c "  # noqa: S608
               f"WHERE c.{n['company']} = %s AND c.{n['last_name']} = json_extract(k.value, '$[0]') "
               f"AND c.{n['first_name']} = json_extract(k.value, '$[1]') AND {proposable}")
        params = [json.dumps(spellings, ensure_ascii=False), company.pk, *params]
    accounts: dict[NameKey, list[Candidate]] = defaultdict(list)
    for row in _fetch(sql, params):
        key = name_key(row[2], row[3])
        if key is not None:
            accounts[key].append(_candidate(row, "name"))
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
