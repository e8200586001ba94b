"""Which company signs a person in with Microsoft, from what they typed: a portal domain, portal ID or e-mail.

Every refusal before Microsoft is involved is the same sentence with the same status, so the start page tells
nobody whether a company, a portal domain or an e-mail exists, or whether a company uses Microsoft sign-in.
"""
import re

from django.db.models import Q

from aadsync.models import AadSettings
from directory.models import Company, Person

PORTAL_ID_RE = re.compile(r"^[^@\s]+@(?P<slug>[a-z0-9-]+)$", re.IGNORECASE)
SLUG_RE = re.compile(r"^[a-z0-9-]{1,50}$")
HINT_MAX_LENGTH = 256

NOT_PLACED = (
    "Microsoft sign-in could not start with what you typed. Type your company's portal domain (the part after @ "
    "in your portal ID), your portal ID, or the e-mail of the Microsoft account linked to you. If your company "
    "does not use Microsoft sign-in, sign in with your ID and password."
)


class SignInRefused(Exception):
    """A sentence that tells the person what to do; nobody is signed in."""


def _company_by_slug(slug: str) -> Company | None:
    slug = slug.strip().lower()
    if not SLUG_RE.match(slug):
        return None
    return Company.objects.filter(slug=slug).first()


def _company_by_email(email: str) -> Company | None:
    """The one company with Microsoft sign-in on where an active person is linked to an AAD account with this
    user principal name (else this e-mail, as synced from AAD). A person's typed e-mail never counts: any manager
    can type any address into their own users. UPN matches win over mail matches, since a UPN's domain is one
    its tenant has verified, whereas another tenant's admin could give one of their accounts the same mail."""
    linked = Person.objects.filter(
        is_active=True, aad_contact__synced=True, company__aad_settings__use_lookup=True
    )
    for match in (Q(aad_contact__user_principal_name__iexact=email), Q(aad_contact__email__iexact=email)):
        company_ids = set(linked.filter(match).values_list("company_id", flat=True)[:2])
        if len(company_ids) == 1:
            return Company.objects.get(pk=company_ids.pop())
        if company_ids:
            return None  # more than one company: only the portal domain can tell
    return None


def company_for_hint(*, company_slug: str = "", login_hint: str = "") -> Company:
    """The company whose app registration signs this person in, or SignInRefused(NOT_PLACED)."""
    hint = (company_slug or login_hint).strip()
    company = None
    if hint and len(hint) <= HINT_MAX_LENGTH:
        if "@" not in hint:
            company = _company_by_slug(hint)
        elif portal_id := PORTAL_ID_RE.match(hint):
            company = _company_by_slug(portal_id["slug"]) or _company_by_email(hint)
        else:
            company = _company_by_email(hint)
    if company is None:
        raise SignInRefused(NOT_PLACED)
    return company


def signin_settings(company: Company) -> AadSettings:
    """The company's MS AAD settings, when they can run a sign-in; otherwise the same refusal as an unknown hint."""
    row = AadSettings.objects.filter(company=company).first()
    if row is None or not row.use_lookup or not row.is_complete:
        raise SignInRefused(NOT_PLACED)
    return row


def email_login_hint(hint: str) -> str | None:
    """What to pass Microsoft as login_hint: an e-mail, never a portal ID (Microsoft does not know those)."""
    hint = hint.strip()
    if "@" in hint and not PORTAL_ID_RE.match(hint) and len(hint) <= HINT_MAX_LENGTH:
        return hint
    return None
