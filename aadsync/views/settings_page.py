"""The MS AAD settings page of the CM portal: view, Modify/Save (checked with Microsoft first), Test connection."""
import json
import logging

from django.conf import settings
from django.contrib import messages
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from aadsync.connection import CONNECTED, aad_connection_test, aad_settings_verify, expiry_after_save
from aadsync.dispatch import one_time_sync_blocker
from aadsync.errors import SyncError
from aadsync.expiry import expiry_status
from aadsync.forms import AadSettingsForm
from aadsync.link_hint import linkable_users_after
from aadsync.microsoft.applications import PROBLEMS
from aadsync.microsoft.check import CheckResult
from aadsync.microsoft.clouds import current_cloud
from aadsync.models import LookupHealth, SyncRun
from aadsync.redirect_uri import signin_redirect_uri
from aadsync.scope import scope_groups_for_save, scope_groups_search
from aadsync.services import Actor, aad_settings_get, aad_settings_update
from aadsync.sync.mapping import SYNCED_FROM_GRAPH
from aadsync.views.kept_form import (
    FIELD,
    credentials_digest,
    kept_form_clear,
    kept_form_load,
    kept_form_store,
)
from directory.permissions import manager_required

logger = logging.getLogger(__name__)
CHANGES_SHOWN = 10
MAPPING = [(label, source) for label, _field, source in SYNCED_FROM_GRAPH]
SAVE_UNCHECKED = "save-unchecked"  # the form's second choice when Microsoft could not confirm the credentials
UNCHECKED_NOTE = "Saved without checking: Microsoft could not confirm the credentials at the time."
UNCONFIRMED_INTRO = "Microsoft could not confirm these settings right now."
UNCONFIRMED_CHOICE = ("Click Save to ask again, or Save without checking to store them as typed: the next look-up "
                      "will show whether they work.")


def _page_context(request, row, form, editing: bool, **extra) -> dict:
    company = request.user.company
    now = timezone.now()
    expiry = (expiry_status(row.secret_expires_at, now=now, tz=company.tzinfo,
                            approximate=row.secret_expiry_approximate) if row.secret_expires_at else None)
    latest_run = SyncRun.objects.filter(company=company).first()
    return {
        "settings_row": row,
        "form": form,
        "editing": editing,
        "changes": company.aad_settings_changes.all()[:CHANGES_SHOWN],
        "latest_run": latest_run,
        "linkable_users": linkable_users_after(company=company, run=latest_run),
        "company": company,
        "menu": "aad",
        "callback_url": signin_redirect_uri(request),
        "cloud": current_cloud(),
        "authority_host": settings.AAD_AUTHORITY_HOST,
        "graph_url": settings.GRAPH_API_URL,
        "sync_blocker": one_time_sync_blocker(settings_row=row),
        "expiry": expiry,
        "expiry_problem": PROBLEMS.get(row.secret_expiry_problem, "") if row.use_lookup or row.is_complete else "",
        "health": LookupHealth.objects.filter(company=company).first(),
        "kept_field": FIELD,
        "mapping": MAPPING,
        "scope_groups_json": json.dumps(_shown_groups(row, form)),
        **extra,
    }


def _shown_groups(row, form) -> list[dict]:
    """The groups the picker starts with: those posted (named as saved where known), else the saved ones."""
    names = {group["id"]: group.get("name") or group["id"] for group in row.scope_groups}
    if form.is_bound:
        ids = [part.strip().lower() for part in form.data.get("scope_groups", "").replace(",", "\n").split()]
        return [{"id": group_id, "name": names.get(group_id, group_id)} for group_id in ids if group_id][:40]
    return list(row.scope_groups)


def _again(request, row, form, *, secret: str, unconfirmed: str = ""):
    """The form again, with its errors: a typed secret is kept server-side for this form's next submission."""
    token = kept_form_store(request, secret=secret, unconfirmed=unconfirmed)
    if secret:
        form.secret_kept()
    return render(request, "aadsync/settings.html", _page_context(
        request, row, form, editing=True, kept_token=token, kept_secret=bool(secret), unconfirmed=bool(unconfirmed)))


def _refused(form: AadSettingsForm, check: CheckResult) -> None:
    """Microsoft's answer, as the product's sentence, next to the field it is about where there is one."""
    assert check.error is not None
    sentence = check.error.sentence
    if check.unconfirmed:
        form.add_error(None, f"{UNCONFIRMED_INTRO} {sentence} {UNCONFIRMED_CHOICE}")
    else:
        form.add_error(check.field, sentence)


