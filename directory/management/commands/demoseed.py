"""demoseed: on an empty database, a demo company, manager and phone users so a fresh checkout can sign in."""
import os

from django.core.management.base import BaseCommand

from directory.demo import DEMO_PASSWORD, demo_company_seed


class Command(BaseCommand):
    help = ("Create company cm1-vertical, manager rich@cm1-vertical and phone users 27728 and 27729 when no company "
            "exists yet (idempotent). The password is CM_PASSWORD, or Demo-pass1.")

    def handle(self, *args, **options):
        company = demo_company_seed(password=os.environ.get("CM_PASSWORD") or DEMO_PASSWORD)
        if company is None:
            self.stdout.write("Companies exist already; nothing seeded.")
            return
        self.stdout.write(
            f"Seeded company {company.slug}: sign in as rich@{company.slug} with the password from CM_PASSWORD "
            "(default Demo-pass1)."
        )
