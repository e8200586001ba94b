"""A look-up's own page in Sync History: what it did to each account (searchable, paginated) and its CSV."""
import csv
from collections.abc import Iterator

from django.core.paginator import Paginator
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from aadsync.models import SyncRun
from aadsync.selectors import account_changes
from aadsync.sync.mapping import FIELD_LABELS
from directory.csv_safety import spreadsheet_safe
from directory.permissions import manager_required

LINES_PER_PAGE = 100
CSV_HEADER = ("change", "user_principal_name", "name", "object_id", "field", "old_value", "new_value")



def _run_of(request, pk: int) -> SyncRun:
    run = SyncRun.objects.filter(company=request.user.company, pk=pk).select_related("requested_by").first()
    if run is None:
        raise Http404("No such look-up in your company's history.")
    return run


@manager_required
@require_GET
def run_page(request, pk: int):
    run = _run_of(request, pk)
    search = request.GET.get("q", "")[:100].strip()
    page = Paginator(account_changes(run=run, search=search), LINES_PER_PAGE).get_page(request.GET.get("page"))
    lines = [(line, [(FIELD_LABELS.get(field, field), old, new) for field, (old, new) in (line.fields or {}).items()])
             for line in page.object_list]
    return render(request, "aadsync/run.html", {
        "run": run, "page": page, "lines": lines, "q": search, "company": request.user.company,
        "menu": "sync-history",
    })


class _Echo:
    def write(self, value: str) -> str:
        return value


def _csv_lines(changes) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow(CSV_HEADER)
    for change in changes.iterator(chunk_size=2000):
        base = [change.get_kind_display(), change.user_principal_name, change.name, change.object_id]
        if not change.fields:
            yield writer.writerow([spreadsheet_safe(str(value)) for value in [*base, "", "", ""]])
            continue
        for field, (old, new) in change.fields.items():
            row = [*base, FIELD_LABELS.get(field, field), old, new]
            yield writer.writerow([spreadsheet_safe(str(value)) for value in row])


@manager_required
@require_GET
def run_changes_csv(request, pk: int):
    """Every line of the run (the search applies), one CSV row per changed field; formula-like cells neutralised."""
    run = _run_of(request, pk)
    changes = account_changes(run=run, search=request.GET.get("q", "")[:100].strip())
    response = StreamingHttpResponse((line.encode("utf-8") for line in _csv_lines(changes)),
                                     content_type="text/csv; charset=utf-8")
    stamp = run.queued_at.strftime("%Y%m%d-%H%M%S")
    response["Content-Disposition"] = f'attachment; filename="look-up-{run.company.slug}-{stamp}.csv"'
    response["Cache-Control"] = "no-store"
    return response


