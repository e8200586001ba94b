"""The MS AAD settings page of the CM portal."""
import logging

from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from aadsync.dispatch import one_time_sync_blocker
from aadsync.forms import AadSettingsForm
from aadsync.models import SyncRun
from aadsync.redirect_uri import signin_redirect_uri
from aadsync.services import Actor, aad_settings_get, aad_settings_update
from directory.permissions import manager_required

logger = logging.getLogger(__name__)
CHANGES_SHOWN = 10


def _page_context(request, row, form, editing: bool) -> dict:
    company = request.user.company
    return {
        "settings_row": row,
        "form": form,
        "editing": editing,
        "changes": company.aad_settings_changes.all()[:CHANGES_SHOWN],
        "latest_run": SyncRun.objects.filter(company=company).first(),
        "company": company,
        "menu": "aad",
        "callback_url": signin_redirect_uri(request),
        "sync_blocker": one_time_sync_blocker(settings_row=row),
    }


@sensitive_post_parameters("secret")
@manager_required
@require_http_methods(["GET", "POST"])
def aad_settings_page(request):
    row = aad_settings_get(company=request.user.company)
    if request.method == "POST":
        form = AadSettingsForm(request.POST, has_secret=row.has_secret)
        if form.is_valid():
            changed = aad_settings_update(
                company=request.user.company,
                data=form.settings_data(),
                secret=form.cleaned_data["secret"],
                actor=Actor(person=request.user),
            )
            if changed:
                logger.info("MS AAD settings of %s changed by %s: %s", row.company.slug, request.user, changed)
                messages.success(request, "MS AAD settings saved: " + ", ".join(changed) + ".")
            else:
                messages.info(request, "Nothing changed.")
            return redirect("aad-settings")
        return render(request, "aadsync/settings.html", _page_context(request, row, form, editing=True))
    editing = request.GET.get("mode") == "edit"
    form = AadSettingsForm(initial=AadSettingsForm.initial_from(row), has_secret=row.has_secret)
    if not editing:
        for field in form.fields.values():
            field.disabled = True
    return render(request, "aadsync/settings.html", _page_context(request, row, form, editing=editing))
