"""The Company Directory: list with search/filter/sort/pages, manual entries, and the CSV export."""
import csv

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from directory.csv_safety import spreadsheet_safe
from directory.forms import ContactForm, DirectoryFilterForm, add_service_errors
from directory.models import Contact
from directory.permissions import manager_required
from directory.selectors import (
    DIRECTORY_PAGE_SIZE,
    DIRECTORY_SORTS,
    contact_export_rows,
    contact_get_manual,
    contact_listing,
)
from directory.services import CONTACT_FIELDS, contact_create, contact_delete, contact_update
from directory.views.common import posted

EXPORT_HEADER = (
    "first_name", "last_name", "email", "office_phone", "mobile_phone", "user_principal_name", "object_id", "sync",
)
EXPORT_ROWS_PER_CHUNK = 500
# (column title, sort key or None): the directory table's header.
COLUMNS = (
    ("First Name", "first_name"),
    ("Last Name", "name"),
    ("E-mail", "email"),
    ("Office Phone", None),
    ("Mobile Phone", None),
    ("User Principal Name", "upn"),
    ("Sync", "sync"),
    ("Linked to", None),
)


def _parse_sort(value: str) -> tuple[str, bool]:
    descending = value.startswith("-")
    key = value.lstrip("-")
    if key not in DIRECTORY_SORTS:
        return "name", False
    return key, descending


@manager_required
@require_GET
def directory_page(request):
    filters = DirectoryFilterForm(request.GET)
    params = filters.cleaned_data if filters.is_valid() else {}
    sort, descending = _parse_sort(params.get("sort") or "name")
    listing = contact_listing(
        company=request.user.company,
        search=params.get("q", ""),
        sync=params.get("sync", ""),
        sort=sort,
        descending=descending,
    )
    page = Paginator(listing, DIRECTORY_PAGE_SIZE).get_page(request.GET.get("page"))
    columns = [
        {
            "title": title,
            "key": key,
            "active": key == sort,
            "descending": key == sort and descending,
            "next": f"-{key}" if key == sort and not descending else key,
        }
        for title, key in COLUMNS
    ]
    return render(request, "directory/directory_list.html", {
        "page": page,
        "filters": filters,
        "columns": columns,
        "searching": bool(params.get("q") or params.get("sync")),
        "menu": "directory",
    })


def _manual_contact_or_404(request, pk: int) -> Contact:
    try:
        return contact_get_manual(company=request.user.company, pk=pk)
    except Contact.DoesNotExist:
        raise Http404("No such entry you can edit.") from None


@manager_required
@require_http_methods(["GET", "POST"])
def contact_new(request):
    form = ContactForm(posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            contact = contact_create(company=request.user.company, data=form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, f"Added {contact} to the Company Directory.")
            return redirect("directory")
    return render(request, "directory/contact_form.html", {"form": form, "contact": None, "menu": "directory"})


@manager_required
@require_http_methods(["GET", "POST"])
def contact_edit(request, pk: int):
    contact = _manual_contact_or_404(request, pk)
    initial = {field: getattr(contact, field) for field in CONTACT_FIELDS}
    form = ContactForm(posted(request), initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            contact_update(contact=contact, data=form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, f"Saved {contact}.")
            return redirect("directory")
    return render(request, "directory/contact_form.html", {"form": form, "contact": contact, "menu": "directory"})


@manager_required
@require_http_methods(["GET", "POST"])
def contact_remove(request, pk: int):
    contact = _manual_contact_or_404(request, pk)
    if request.method == "POST":
        contact_delete(contact=contact)
        messages.success(request, f"Deleted {contact} from the Company Directory.")
        return redirect("directory")
    return render(request, "directory/contact_confirm_delete.html", {"contact": contact, "menu": "directory"})


class _Echo:
    """csv.writer writes into this and gets the formatted line back, so rows can be streamed."""

    def write(self, value: str) -> str:
        return value


def _csv_lines(rows):
    writer = csv.writer(_Echo())
    yield writer.writerow(EXPORT_HEADER)
    chunk = []
    for row in rows:
        chunk.append(writer.writerow([spreadsheet_safe(value) for value in row]))
        if len(chunk) >= EXPORT_ROWS_PER_CHUNK:
            yield "".join(chunk)
            chunk = []
    if chunk:
        yield "".join(chunk)


@manager_required
@require_GET
def directory_export_csv(request):
    company = request.user.company
    response = StreamingHttpResponse(
        (line.encode("utf-8") for line in _csv_lines(contact_export_rows(company=company))),
        content_type="text/csv; charset=utf-8",
    )
    response["Content-Disposition"] = f'attachment; filename="company-directory-{company.slug}.csv"'
    response["Cache-Control"] = "no-store"
    return response
