"""Linking a person to an AAD account: the link rules and "AAD wins", one copy for links and look-ups alike."""
from django.core.exceptions import ValidationError

from directory.models import Contact, Person

# What a linked person takes from their AAD account (a manager also takes their display name from it).
AAD_OWNED_FIELDS = ("first_name", "last_name", "email")
MANAGER_NAME_MAX = Person._meta.get_field("display_name").max_length  # 24, as the CM screen says
FIELD_LABELS = {"first_name": "First name", "last_name": "Last name", "email": "E-mail", "display_name": "Name"}


def aad_person_values(*, role: str, first_name: str, last_name: str, email: str) -> dict[str, str]:
    """AAD wins: the values a person linked to an AAD account with these values takes from it, the moment they
    are linked and again after every look-up. An empty AAD value keeps the person's own (a person keeps a name
    and an e-mail); a manager's display name is the account's full name, cut to 24 characters."""
    wanted = {field: value for field, value in
              (("first_name", first_name), ("last_name", last_name), ("email", email)) if value}
    if role == Person.Role.MANAGER:
        name = f"{first_name} {last_name}".strip()[:MANAGER_NAME_MAX].strip()
        if name:
            wanted["display_name"] = name
    return wanted


def aad_person_values_from(person: Person, contact: Contact) -> dict[str, str]:
    return aad_person_values(role=person.role, first_name=contact.first_name, last_name=contact.last_name,
                             email=contact.email)


def aad_values_apply(person: Person, contact: Contact) -> list[str]:
    """Give `person` the AAD account's values (in memory); the names of the fields that changed."""
    changed = []
    for field, value in aad_person_values_from(person, contact).items():
        if getattr(person, field) != value:
            setattr(person, field, value)
            changed.append(field)
    return changed


def aad_differences(*, person: Person, contact: Contact, shown: tuple[str, ...]) -> list[dict]:
    """What linking `person` to `contact` would change in the `shown` fields, for the page to show before saving."""
    return [
        {"field": field, "label": FIELD_LABELS[field], "current": getattr(person, field), "aad": value}
        for field, value in aad_person_values_from(person, contact).items()
        if field in shown and getattr(person, field) != value
    ]


def person_holding_contact(*, contact: Contact, exclude: Person | None = None) -> Person | None:
    """Who has linked this AAD account, if anyone (other than `exclude`)."""
    queryset = Person.objects.filter(aad_contact=contact)
    if exclude is not None and exclude.pk:
        queryset = queryset.exclude(pk=exclude.pk)
    return queryset.first()


def holder_message(holder: Person) -> str:
    return (
        f"This AAD account is already linked to {holder.get_role_display().lower()} {holder.username}; "
        "each AAD account can be linked only once. Pick another account, or unlink it there first."
    )


def aad_link_check(*, person: Person, contact: Contact) -> None:
    """The linking rules: same company, synced from AAD, active there, and nobody else has it."""
    if contact.company_id != person.company_id:
        raise ValidationError({"aad_contact": "That AAD account is not in your company's directory."}, code="company")
    if not contact.synced or not contact.object_id:
        raise ValidationError(
            {"aad_contact": "Only accounts synced from MS AAD (Sync = Yes) can be linked; this entry was typed in."},
            code="not_synced",
        )
    if contact.aad_state != Contact.AadState.ACTIVE:
        states = {Contact.AadState.DISABLED.value: "disabled in AAD",
                  Contact.AadState.OUT_OF_SCOPE.value: "outside the look-up's groups"}
        state = states.get(contact.aad_state, "removed from AAD")
        raise ValidationError(
            {"aad_contact": f"That AAD account is {state}; only active accounts can be linked."}, code="inactive"
        )
    holder = person_holding_contact(contact=contact, exclude=person)
    if holder is not None:
        raise ValidationError({"aad_contact": holder_message(holder)}, code="taken")