@sensitive_post_parameters("secret")
@manager_required
@require_http_methods(["GET", "POST"])
def aad_settings_page(request):
    row = aad_settings_get(company=request.user.company)
    if request.method == "POST":
        return _save(request, row)
    kept_form_clear(request)  # Modify afresh or Cancel: a secret kept for an earlier form is forgotten
    editing = request.GET.get("mode") == "edit"
    form = AadSettingsForm(initial=AadSettingsForm.initial_from(row), has_secret=row.has_secret)
    if not editing:
        for field in form.fields.values():
            field.disabled = True
    return render(request, "aadsync/settings.html", _page_context(request, row, form, editing=editing))


def _save(request, row):
    company = request.user.company
    kept = kept_form_load(request)
    form = AadSettingsForm(request.POST, has_secret=row.has_secret, kept_secret=bool(kept and kept.secret))
    typed = request.POST.get("secret", "").strip()
    if not form.is_valid():
        # Kept unless the secret itself is what the form refused.
        keep = "" if "secret" in form.errors else typed or (kept.secret if kept else "")
        return _again(request, row, form, secret=keep)
    secret = form.cleaned_data["secret"] or (kept.secret if kept else "")
    data = form.settings_data()
    note = ""
    check = None
    digest = credentials_digest(tenant_id=data.get("tenant_id", ""), client_id=data.get("client_id", ""),
                                secret=secret)
    if request.POST.get("action") == SAVE_UNCHECKED and kept is not None and kept.unconfirmed == digest:
        note = UNCHECKED_NOTE
    else:
        check = aad_settings_verify(company=company, data=data, secret=secret)
        if check is not None and not check.ok:
            _refused(form, check)
            # A secret Microsoft refused is not worth keeping: the error says to paste another.
            keep = "" if check.field == "secret" else secret
            return _again(request, row, form, secret=keep, unconfirmed=digest if check.unconfirmed else "")
    try:
        data["scope_groups"] = scope_groups_for_save(row=row, data=data, secret=secret)
    except SyncError as error:
        form.add_error("scope_groups", error.sentence)
        return _again(request, row, form, secret=secret)
    expiry = expiry_after_save(row=row, typed=form.cleaned_data["secret_expires_on"], secret_new=bool(secret),
                               check=check, now=timezone.now())
    changed = aad_settings_update(company=company, data=data, secret=secret, actor=Actor(person=request.user),
                                  expiry=expiry, note=note)
    kept_form_clear(request)
    if changed:
        logger.info("MS AAD settings of %s changed by %s: %s%s", company.slug, request.user, changed,
                    " (without checking)" if note else "")
        saved = "MS AAD settings saved: " + ", ".join(changed) + "."
        if note:
            messages.warning(request, f"{saved} {UNCHECKED_NOTE}")
        elif check is not None:
            messages.success(request, f"{saved} {CONNECTED}")
        else:
            messages.success(request, saved)
    else:
        messages.info(request, "Nothing changed.")
    return redirect("aad-settings")


@never_cache
@manager_required
@require_GET
def aad_groups_search(request):
    """?q=name -> {"groups": [{id, name, kind}]} or {"error": sentence}: the Modify form's group picker."""
    try:
        groups = scope_groups_search(company=request.user.company, text=request.GET.get("q", "")[:100])
    except SyncError as error:
        return JsonResponse({"error": error.sentence}, status=409)
    return JsonResponse({"groups": groups})


@manager_required
@require_POST
def aad_test_connection(request):
    """Check the saved settings with Microsoft; nothing changes but what Microsoft says of the secret's expiry."""
    company = request.user.company
    result = aad_connection_test(company=company)
    if result.ok:
        row = aad_settings_get(company=company)
        extra = ""
        if row.secret_expires_at is not None:
            extra = " " + expiry_status(row.secret_expires_at, now=timezone.now(), tz=company.tzinfo,
                                        approximate=row.secret_expiry_approximate).sentence + "."
        elif result.expiry_problem:
            extra = " " + PROBLEMS[result.expiry_problem]
        messages.success(request, CONNECTED + extra)
    else:
        assert result.error is not None
        messages.error(request, f"Test connection failed: {result.error.sentence}")
    logger.info("Test connection of %s by %s: %s", company.slug, request.user,
                "ok" if result.ok else result.error.code if result.error else "?")
    return redirect("aad-settings")
