"""aadconfig --company SLUG --tenant-id GUID --client-id GUID [--secret-stdin] [--no-verify] [...]"""
import argparse
import sys

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from aadsync.connection import CONNECTED, aad_settings_verify, credentials_need_check, expiry_after_save
from aadsync.errors import SyncError
from aadsync.forms import AadSettingsForm
from aadsync.models import AadSettings
from aadsync.scope import scope_groups_for_save
from aadsync.services import Actor, aad_settings_get, aad_settings_update
from directory.models import Company

NO_VERIFY_NOTE = "Saved without checking (aadconfig --no-verify)."


def parse_time(value: str) -> tuple[int, int, int]:
    parts = value.split(":")
    if len(parts) != 3 or not all(part.isdigit() for part in parts):
        raise CommandError(f"--time must be HH:MM:SS, e.g. 02:00:00 (got “{value}”).")
    hour, minute, second = (int(part) for part in parts)
    if hour > 23 or minute > 59 or second > 59:
        raise CommandError(f"--time {value} is out of range: hour 00-23, minute 00-59, second 00-59.")
    return hour, minute, second


class Command(BaseCommand):
    help = "Set a company's MS AAD settings, as the MS AAD page does (the secret is read from standard input)."

    def add_arguments(self, parser):
        parser.add_argument("--company", required=True, help="company slug")
        parser.add_argument("--tenant-id", required=True, help="Directory (tenant) ID, a GUID")
        parser.add_argument("--client-id", required=True, help="Application (client) ID, a GUID")
        parser.add_argument("--secret-stdin", action="store_true", help="read the client secret from standard input")
        parser.add_argument("--period", choices=AadSettings.Period.values, help="look-up period")
        parser.add_argument("--weekday", type=int, choices=range(7), help="0=Monday ... 6=Sunday (weekly)")
        parser.add_argument("--month-day", type=int, choices=range(1, 32), help="1-31 (monthly)")
        parser.add_argument("--time", help="execution time HH:MM:SS in the company's time zone")
        parser.add_argument("--include-guests", action=argparse.BooleanOptionalAction, help="also sync guest accounts")
        parser.add_argument("--secret-expires-on", metavar="YYYY-MM-DD",
                            help="the secret's expiry date from the Azure portal (when the app may not read it)")
        scope = parser.add_mutually_exclusive_group()
        scope.add_argument("--groups", metavar="ID[,ID...]",
                           help="look up only the members of these groups (their object IDs; nested groups count)")
        scope.add_argument("--all-users", action="store_true", help="look up every user of the tenant (the default)")
        parser.add_argument("--no-verify", action="store_true",
                            help="save without asking Microsoft first whether the credentials work (recorded)")
        usage = parser.add_mutually_exclusive_group()
        usage.add_argument("--use", dest="use", action="store_const", const=True, help="User Look-Up Usage: Use")
        usage.add_argument("--not-use", dest="use", action="store_const", const=False, help="... Not Use")

    def handle(self, *args, **opts):
        try:
            company = Company.objects.get(slug=opts["company"])
        except Company.DoesNotExist:
            raise CommandError(f"No company with slug “{opts['company']}”.") from None
        row = aad_settings_get(company=company)
        data = AadSettingsForm.initial_from(row)
        data.update(tenant_id=opts["tenant_id"], client_id=opts["client_id"])
        if opts["use"] is not None:
            data["use_lookup"] = "use" if opts["use"] else "not-use"
        for name in ("period", "weekday", "month_day", "include_guests"):
            if opts[name] is not None:
                data[name] = opts[name]
        if opts["time"]:
            data["exec_hour"], data["exec_minute"], data["exec_second"] = parse_time(opts["time"])
        if opts["groups"]:
            data["scope"], data["scope_groups"] = "groups", opts["groups"].replace(",", "\n")
        elif opts["all_users"]:
            data["scope"], data["scope_groups"] = "all", ""
        if opts["secret_expires_on"]:
            data["secret_expires_on"] = opts["secret_expires_on"]
        secret = ""
        if opts["secret_stdin"]:
            secret = sys.stdin.readline().strip()
            if not secret:
                raise CommandError("--secret-stdin was given but standard input held no secret.")
        if not data["include_guests"]:
            data.pop("include_guests")  # an unchecked box is an absent key in form data
        data["secret"] = secret
        form = AadSettingsForm(data, has_secret=row.has_secret)
        if not form.is_valid():
            messages = [f"{form.fields[name].label if name in form.fields else name}: "
                        f"{' '.join(str(error) for error in errs)}" for name, errs in form.errors.items()]
            raise CommandError(" ".join(messages))
        check = None
        if not opts["no_verify"]:
            check = aad_settings_verify(company=company, data=form.settings_data(), secret=secret)
            if check is not None and not check.ok:
                assert check.error is not None
                hint = " (Microsoft could not confirm them right now: --no-verify saves them anyway.)" \
                    if check.unconfirmed else ""
                raise CommandError(f"Nothing saved. {check.error.sentence}{hint}")
        unchecked = opts["no_verify"] and credentials_need_check(row=row, data=form.settings_data(), secret=secret)
        settings_data = form.settings_data()
        try:
            settings_data["scope_groups"] = scope_groups_for_save(row=row, data=settings_data, secret=secret,
                                                                  verify=not opts["no_verify"])
        except SyncError as error:
            raise CommandError(f"Nothing saved. {error.sentence}") from None
        expiry = expiry_after_save(row=row, typed=form.cleaned_data["secret_expires_on"], secret_new=bool(secret),
                                   check=check, now=timezone.now())
        changed = aad_settings_update(
            company=company, data=settings_data, secret=secret, actor=Actor(person=None, source="aadconfig"),
            expiry=expiry, note=NO_VERIFY_NOTE if unchecked else "",
        )
        summary = ", ".join(changed) + " changed." if changed else "nothing changed."
        if changed and check is not None:
            summary += f" {CONNECTED}"
        self.stdout.write(f"MS AAD settings of {company.slug}: {summary}")
