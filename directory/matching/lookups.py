"""Proposed links' look-ups in plain SQL: accounts by e-mail key and by name, one query whatever the users."""
import json
from collections import defaultdict
from collections.abc import Iterator
from typing import Any, NamedTuple

from django.db import connection, models

from directory.matching.keys import NameKey, name_fold
from directory.models import Company, Contact, Person

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
    """The columns of a Candidate (selectors._candidate's order)."""
    return ", ".join(f"{alias}.{n[name]}" for name in
                     ("id", "object_id", "first_name", "last_name", "email", "user_principal_name"))


def proposable_sql(n: dict[str, str], alias: str) -> tuple[str, list[Any]]:
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


def email_matches(company: Company, keys: list[str]) -> list[tuple]:
    """(account columns..., lower(mail), lower(UPN)) of proposable accounts whose mail or UPN, lower-cased by the
    database, is one of `keys`; one query, a probe per key of each (company, lower(column)) index (an account
    whose mail and UPN are both the key comes twice)."""
    n = _names()
    if connection.vendor == "postgresql":
        proposable, params = proposable_sql(n, "m")
        # COLLATE "C": the expression of the indexes (directory.models.PrefixSearchIndex).
        mail, upn = f'lower(c.{n["email"]}) COLLATE "C"', f'lower(c.{n["user_principal_name"]}) COLLATE "C"'
        branch = (f"SELECT {_account_columns(n, 'c')}, {mail} AS mail_key, {upn} AS upn_key, "  # noqa: S608
                  f"c.{n['synced']}, c.{n['aad_state']} FROM {n['contact']} c WHERE c.{n['company']} = %s AND ")
        sql = (f"SELECT {_account_columns(n, 'm')}, m.mail_key, m.upn_key "  # noqa: S608
               "FROM json_array_elements_text(%s::json) AS k(key) "
               f"CROSS JOIN LATERAL ({branch}{mail} = k.key UNION ALL {branch}{upn} = k.key) AS m WHERE {proposable}")
        return _fetch(sql, [_json(keys), company.pk, company.pk, *params])
    proposable, params = proposable_sql(n, "c")
    mail, upn = f"lower(c.{n['email']})", f"lower(c.{n['user_principal_name']})"
    branch = (f"SELECT {_account_columns(n, 'c')}, {mail}, {upn} FROM json_each(%s) AS k "  # noqa: S608
              f"CROSS JOIN {n['contact']} c WHERE c.{n['company']} = %s AND {proposable} AND ")
    params = [_json(keys), company.pk, *params]
    return _fetch(f"{branch}{mail} = k.value UNION ALL {branch}{upn} = k.value", params * 2)


class Spellings(NamedTuple):
    pairs: list[tuple[str, str]]  # (last name, first name) as stored
    lasts: dict[str, str]  # a last name as stored -> folded
    firsts: dict[str, str]  # a first name as stored -> folded


def spellings(company: Company, wanted: set[NameKey]) -> Spellings:
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
    return Spellings(pairs, folded_lasts, folded_firsts)


def accounts_named(company: Company, wanted: set[NameKey], accounts: dict[int, tuple]) -> dict[NameKey, list[int]]:
    """name key -> ids of the proposable accounts with that first and last name, for the wanted keys only; two
    queries. The accounts' columns go into `accounts` by id.

    Accents cannot be folded in SQL on both databases (and no index on lower(name) finds "Müller" for "muller"), so
    Python folds the distinct names (_spellings) and the database finds the entries with those names as stored:
    one probe per spelling of the (company, first_name, last_name) index.
    """
    if not wanted:
        return {}
    found = spellings(company, wanted)
    if not found.pairs:
        return {}
    n = _names()
    if connection.vendor == "postgresql":
        proposable, params = proposable_sql(n, "m")
        # OFFSET 0 keeps the subquery a probe per spelling (flattened, a join PostgreSQL may hash).
        sql = (f"SELECT {_account_columns(n, 'm')} FROM json_array_elements(%s::json) AS k(name) "  # noqa: S608
               f"CROSS JOIN LATERAL (SELECT {_account_columns(n, 'c')}, c.{n['synced']}, c.{n['aad_state']} "
               f"FROM {n['contact']} c WHERE c.{n['company']} = %s AND c.{n['last_name']} = k.name->>0 "
               f"AND c.{n['first_name']} = k.name->>1 OFFSET 0) AS m WHERE {proposable}")
    else:
        proposable, params = proposable_sql(n, "c")
        sql = (f"SELECT {_account_columns(n, 'c')} FROM json_each(%s) AS k CROSS JOIN {n['contact']} c "  # noqa: S608
               f"WHERE c.{n['company']} = %s AND c.{n['last_name']} = json_extract(k.value, '$[0]') "
               f"AND c.{n['first_name']} = json_extract(k.value, '$[1]') AND {proposable}")
    params = [_json(found.pairs), company.pk, *params]
    named: dict[NameKey, list[int]] = defaultdict(list)
    for row in _fetch(sql, params):
        accounts[row[0]] = row
        named[found.firsts[row[2]], found.lasts[row[3]]].append(row[0])
    return named
