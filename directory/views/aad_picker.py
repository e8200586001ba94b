"""The AAID ID dropdown: its JSON search endpoint, and what the user and My Information pages need for it."""
from django.http import Http404, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from directory.models import Contact, Person
from directory.permissions import manager_required
from directory.selectors import AadAccount, aad_account_search, user_get

SEARCH_MAX_LENGTH = 100


def _person_for(request) -> Person | None:
    """Whose own linked account may also be offered: the manager themself, or one of the company's users."""
    value = request.GET.get("for", "")
    if not value:
        return None
    if value == "me":
        return request.user
    if not value.isdigit():
        raise Http404("No such user.")
    try:
        return user_get(company=request.user.company, pk=int(value))
    except Person.DoesNotExist:
        raise Http404("No such user in your company.") from None


@manager_required
@require_GET
@never_cache
def aad_account_search_json(request):
    """?q=prefix&for=<user id>|me -> {"results": [{id, label, first_name, last_name, email, upn}], "more": bool}"""
    accounts, more = aad_account_search(
        company=request.user.company,
        text=request.GET.get("q", "")[:SEARCH_MAX_LENGTH],
        person=_person_for(request),
    )
    return JsonResponse({"results": [account.as_json() for account in accounts], "more": more})


def _selected_contact(form, person: Person | None) -> Contact | None:
    if form.is_bound:
        cleaned = getattr(form, "cleaned_data", {})
        return cleaned.get("aad_contact") if "aad_contact" not in form.errors else None
    return person.aad_contact if person is not None else None


def picker_context(form, person: Person | None, *, picker_for: str, lock: dict[str, str]) -> dict:
    """Template context for templates/directory/partials/aad_picker.html. `lock` maps the form fields that follow
    the picked account to the Person fields behind them (e.g. My Information's name -> display_name)."""
    contact = _selected_contact(form, person)
    return {
        "aad_picker": {
            "for": picker_for,
            "lock": " ".join(lock),
            "selected": AadAccount.from_contact(contact) if contact is not None else None,
            "saved": {field: getattr(person, attr) for field, attr in lock.items()} if person is not None else None,
            "saved_link": person.aad_contact.object_id if person is not None and person.aad_contact else "",
        }
    }


def confirm_step_form(form_class, data, **kwargs):
    """The same form again, marked as confirmed: the page shows AAD's differences and saves on the next click."""
    data = data.copy()
    data["aad_confirmed"] = "True"
    form = form_class(data, **kwargs)
    form.is_valid()
    return form
