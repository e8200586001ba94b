"""Phone users: the list, and the create/edit form with the AAID ID dropdown."""
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods

from directory.forms import UserForm, add_service_errors
from directory.linking import aad_differences
from directory.models import Person
from directory.permissions import manager_required
from directory.selectors import AadAccount, user_get, user_list
from directory.services import user_create, user_update
from directory.views.aad_picker import confirm_step_form, picker_context
from directory.views.common import posted

USERS_PAGE_SIZE = 50
USER_AAD_FIELDS = ("first_name", "last_name", "email")


@manager_required
@require_GET
def user_list_page(request):
    search = request.GET.get("q", "")[:100]
    page = Paginator(user_list(company=request.user.company, search=search), USERS_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(request, "directory/user_list.html", {"page": page, "q": search, "menu": "user"})


def _render_form(request, form, person, differences=()):
    return render(request, "directory/user_form.html", {
        "form": form,
        "person": person,
        "company": request.user.company,
        "differences": differences,
        "menu": "user",
        **picker_context(form, person, picker_for=str(person.pk) if person else "",
                         lock={field: field for field in USER_AAD_FIELDS}),
    })


@sensitive_post_parameters("password", "password_confirm")
@manager_required
@require_http_methods(["GET", "POST"])
def user_new(request):
    company = request.user.company
    form = UserForm(posted(request), company=company)
    if request.method == "POST" and form.is_valid():
        try:
            person = user_create(
                company=company,
                data=form.user_data(),
                password=form.cleaned_data["password"],
                aad_contact=form.cleaned_data["aad_contact"],
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, f"Created user {person.username}{_linked_note(person)}.")
            return redirect("users")
    return _render_form(request, form, None)


@sensitive_post_parameters("password", "password_confirm")
@manager_required
@require_http_methods(["GET", "POST"])
def user_edit(request, pk: int):
    company = request.user.company
    try:
        person = user_get(company=company, pk=pk)
    except Person.DoesNotExist:
        raise Http404("No such user in your company.") from None
    form = UserForm(posted(request), company=company, person=person)
    if request.method == "POST" and form.is_valid():
        contact = form.cleaned_data["aad_contact"]
        if contact is not None and contact.pk != person.aad_contact_id and not form.cleaned_data["aad_confirmed"]:
            differences = aad_differences(person=person, contact=contact, shown=USER_AAD_FIELDS)
            if differences:
                form = confirm_step_form(UserForm, request.POST, company=company, person=person)
                return _render_form(request, form, person, differences)
        try:
            user_update(
                person=person,
                data=form.user_data(),
                password=form.cleaned_data["password"],
                aad_contact=contact,
            )
        except ValidationError as error:
            person.refresh_from_db()  # the page shows the saved values again, not the refused ones
            add_service_errors(form, error)
        else:
            messages.success(request, f"Saved user {person.username}{_linked_note(person)}.")
            return redirect("users")
    return _render_form(request, form, person)


def _linked_note(person: Person) -> str:
    if person.aad_contact is not None:
        return f", linked to AAD account {AadAccount.from_contact(person.aad_contact).label}"
    return ""
