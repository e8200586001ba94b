"""Writes for companies, the people who log in, their AAD links and the Company Directory's manual entries."""
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from directory.linking import (
    AAD_OWNED_FIELDS,
    aad_link_check,
    aad_values_apply,
    holder_message,
    person_holding_contact,
)
from directory.models import Company, Contact, Person, Site

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


@transaction.atomic
def manager_create(*, company: Company, login: str, name: str, email: str, password: str) -> Person:
    person = Person(
        company=company,
        role=Person.Role.MANAGER,
        login=login,
        display_name=name,
        email=email,
    )
    # The same rules for managers and users (settings.AUTH_PASSWORD_VALIDATORS: 8 to 128 characters, NIST SP
    # 800-63B); the old CM screen's 8-15 limit refused passphrases.
    person.username = f"{login}@{company.slug}"
    validate_password(password, person)
    person.set_password(password)
    _full_clean(person, exclude=["username", "password"])
    person.save()
    return person


# --- Linking a person to an MS AAD account --------------------------------------------------------------------


def _set_link(person: Person, contact: Contact | None) -> None:
    if contact is None:
        person.aad_contact = None
        return
    if contact.pk != person.aad_contact_id:
        aad_link_check(person=person, contact=contact)
    person.aad_contact = contact
    aad_values_apply(person, contact)


def _uniqueness_errors(person: Person) -> dict[str, str]:
    """Friendly messages for the rules the database holds: portal ID, extension and AAD link unique."""
    errors = {}
    others = Person.objects.filter(company_id=person.company_id).exclude(pk=person.pk)
    if person.login and others.filter(login=person.login).exists():
        errors["login"] = f"Portal ID {person.login}@{person.company.slug} is taken; choose another."
    if person.extension:
        holder = others.filter(extension=person.extension).first()
        if holder is not None:
            errors["extension"] = f"Extension {person.extension} is already used by {holder.username}."
    if person.aad_contact is not None:
        holder = person_holding_contact(contact=person.aad_contact, exclude=person)
        if holder is not None:
            errors["aad_contact"] = holder_message(holder)
    return errors


def _save_person(person: Person, update_fields=None) -> None:
    """Save in a savepoint; a unique constraint that another request won first becomes a form error."""
    try:
        with transaction.atomic():
            person.save(update_fields=update_fields)
    except IntegrityError:
        errors = _uniqueness_errors(person)
        if not errors:
            raise
        raise ValidationError(errors) from None


def person_link_aad(*, person: Person, contact: Contact) -> Person:
    """Link a user or manager to one synced, active AAD account of their company; AAD's values win at once,
    exactly as the next look-up would apply them (directory.linking.aad_person_values).

    The unique column is the final word when two requests race for the same account: the loser gets a
    ValidationError naming who has it.
    """
    previous = person.aad_contact
    _set_link(person, contact)
    try:
        _save_person(person, update_fields=["aad_contact", *AAD_OWNED_FIELDS, "display_name"])
    except ValidationError:
        person.aad_contact = previous
        raise
    return person


def person_unlink_aad(*, person: Person) -> Person:
    person.aad_contact = None
    person.save(update_fields=["aad_contact"])
    return person


# --- Phone users ----------------------------------------------------------------------------------------------

USER_FIELDS = (
    "extension", "first_name", "last_name", "site", "group_member_type", "login", "email", "package", "user_type",
)
_NULLABLE_USER_FIELDS = ("extension", "site")


class _Errors(dict):
    """Every refusal of one save, per field, so that the form shows them all at once."""

    def collect(self, error: ValidationError, field: str | None = None) -> None:
        if hasattr(error, "error_dict"):
            for name, messages in error.message_dict.items():
                self.setdefault(name, []).extend(messages)
        else:
            self.setdefault(field or "__all__", []).extend(error.messages)

    def raise_any(self) -> None:
        if self:
            raise ValidationError(dict(self))


