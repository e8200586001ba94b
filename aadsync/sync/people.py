"""Linked people follow AAD: after every run, linked managers and users take their AAD account's values."""
from __future__ import annotations

from directory.linking import aad_person_values
from directory.models import Company, Person

PERSON_FIELDS = ["first_name", "last_name", "email", "display_name"]


def person_follow_contacts(*, company: Company, chunk: int = 2000) -> int:
    """One pass over the company's linked people at the end of every run (incremental runs too, so a local edit is
    undone even when the account did not change), updating only those who differ. The values are exactly those a
    link applies at once (directory.linking.aad_person_values): linking and look-ups never disagree."""
    changed: list[Person] = []
    count = 0
    people = Person.objects.filter(company=company, aad_contact__synced=True).order_by().values_list(
        "pk", "role", "first_name", "last_name", "email", "display_name",
        "aad_contact__first_name", "aad_contact__last_name", "aad_contact__email",
    )
    for pk, role, first_name, last_name, email, display_name, aad_first, aad_last, aad_email in people.iterator(
            chunk_size=chunk):
        current = {"first_name": first_name, "last_name": last_name, "email": email, "display_name": display_name}
        wanted = aad_person_values(role=role, first_name=aad_first, last_name=aad_last, email=aad_email)
        if any(current[name] != value for name, value in wanted.items()):
            changed.append(Person(pk=pk, **{**current, **wanted}))
        if len(changed) >= chunk:
            Person.objects.bulk_update(changed, PERSON_FIELDS)
            count, changed = count + len(changed), []
    if changed:
        Person.objects.bulk_update(changed, PERSON_FIELDS)
    return count + len(changed)
