"""linkaad --company SLUG --login ID (--aad UPN_OR_OBJECT_ID | --unlink)"""
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from directory.models import Company, Person
from directory.selectors import AadAccount, aad_contact_resolve
from directory.services import person_link_aad, person_unlink_aad


class Command(BaseCommand):
    help = (
        "Link a user or manager to a synced MS AAD account of their company (the same rules as the AAID ID "
        "dropdown: synced, active, not linked to anyone else), or remove the link with --unlink."
    )

    def add_arguments(self, parser):
        parser.add_argument("--company", required=True, help="company slug, e.g. cm1-vertical")
        parser.add_argument("--login", required=True, help="the person's portal ID without @SLUG, e.g. rich")
        action = parser.add_mutually_exclusive_group(required=True)
        action.add_argument("--aad", help="the AAD account's user principal name or object ID")
        action.add_argument("--unlink", action="store_true", help="remove the person's AAD link")

    def handle(self, *args, company, login, aad, unlink, **options):
        try:
            company_row = Company.objects.get(slug=company)
        except Company.DoesNotExist:
            raise CommandError(f"No company with slug “{company}”.") from None
        login = login.split("@", 1)[0]
        try:
            person = Person.objects.select_related("aad_contact").get(company=company_row, login=login)
        except Person.DoesNotExist:
            raise CommandError(f"No user or manager {login}@{company_row.slug}.") from None
        if unlink:
            if person.aad_contact_id is None:
                self.stdout.write(f"{person.username} has no AAD link; nothing to do.")
                return
            person_unlink_aad(person=person)
            self.stdout.write(f"Unlinked {person.username} from its AAD account.")
            return
        contact = aad_contact_resolve(company=company_row, value=aad)
        if contact is None:
            raise CommandError(
                f"No account synced from MS AAD with user principal name or object ID “{aad}” in "
                f"{company_row.slug}'s Company Directory; run a sync first or check the spelling."
            )
        try:
            person_link_aad(person=person, contact=contact)
        except ValidationError as error:
            raise CommandError(" ".join(" ".join(error.messages).split())) from None
        self.stdout.write(
            f"Linked {person.get_role_display().lower()} {person.username} to AAD account "
            f"{AadAccount.from_contact(contact).label} (object ID {contact.object_id})."
        )
