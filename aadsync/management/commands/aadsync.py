"""aadsync --company SLUG [--full]: run one look-up now and print one summary line (exit 1 with the sentence)."""
from django.core.management.base import BaseCommand, CommandError

from aadsync.models import SyncRun
from aadsync.runs import SyncAlreadyRunning
from aadsync.selectors import account_changes
from aadsync.sync import sync_company_now
from directory.models import Company


def summary_line(run: SyncRun) -> str:
    seconds = run.duration_seconds or 0.0
    what = f"{run.mode}, preview: nothing changed" if run.preview else run.mode
    return f"{run.company.slug} ({what}): {run.counts_sentence[:-1]}; {run.pages_read} pages in {seconds:.2f} s"


def preview_lines(run: SyncRun) -> list[str]:
    """The accounts a look-up would change (the preview's first lines), one a line."""
    lines = []
    for change in account_changes(run=run):
        fields = "; ".join(f"{name}: {old!r} -> {new!r}" for name, (old, new) in (change.fields or {}).items())
        lines.append(f"  {change.get_kind_display()}: {change.user_principal_name or change.object_id}"
                     + (f" ({fields})" if fields else ""))
    return lines


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
            "--preview",
            action="store_true",
            help="read Microsoft as a look-up would and print what it would change, changing nothing",
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
                preview=opts["preview"],
            )
        except SyncAlreadyRunning as exc:
            raise CommandError(str(exc)) from None
        if run.status != SyncRun.Status.SUCCEEDED:
            raise CommandError(run.error or f"The look-up ended {run.status}.")
        self.stdout.write(summary_line(run))
        if run.preview:
            for line in preview_lines(run):
                self.stdout.write(line)
        if run.notice:  # e.g. removals held: said on stderr, so that stdout stays one line
            self.stderr.write(run.notice)
