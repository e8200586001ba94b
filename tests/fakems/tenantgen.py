"""Realistic Graph users for a fake tenant: nulls, phones, guests, disabled accounts, odd names, longest values."""
from __future__ import annotations

import random
import unicodedata
import uuid

FIRST_NAMES = [
    "Minsu", "Jiwoo", "Anna", "James", "Maria", "Wei", "Fatima", "Olga", "Liam", "Sofia", "Noah", "Chloé",
    "José", "Zoë", "Øyvind", "Łukasz", "Ngọc", "Søren", "Åsa", "Renée", "Björn", "Mañuel", "Siobhán",
    "민수", "美咲", "Дмитрий", "Αλέξανδρος", "أحمد", "Ólafur", "Dvořák", "Ümit", "Jean-Luc", "Mary Ann",
]
LAST_NAMES = [
    "Kim", "Lee", "Park", "Smith", "Jones", "García", "Müller", "Nguyễn", "Kowalski", "O'Brien", "Ødegaard",
    "Dubois", "Rossi", "Yılmaz", "Ivanova", "Tanaka", "Silva", "van der Berg", "de la Cruz", "Ahn-Kim",
    "김", "山田", "Смирнов", "Παπαδόπουλος", "Haddad", "Šťastný", "Þórsson", "D'Angelo",
]
# Names people really type into AAD that a page must escape, not interpret.
MARKUP_NAMES = [
    ("<script>alert(1)</script>", "Tester"),
    ("Robert'); DROP TABLE contacts;--", "Tables"),
    ("Anne & Co", "<b>Bold</b>"),
    ('"Quoted"', "{{ template }}"),
]
MAX_NAME = 64
MAX_UPN = 113
MAX_MAIL = 256


def ascii_slug(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    slug = "".join(ch for ch in plain if ch.isalnum())
    return slug or "user"


def new_object_id(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def make_user(
    *,
    object_id: str | None = None,
    given_name: str | None = "Ada",
    surname: str | None = "Lovelace",
    upn: str | None = None,
    mail: str | None = "",
    business_phones: list[str] | None = None,
    mobile_phone: str | None = None,
    account_enabled: bool = True,
    user_type: str = "Member",
    domain: str = "contoso.onmicrosoft.com",
    display_name: str | None = None,
    **extra,
) -> dict:
    """One Graph user with every property the portal reads (and a few it does not ask for)."""
    object_id = object_id or str(uuid.uuid4())
    local = f"{ascii_slug(given_name or 'user')}.{ascii_slug(surname or object_id[:8])}"
    upn = upn or f"{local}@{domain}"
    user = {
        "id": object_id,
        "userPrincipalName": upn,
        "displayName": display_name or " ".join(p for p in (given_name, surname) if p) or upn,
        "givenName": given_name,
        "surname": surname,
        "mail": upn if mail == "" else mail,
        "businessPhones": list(business_phones or []),
        "mobilePhone": mobile_phone,
        "accountEnabled": account_enabled,
        "userType": user_type,
        "jobTitle": None,
        "officeLocation": None,
        "preferredLanguage": None,
    }
    user.update(extra)
    return user


def make_guest(*, given_name="Gina", surname="Guest", home_mail="gina.guest@gmail.com",
               domain="contoso.onmicrosoft.com", **extra) -> dict:
    """A B2B guest: userType Guest and a UPN with #EXT#."""
    upn = home_mail.replace("@", "_") + "#EXT#@" + domain
    return make_user(given_name=given_name, surname=surname, upn=upn, mail=home_mail, user_type="Guest",
                     domain=domain, **extra)


def generate_users(
    count: int,
    *,
    seed: int = 1,
    domain: str = "contoso.onmicrosoft.com",
) -> list[dict]:
    """`count` users, deterministic for a seed. Every kind of awkward value appears in any tenant of 20+ users:
    user n is a guest when n % 20 == 7 and disabled when n % 20 == 8 (5 % each)."""
    rng = random.Random(seed)
    users = []
    for n in range(count):
        kind = n % 20  # a fixed slot for each awkward case, so small tenants still hold them all
        given = rng.choice(FIRST_NAMES)
        sur = rng.choice(LAST_NAMES)
        phones = [f"+82 2 {rng.randint(1000, 9999)} {rng.randint(1000, 9999)}"]
        mobile = f"+82 10 {rng.randint(1000, 9999)} {rng.randint(1000, 9999)}"
        local = f"{ascii_slug(given)}.{ascii_slug(sur)}{n}"
        upn = f"{local}@{domain}"
        mail = upn
        if kind == 1:  # no mailbox, no phones
            mail, phones, mobile = None, [], None
        elif kind == 2:  # a room or service account: no given name or surname
            given, sur = None, None
        elif kind == 3:  # several business phones (Graph returns a list; the first one counts)
            phones = [*phones, f"+82 31 {rng.randint(100, 999)} {rng.randint(1000, 9999)}"]
        elif kind == 4:  # the longest values Graph allows
            given = ("Maximilian" * 7)[:MAX_NAME]
            sur = ("Wolfeschlegelsteinhausen" * 3)[:MAX_NAME]
            upn = (f"{n}." + "x" * MAX_UPN)[: MAX_UPN - len(domain) - 1] + "@" + domain
            mail = (f"{n}." + "m" * MAX_MAIL)[: MAX_MAIL - len(domain) - 1] + "@" + domain
        elif kind == 5:  # markup in names
            given, sur = MARKUP_NAMES[(n // 20) % len(MARKUP_NAMES)]
        elif kind == 6:
            phones, mobile = [], None
        user = make_user(
            object_id=new_object_id(rng),
            given_name=given,
            surname=sur,
            upn=upn,
            mail=mail,
            business_phones=phones,
            mobile_phone=mobile,
            domain=domain,
        )
        if kind == 7:
            home = f"{local}@{rng.choice(['gmail.com', 'outlook.com', 'partner.example'])}"
            user.update(userPrincipalName=home.replace("@", "_") + "#EXT#@" + domain, mail=home, userType="Guest")
        elif kind == 8:
            user["accountEnabled"] = False
        users.append(user)
    return users
