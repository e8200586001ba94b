"""Views of look-ups: One-time Sync (POST), the latest run's live status (JSON), and the sync history page."""
import logging

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from aadsync.dispatch import SyncUnavailable, sync_one_time_request
from aadsync.link_hint import linkable_users_after
from aadsync.models import SyncRun
from aadsync.runs import SyncAlreadyRunning
from aadsync.selectors import sync_run_history, sync_run_latest, sync_run_status
from aadsync.sync import delta_link_drop
from directory.permissions import manager_required

logger = logging.getLogger(__name__)
HISTORY_PAGE_SIZE = 25
QUEUED = "One-time Sync queued: the look-up starts as soon as a worker takes it."
PREVIEW_QUEUED = ("Preview queued: it reads Microsoft as a look-up would and shows what it would change, changing "
                  "nothing.")


def _status_payload(request, run) -> dict:
    status = sync_run_status(run=run)
    html = render_to_string(
        "aadsync/partials/latest_run.html",
        {"run": run, "progress": status, "company": request.user.company,
         "linkable_users": linkable_users_after(company=request.user.company, run=run)},
        request=request,
    )
    return {"run": status, "html": html}


def _wants_json(request) -> bool:
    return "application/json" in request.headers.get("Accept", "")


@manager_required
@require_POST
def one_time_sync(request):
    """Queue a One-time Sync (or, with preview=1, a Preview). Answers JSON for the page's script (202, or 409 with
    the reason), else redirects."""
    company = request.user.company
    preview = request.POST.get("preview") == "1"
    run: SyncRun | None
    try:
        if request.POST.get("full") == "1" and not preview:  # "Full re-sync": forget the change position first
            delta_link_drop(company=company)
        run = sync_one_time_request(company=company, person=request.user, preview=preview)
        run.refresh_from_db()  # queued, or failed already if the broker could not take it
        message, status, level = PREVIEW_QUEUED if preview else QUEUED, 202, messages.INFO
        logger.info("%s %s of %s requested by %s", "Preview" if preview else "One-time Sync", run.pk, company.slug,
                    request.user)
    except SyncAlreadyRunning as error:
        run, message, status, level = error.active, str(error), 409, messages.WARNING
    except SyncUnavailable as error:
        run, message, status, level = sync_run_latest(company=company), str(error), 409, messages.WARNING
    if _wants_json(request):
        return JsonResponse({"message": message, **_status_payload(request, run)}, status=status)
    messages.add_message(request, level, message)
    return redirect("aad-settings")


@never_cache
@manager_required
@require_GET
def sync_status(request):
    """The company's latest look-up, for the MS AAD page to poll while it is queued or running."""
    return JsonResponse(_status_payload(request, sync_run_latest(company=request.user.company)))


@manager_required
@require_GET
def sync_history(request):
    company = request.user.company
    page = Paginator(sync_run_history(company=company), HISTORY_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "aadsync/history.html", {"page": page, "company": company, "menu": "sync-history"})
