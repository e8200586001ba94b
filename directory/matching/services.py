"""Linking many phone users to AAD accounts at once, each one through the single-link service."""
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction

from directory.matching.selectors import ID_CHUNK
from directory.models import Company, Contact, Person
from directory.services import person_link_aad


@dataclass(frozen=True)
class LinkChoice:
    """Link this phone user to the account with this object ID (empty: the manager picked none)."""

    person_id: int
    object_id: str


@dataclass(frozen=True)
class LinkFailure:
    person_id: int
    who: str  # the user's portal ID, or "user #<id>" when there is no such user
    message: str  # a sentence that says what to do next


@dataclass
class BulkLinkResult:
    linked: list[Person] = field(default_factory=list)
    failed: list[LinkFailure] = field(default_factory=list)


def _users_locked(company: Company, ids: list[int]) -> dict[int, Person]:
    """The company's phone users among ids, locked until the end of the transaction (PostgreSQL; SQLite's write
    transaction already excludes other writers), in id order so that two bulk links never wait on each other."""
    people: dict[int, Person] = {}
    for start in range(0, len(ids), ID_CHUNK):
        chunk = ids[start:start + ID_CHUNK]
        queryset = (
            Person.objects.select_for_update(of=("self",))
            .select_related("company")
            .filter(company=company, role=Person.Role.USER, pk__in=chunk)
            .order_by("pk")
        )
        people.update((person.pk, person) for person in queryset)
    return people


def _accounts(company: Company, object_ids: list[str]) -> dict[str, Contact]:
    accounts: dict[str, Contact] = {}
    for start in range(0, len(object_ids), ID_CHUNK):
        chunk = object_ids[start:start + ID_CHUNK]
        accounts.update(
            (contact.object_id, contact)
            for contact in Contact.objects.filter(company=company, object_id__in=chunk)
            if contact.object_id is not None
        )
    return accounts


def _refusal(choice: LinkChoice, person: Person | None, contact: Contact | None) -> str | None:
    """Why this row cannot be linked before the single-link service is even asked, or None."""
    if person is None:
        return "This is not a phone user of your company (any more); reload the page for the current list."
    if person.aad_contact_id is not None:
        upn = Contact.objects.filter(pk=person.aad_contact_id).values_list("user_principal_name", flat=True).first()
        return (f"{person.username} is already linked to AAD account {upn or 'another account'}; open the user "
                "on the User page to change the link.")
    if not choice.object_id:
        return (f"No AAD account was picked for {person.username}; pick one of the proposed accounts and "
                "confirm again.")
    if contact is None:
        return (f"The AAD account picked for {person.username} is no longer in your Company Directory; reload the "
                "page for the current proposals.")
    return None


@transaction.atomic
def users_link_aad(*, company: Company, choices: Sequence[LinkChoice]) -> BulkLinkResult:
    """Link each chosen phone user of the company to the chosen AAD account.

    Every link goes through directory.services.person_link_aad (the link rules, AAD wins, one account per
    person held by the database) in a savepoint of its own: a refused row (the account linked by another
    manager a moment ago, disabled meanwhile, ...) is reported with its sentence and the other rows still link.
    A user chosen twice is linked once.
    """
    unique: dict[int, LinkChoice] = {}
    for choice in choices:
        unique.setdefault(choice.person_id, choice)
    people = _users_locked(company, sorted(unique))
    accounts = _accounts(company, sorted({choice.object_id for choice in unique.values() if choice.object_id}))
    result = BulkLinkResult()
    for choice in unique.values():
        person, contact = people.get(choice.person_id), accounts.get(choice.object_id)
        refusal = _refusal(choice, person, contact)
        if refusal is not None or person is None or contact is None:
            who = person.username if person is not None else f"user #{choice.person_id}"
            result.failed.append(LinkFailure(choice.person_id, who, refusal or ""))
            continue
        try:
            with transaction.atomic():
                person_link_aad(person=person, contact=contact)
        except ValidationError as error:
            result.failed.append(LinkFailure(person.pk, person.username, " ".join(" ".join(error.messages).split())))
        else:
            result.linked.append(person)
    return result
