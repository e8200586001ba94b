"""Writes for companies and the people who log in."""
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction

from directory.models import Company, Person, Site

DEFAULT_SITE_NAME = "Main"


def _full_clean(obj, exclude=None) -> None:
    obj.full_clean(exclude=exclude, validate_constraints=True)


@transaction.atomic
def company_create(*, slug: str, name: str, timezone: str = "UTC") -> Company:
    company = Company(slug=slug, name=name, timezone=timezone)
    _full_clean(company)
    company.save()
    Site.objects.create(company=company, name=DEFAULT_SITE_NAME)
    return company


def manager_password_validate(password: str, person: Person | None = None) -> None:
    """Managers' passwords: 8 to 15 characters (as the CM screen says), plus Django's validators."""
    if not 8 <= len(password) <= 15:
        raise ValidationError("Use at least 8 characters and at most 15 characters.", code="password_length")
    validate_password(password, person)


@transaction.atomic
def manager_create(*, company: Company, login: str, name: str, email: str, password: str) -> Person:
    person = Person(
        company=company,
        role=Person.Role.MANAGER,
        login=login,
        display_name=name,
        email=email,
    )
    manager_password_validate(password, person)
    person.set_password(password)
    _full_clean(person, exclude=["username", "password"])
    person.save()
    return person
