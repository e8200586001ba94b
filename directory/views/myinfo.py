"""My Information: the signed-in manager's own details and AAD link (no person id in the URL, by design)."""
from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from directory.forms import MyInformationForm, add_service_errors
from directory.linking import aad_differences
from directory.permissions import manager_required
from directory.services import manager_update_self
from directory.views.aad_picker import confirm_step_form, picker_context

# My Information's fields that follow the manager's AAD account, and the Person fields behind them.
MANAGER_AAD_FIELDS = {"name": "display_name", "email": "email"}


def _render(request, form, editing: bool, differences=()):
    manager = request.user
    return render(request, "directory/my_information.html", {
        "form": form,
        "manager": manager,
        "editing": editing,
        "differences": differences,
        "menu": "myinfo",
        **picker_context(form, manager, picker_for="me", lock=MANAGER_AAD_FIELDS),
    })


@sensitive_post_parameters("current_password", "password", "password_confirm")
@manager_required
@require_http_methods(["GET", "POST"])
def my_information(request):
    # Only request.user is ever read or changed here: whatever a POST carries, it cannot name another manager.
    manager = request.user
    if request.method != "POST":
        return _render(request, MyInformationForm(manager=manager), editing=request.GET.get("mode") == "edit")
    form = MyInformationForm(request.POST, manager=manager, request=request)
    if form.is_valid():
        contact = form.cleaned_data["aad_contact"]
        if contact is not None and contact.pk != manager.aad_contact_id and not form.cleaned_data["aad_confirmed"]:
            differences = aad_differences(person=manager, contact=contact,
                                          shown=tuple(MANAGER_AAD_FIELDS.values()))
            if differences:
                form = confirm_step_form(MyInformationForm, request.POST, manager=manager, request=request)
                return _render(request, form, editing=True, differences=differences)
        try:
            manager_update_self(
                manager=manager,
                name=form.cleaned_data["name"],
                email=form.cleaned_data["email"],
                password=form.cleaned_data["password"],
                aad_contact=contact,
                aad_alert_emails=form.cleaned_data["aad_alert_emails"],
            )
        except ValidationError as error:
            manager.refresh_from_db()
            add_service_errors(form, error, aliases={"display_name": "name"})
        else:
            if form.cleaned_data["password"]:
                # Changing one's own password would end this session; keep the manager signed in.
                update_session_auth_hash(request, manager)
            messages.success(request, "My Information saved.")
            return redirect("my-information")
    return _render(request, form, editing=True)