def _check_person(person: Person, errors: _Errors, *, aad_contact: Contact | None, password: str) -> None:
    try:
        _set_link(person, aad_contact)
    except ValidationError as error:
        errors.collect(error)
    for field, message in _uniqueness_errors(person).items():
        if field not in errors:
            errors.setdefault(field, []).append(message)
    try:
        person.full_clean(exclude=["username", "password"], validate_unique=False, validate_constraints=False)
    except ValidationError as error:
        errors.collect(error)
    if password:
        person.username = f"{person.login}@{person.company.slug}"  # what save() stores: compared with the password
        try:
            validate_password(password, person)
        except ValidationError as error:
            errors.collect(error, "password")
    errors.raise_any()
    if password:
        person.set_password(password)


def _save_user(person: Person, *, data: dict, password: str, aad_contact: Contact | None) -> Person:
    for field in USER_FIELDS:
        value = data.get(field)
        if value in (None, ""):
            value = None if field in _NULLABLE_USER_FIELDS else ""
        setattr(person, field, value)
    errors = _Errors()
    if person.site is not None and person.site.company_id != person.company_id:
        errors["site"] = ["Pick one of your company's sites."]
    _check_person(person, errors, aad_contact=aad_contact, password=password)
    _save_person(person)
    return person


@transaction.atomic
def user_create(*, company: Company, data: dict, password: str, aad_contact: Contact | None = None) -> Person:
    """A phone user (Customer User portal), linked to an AAD account at once when one is given."""
    if not password:
        raise ValidationError({"password": "Give a password."})
    return _save_user(Person(company=company, role=Person.Role.USER), data=data, password=password,
                      aad_contact=aad_contact)


@transaction.atomic
def user_update(*, person: Person, data: dict, password: str = "", aad_contact: Contact | None = None) -> Person:
    """Change a phone user (an empty password keeps theirs); linking, relinking or unlinking their AAD
    account goes by the same rules, and None unlinks."""
    if person.role != Person.Role.USER:
        raise ValidationError("Only phone users are changed here.")
    return _save_user(person, data=data, password=password, aad_contact=aad_contact)


# --- Managers: My Information -------------------------------------------------------------------------------


@transaction.atomic
def manager_update_self(*, manager: Person, name: str, email: str, password: str = "",
                        aad_contact: Contact | None = None, aad_alert_emails: bool | None = None) -> Person:
    """A manager's own details. Only the signed-in manager reaches this: their AAD link is theirs to set, and so
    is whether they get the MS AAD alert e-mails (None: unchanged)."""
    if not manager.is_manager:
        raise ValidationError("Only managers have My Information in the CM portal.")
    manager.display_name = name
    manager.email = email
    if aad_alert_emails is not None:
        manager.aad_alert_emails = aad_alert_emails
    _check_person(manager, _Errors(), aad_contact=aad_contact, password=password)
    _save_person(manager)
    return manager


# --- Company Directory: manually entered entries --------------------------------------------------------------

CONTACT_FIELDS = ("first_name", "last_name", "email", "office_phone", "mobile_phone")
READ_ONLY_MESSAGE = "Entries synced from MS AAD are read-only here: change them in Azure AD and sync again."


def _check_manual_contact(contact: Contact) -> None:
    if not (contact.first_name or contact.last_name or contact.email):
        raise ValidationError("Give at least a first name, a last name or an e-mail.")
    contact.full_clean(validate_constraints=True)


def contact_create(*, company: Company, data: dict) -> Contact:
    contact = Contact(company=company, synced=False, object_id=None)
    for field in CONTACT_FIELDS:
        setattr(contact, field, data.get(field, ""))
    _check_manual_contact(contact)
    contact.save()
    return contact


def contact_update(*, contact: Contact, data: dict) -> Contact:
    if contact.synced:
        raise ValidationError(READ_ONLY_MESSAGE, code="synced")
    for field in CONTACT_FIELDS:
        setattr(contact, field, data.get(field, ""))
    _check_manual_contact(contact)
    contact.save(update_fields=list(CONTACT_FIELDS))
    return contact


def contact_delete(*, contact: Contact) -> None:
    if contact.synced:
        raise ValidationError(READ_ONLY_MESSAGE, code="synced")
    contact.delete()
