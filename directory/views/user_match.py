"""User > Link to AAD accounts: the proposed links of phone users without an AAD account, confirmed in bulk."""
from dataclasses import dataclass
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from directory.linking import aad_differences
from directory.matching.selectors import Candidate, Proposal, link_proposal_list
from directory.matching.services import BulkLinkResult, LinkChoice, users_link_aad
from directory.models import Company, Person
from directory.permissions import manager_required

MATCH_PAGE_SIZE = 100
FAILURES_LISTED = 10
SHOWN_FIELDS = ("first_name", "last_name", "email")  # what a linked phone user takes from AAD
SHOW_LABELS = {"all": "All", "strong": "Strong", "name": "Name", "ambiguous": "Ambiguous", "none": "No proposal"}


@dataclass(frozen=True)
class Choice:
    """One account a row offers, with what linking it would change."""

    candidate: Candidate
    differences: list[dict]


@dataclass(frozen=True)
class Row:
    proposal: Proposal
    choices: list[Choice]


def _row(proposal: Proposal) -> Row:
    person = proposal.as_person()
    return Row(proposal, [
        Choice(candidate, aad_differences(person=person, contact=candidate.as_contact(), shown=SHOWN_FIELDS))
        for candidate in proposal.candidates
    ])


def _company(request: HttpRequest) -> Company:
    user = request.user
    if not isinstance(user, Person):  # manager_required has let only a signed-in manager in
        raise PermissionDenied
    return user.company


def _show(request: HttpRequest) -> str:
    show = request.GET.get("show", "all")
    return show if show in SHOW_LABELS else "all"


@manager_required
@require_http_methods(["GET", "POST"])
def user_match_page(request: HttpRequest) -> HttpResponse:
    show = _show(request)
    if request.method == "POST":
        return _link_selected(request, show)
    # Every user's kind (counts, order, filter); Proposals built for the page's rows only.
    proposals = link_proposal_list(company=_company(request))
    counts = proposals.counts
    shown = proposals if show == "all" else proposals.of_kind(show)
    page = Paginator(shown, MATCH_PAGE_SIZE).get_page(request.GET.get("page"))
    filters = [(key, label, len(proposals) if key == "all" else counts[key]) for key, label in SHOW_LABELS.items()]
    return render(request, "directory/user_match.html", {
        "page": page,
        "rows": [_row(proposal) for proposal in page.object_list],
        "show": show,
        "show_label": SHOW_LABELS[show],
        "filters": filters,
        "counts": counts,
        "total": len(proposals),
        "menu": "user-match",
    })


def _person_ids(values: list[str]) -> list[int]:
    ids = []
    for value in values:
        if value.isdigit() and int(value) not in ids:
            ids.append(int(value))
    return ids


def _link_selected(request: HttpRequest, show: str) -> HttpResponse:
    ids = _person_ids(request.POST.getlist("link"))
    back = reverse("user-match") + "?" + urlencode({"show": show, "page": request.GET.get("page", "1")})
    if not ids:
        messages.info(request, "Tick the users to link first; nothing was linked.")
        return redirect(back)
    if len(ids) > MATCH_PAGE_SIZE:
        messages.error(request, f"Link at most {MATCH_PAGE_SIZE} users at a time (one page); nothing was linked.")
        return redirect(back)
    choices = [LinkChoice(person_id=pk, object_id=request.POST.get(f"account-{pk}", "").strip()) for pk in ids]
    result = users_link_aad(company=_company(request), choices=choices)
    level = messages.WARNING if result.failed else messages.SUCCESS
    messages.add_message(request, level, link_summary(result))
    return redirect(back)


def _users(count: int) -> str:
    return f"{count} user{'' if count == 1 else 's'}"


def link_summary(result: BulkLinkResult) -> str:
    """"Linked 12 users; 1 could not be linked: 27728@cm1-vertical: This AAD account is already linked to ...\""""
    linked = f"Linked {_users(len(result.linked))}"
    if not result.failed:
        return f"{linked} to their AAD accounts."
    reasons = " ".join(f"{failure.who}: {failure.message}" for failure in result.failed[:FAILURES_LISTED])
    more = len(result.failed) - FAILURES_LISTED
    if more > 0:
        reasons += f" ({more} more not linked: they are still listed below.)"
    return f"{linked}; {len(result.failed)} could not be linked: {reasons}"
