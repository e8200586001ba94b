"""Directory rows for tests: synced entries as the sync engine would write them, and typed-in ones."""
import itertools
import uuid

from django.utils import timezone

from directory.models import Contact

_numbers = itertools.count(1)


def synced_contact(company, first_name="Minsu", last_name="Kim", *, email=None, upn=None, object_id=None,
                   aad_state=Contact.AadState.ACTIVE, **extra) -> Contact:
    n = next(_numbers)
    login = f"{first_name}.{last_name}{n}".lower().replace(" ", "")
    return Contact.objects.create(
        company=company,
        first_name=first_name,
        last_name=last_name,
        email=f"{login}@vertical.com" if email is None else email,
        user_principal_name=f"{login}@vertical.onmicrosoft.com" if upn is None else upn,
        object_id=object_id or str(uuid.uuid4()),
        synced=True,
        aad_state=aad_state,
        last_synced_at=timezone.now(),
        **extra,
    )


def manual_contact(company, first_name="Hana", last_name="Lee", **extra) -> Contact:
    return Contact.objects.create(company=company, first_name=first_name, last_name=last_name, **extra)


def phone_users(company, rows: list[dict]) -> list:
    """Many phone users at once, without hashing a password for each (they never sign in in these tests).

    Each row gives login and, optionally, extension, first_name, last_name and email."""
    from directory.models import Person

    site = company.sites.first()
    return Person.objects.bulk_create([
        Person(company=company, role=Person.Role.USER, username=f"{row['login']}@{company.slug}", password="!",
               site=site, **{"first_name": "", "last_name": "", "email": "", **row})
        for row in rows
    ])
