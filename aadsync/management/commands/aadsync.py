"""aadsync --company SLUG [--full]: run one look-up now and print one summary line (exit 1 with the sentence)."""
from django.core.management.base import BaseCommand, CommandError

from aadsync.models import SyncRun
from aadsync.runs import SyncAlreadyRunning
from aadsync.sync import sync_company_now
from directory.models import Company


def summary_line(run: SyncRun) -> str:
    seconds = run.duration_seconds or 0.0
    return f"{run.company.slug} ({run.mode}): {run.counts_sentence[:-1]}; {run.pages_read} pages in {seconds:.2f} s"


class Command(BaseCommand):
    help = "Run one MS AAD look-up for a company now (Microsoft Graph -> Company Directory)."

    def add_arguments(self, parser):
        parser.add_argument("--company", required=True, help="company slug")
        parser.add_argument(
            "--full",
            action="store_true",
            help="drop the stored change position and read the full listing (a full re-sync)",
        )
        parser.add_argument(
            "--allow-removals",
            action="store_true",
            help="apply removals even when more than the safety limit (20 %%) of synced entries would go",
        )

    def handle(self, *args, **opts):
        try:
            company = Company.objects.get(slug=opts["company"])
        except Company.DoesNotExist:
            raise CommandError(f"No company with slug “{opts['company']}”.") from None
        try:
            run = sync_company_now(
                company=company,
                trigger=SyncRun.Trigger.COMMAND,
                allow_removals=opts["allow_removals"],
                full=opts["full"],
            )
        except SyncAlreadyRunning as exc:
            raise CommandError(str(exc)) from None
        if run.status != SyncRun.Status.SUCCEEDED:
            raise CommandError(run.error or f"The look-up ended {run.status}.")
        self.stdout.write(summary_line(run))
        if run.notice:  # e.g. removals held: said on stderr, so that stdout stays one line
            self.stderr.write(run.notice)
