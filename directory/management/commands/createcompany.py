"""createcompany SLUG --name NAME [--timezone AREA/CITY]"""
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand

from directory.management.commands._errors import one_line
from directory.services import company_create


class Command(BaseCommand):
    help = "Create a company (its slug is the portal-ID suffix, e.g. cm1-vertical) with a site named Main."

    def add_arguments(self, parser):
        parser.add_argument("slug", help="portal domain: lower-case letters, digits and hyphens")
        parser.add_argument("--name", required=True, help="the company's display name")
        parser.add_argument("--timezone", default="UTC", help="IANA time zone, e.g. Asia/Seoul (default UTC)")

    def handle(self, *args, slug, name, timezone, **options):
        try:
            company = company_create(slug=slug, name=name, timezone=timezone)
        except ValidationError as error:
            raise one_line(error) from None
        self.stdout.write(f"Created company {company.slug} ({company.name}, {company.timezone}).")
