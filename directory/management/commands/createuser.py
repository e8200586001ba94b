"""createuser --company SLUG --extension N --first F --last L --email E [--portal-id LOGIN] [--site NAME]"""
import os

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from directory.forms import UserForm
from directory.management.commands._errors import one_line
from directory.models import Company, Person
from directory.services import user_create

# The option (or variable) an operator gives for each field of the User page's form, for error lines.
OPTION_NAMES = {
    "extension": "--extension", "first_name": "--first", "last_name": "--last", "email": "--email",
    "login": "--portal-id", "site": "--site", "group_member_type": "--group-member-type", "package": "--package",
    "user_type": "--user-type", "password": "CM_PASSWORD", "password_confirm": "CM_PASSWORD",
}


class Command(BaseCommand):
    help = (
        "Create a phone user (Customer User portal) under the User page's rules. The password comes from the "
        "CM_PASSWORD environment variable. Link an AAD account afterwards with linkaad or matchaad."
    )

    def add_arguments(self, parser):
        parser.add_argument("--company", required=True, help="company slug, e.g. cm1-vertical")
        parser.add_argument("--extension", required=True, help="2 to 10 digits")
        parser.add_argument("--first", required=True, help="first name")
        parser.add_argument("--last", required=True, help="last name")
        parser.add_argument("--email", required=True)
        parser.add_argument("--portal-id", help="sign-in ID without @SLUG (default: the extension)")
        parser.add_argument("--site", help="site name (default: the company's first site)")
        parser.add_argument("--group-member-type", choices=Person.GroupMemberType.values, default="single")
        parser.add_argument("--package", choices=Person.Package.values, default="basic")
        parser.add_argument("--user-type", choices=Person.UserType.values, default="normal")

    def handle(self, *args, company, extension, first, last, email, portal_id, site, group_member_type, package,
               user_type, **options):
        password = os.environ.get("CM_PASSWORD", "")
        if not password:
            raise CommandError("Give the user's password in the CM_PASSWORD environment variable.")
        try:
            company_row = Company.objects.get(slug=company)
        except Company.DoesNotExist:
            raise CommandError(f"No company with slug “{company}”; create it with createcompany first.") from None
        sites = company_row.sites.all()
        site_row = sites.filter(name=site).first() if site else sites.first()
        if site_row is None:
            names = ", ".join(sites.values_list("name", flat=True)) or "none"
            raise CommandError(f"No site named “{site}” in {company_row.slug}; its sites are: {names}.")
        form = UserForm({
            "extension": extension, "first_name": first, "last_name": last, "site": site_row.pk,
            "group_member_type": group_member_type, "login": portal_id or extension, "password": password,
            "password_confirm": password, "email": email, "aad_contact": "", "package": package,
            "user_type": user_type,
        }, company=company_row)
        if not form.is_valid():
            raise one_line(ValidationError(form.errors.as_data()), OPTION_NAMES)
        try:
            person = user_create(company=company_row, data=form.user_data(), password=password)
        except ValidationError as error:
            raise one_line(error, OPTION_NAMES) from None
        self.stdout.write(f"Created user {person.username} (extension {person.extension}, site {site_row.name}).")
