"""demo --microsoft var/demo-ms/demo.json: bin/run's demo, ready to look at (demo mode only; idempotent)."""
import json
import os
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from aadsync.connection import aad_connection_test
from aadsync.demo import real_tenants_in_use
from aadsync.forms import AadSettingsForm
from aadsync.models import AadSettings, SyncRun
from aadsync.services import Actor, aad_settings_get, aad_settings_update
from aadsync.sync import delta_link_drop, sync_company_now
from directory.demo import DEMO_MANAGER_LOGIN, DEMO_PASSWORD, DEMO_SLUG, DEMO_USERS, demo_company_seed
from directory.models import Company, Contact, Person
from directory.services import person_link_aad


class Command(BaseCommand):
    help = ("Demo mode (bin/run): seed the demo company on an empty database, point its MS AAD settings at the "
            "offline demo Microsoft, run the first look-up, and link the demo manager and user 27728 to demo "
            "Microsoft accounts. Refuses when another company's look-ups name a real tenant.")

    def add_arguments(self, parser):
        parser.add_argument("--microsoft", required=True, help="the demo Microsoft's demo.json (var/demo-ms/demo.json)")

    def handle(self, *args, **options):
        if not settings.DEMO_MODE:
            raise CommandError("manage.py demo runs only in demo mode (bin/run sets CMPORTAL_DEMO=1 and the demo "
                               "Microsoft's address); nothing was changed.")
        demo = self._read(Path(options["microsoft"]))
        real = real_tenants_in_use()
        if real:
            names = ", ".join(f"{slug} (tenant {tenant})" for slug, tenant in real)
            raise CommandError(
                f"Demo mode would send the look-ups and Microsoft sign-ins of {names} to the offline demo Microsoft. "
                "Start the portal with bin/run --no-demo to talk to Microsoft, or set those companies' User Look-Up "
                "Usage to Not Use first.")
        password = os.environ.get("CM_PASSWORD") or DEMO_PASSWORD
        if demo_company_seed(password=password) is not None:
            self.stdout.write(f"Seeded the demo company {DEMO_SLUG} (manager {DEMO_MANAGER_LOGIN}@{DEMO_SLUG}).")
        company = Company.objects.filter(slug=DEMO_SLUG).first()
        if company is None:
            self.stdout.write(f"No company {DEMO_SLUG} (this database has other companies): nothing to set up.")
            return
        if not self._configure(company, demo):
            return
        # As Test connection on the MS AAD page: the demo Microsoft answers, and the secret's expiry is shown.
        check = aad_connection_test(company=company)
        if check.error is not None:
            raise CommandError(f"The demo Microsoft refused the demo settings: {check.error.sentence}")
        self._first_lookup(company)
        self._link(company, demo)
        self.stdout.write(
            f"Demo ready: sign in as {DEMO_MANAGER_LOGIN}@{DEMO_SLUG} (password from CM_PASSWORD, default "
            f"{DEMO_PASSWORD}), or Sign in with Microsoft: type {DEMO_SLUG}, pick {demo['manager_account']}.")

    def _read(self, path: Path) -> dict:
        try:
            demo = json.loads(path.read_text())
        except (OSError, ValueError) as error:
            raise CommandError(f"Cannot read the demo Microsoft's {path} ({error}); is it running?") from None
        if demo.get("tenant_id") != settings.DEMO_TENANT_ID:
            raise CommandError(f"{path} names tenant {demo.get('tenant_id')}, but CMPORTAL_DEMO_TENANT_ID is "
                               f"{settings.DEMO_TENANT_ID}: export the demo Microsoft's env file again.")
        return demo

    def _configure(self, company: Company, demo: dict) -> bool:
        """MS AAD settings of the demo company: the demo tenant, Use, every day at 02:00:00. Never over settings a
        manager made for another tenant (their Not Use settings stay as they are)."""
        row = aad_settings_get(company=company)
        if row.tenant_id and row.tenant_id != demo["tenant_id"]:
            self.stdout.write(f"{company.slug} has MS AAD settings of its own (tenant {row.tenant_id}); left as "
                              "they are.")
            return False
        if row.use_lookup and row.client_id == demo["client_id"] and row.has_secret:
            self._forget_moved_position(company, row)
            return True
        data = {**AadSettingsForm.initial_from(row), "use_lookup": "use", "tenant_id": demo["tenant_id"],
                "client_id": demo["client_id"], "secret": demo["secret"]}
        if not row.tenant_id:
            data.update(period=AadSettings.Period.DAILY, exec_hour=2, exec_minute=0, exec_second=0)
        if not data.get("include_guests"):
            data.pop("include_guests", None)  # an unchecked box is an absent key in form data
        form = AadSettingsForm(data, has_secret=row.has_secret)
        if not form.is_valid():
            raise CommandError(f"The demo's MS AAD settings were refused: {form.errors.as_text()}")
        aad_settings_update(company=company, data=form.settings_data(), secret=demo["secret"],
                            actor=Actor(person=None, source="demo"))
        self.stdout.write(f"MS AAD of {company.slug}: Use, tenant {demo['tenant_id']} (the offline demo Microsoft).")
        return True

    def _forget_moved_position(self, company: Company, row: AadSettings) -> None:
        """A change position (deltaLink) is an address at the demo Microsoft: when it moved to another port since,
        the next look-up reads the full listing instead of refusing a link to a foreign host."""
        if row.delta_link and urlsplit(row.delta_link).netloc != urlsplit(settings.GRAPH_API_URL).netloc:
            delta_link_drop(company=company)

    def _first_lookup(self, company: Company) -> None:
        if SyncRun.objects.filter(company=company, status=SyncRun.Status.SUCCEEDED).exists():
            return
        run = sync_company_now(company=company, trigger=SyncRun.Trigger.COMMAND)
        if run.status != SyncRun.Status.SUCCEEDED:
            raise CommandError(f"The first look-up against the demo Microsoft failed: {run.error}")
        synced = Contact.objects.filter(company=company, synced=True).count()
        self.stdout.write(f"First look-up: {synced} directory entries from the demo Microsoft.")

    def _link(self, company: Company, demo: dict) -> None:
        """The demo manager and user 27728 take their demo Microsoft accounts (once: a manager may relink)."""
        pairs = ((DEMO_MANAGER_LOGIN, demo.get("manager_account")), (DEMO_USERS[0]["login"], demo.get("user_account")))
        for login, upn in pairs:
            person = Person.objects.filter(company=company, login=login).first()
            contact = Contact.objects.filter(company=company, synced=True, user_principal_name=upn).first()
            if person is None or contact is None or person.aad_contact_id or hasattr(contact, "linked_person"):
                continue
            try:
                person_link_aad(person=person, contact=contact)
            except ValidationError as error:
                self.stdout.write(f"{person.username} not linked to {upn}: {' '.join(error.messages)}")
            else:
                self.stdout.write(f"Linked {person.username} to the demo Microsoft account {upn}.")
