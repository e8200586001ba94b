"""demoseed: on an empty database, a demo company and manager so a fresh checkout can sign in."""
import os

from django.core.management.base import BaseCommand

from directory.models import Company
from directory.services import company_create, manager_create

DEMO_PASSWORD = "Demo-pass1"  # noqa: S105 - the documented demo sign-in, local only


class Command(BaseCommand):
    help = "Create company cm1-vertical and manager rich@cm1-vertical when no company exists yet (idempotent)."

    def handle(self, *args, **options):
        if Company.objects.exists():
            self.stdout.write("Companies exist already; nothing seeded.")
            return
        password = os.environ.get("CM_PASSWORD", DEMO_PASSWORD)
        company = company_create(slug="cm1-vertical", name="Vertical Inc", timezone="Asia/Seoul")
        manager_create(company=company, login="rich", name="rich", email="rich@vertical.com", password=password)
        self.stdout.write(
            "Seeded company cm1-vertical. Sign in at http://127.0.0.1:8000/login/ as rich@cm1-vertical "
            "with the password from CM_PASSWORD (default Demo-pass1)."
        )
