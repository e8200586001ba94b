"""createmanager --company SLUG --login ID --name NAME --email EMAIL [--password P | CM_PASSWORD]"""
import os

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from directory.management.commands._errors import one_line
from directory.models import Company
from directory.services import manager_create


class Command(BaseCommand):
    help = "Create a CM portal manager. The password comes from --password or the CM_PASSWORD variable."

    def add_arguments(self, parser):
        parser.add_argument("--company", required=True, help="company slug")
        parser.add_argument("--login", required=True, help="login ID; signs in as LOGIN@SLUG")
        parser.add_argument("--name", required=True, help="display name, at most 24 characters")
        parser.add_argument("--email", required=True)
        parser.add_argument("--password", help="8 to 128 characters (prefer the CM_PASSWORD variable)")

    def handle(self, *args, company, login, name, email, password, **options):
        password = password or os.environ.get("CM_PASSWORD", "")
        if not password:
            raise CommandError("Give the password with --password or the CM_PASSWORD environment variable.")
        try:
            company_row = Company.objects.get(slug=company)
        except Company.DoesNotExist:
            raise CommandError(f"No company with slug “{company}”; create it with createcompany first.") from None
        try:
            person = manager_create(company=company_row, login=login, name=name, email=email, password=password)
        except ValidationError as error:
            raise one_line(error) from None
        self.stdout.write(f"Created manager {person.username}.")
