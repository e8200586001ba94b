"""Company isolation: every URL of the portal, walked as a manager of A, a user of A and an anonymous
visitor, against company B's objects. Object URLs answer 302 to a login page, 403 or 404; pages without an
object show none of B's data; and no request changes B or ties A to B's objects."""
import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from aadsync.models import AadSettings, AccountChange, SyncRun
from aadsync.services import Actor, aad_settings_update
from directory.models import Contact, Person

pytestmark = pytest.mark.django_db
B_MARK = "Bravoxq"  # appears in every text field of company B's data
B_TENANT = "b0b0b0b0-0000-4000-8000-00000000000b"
OK_DENIALS = {403, 404}


def _walk(patterns, prefix=""):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from _walk(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), entry.name


def portal_routes():
    """Every route except the Django admin's own (tested apart: staff only)."""
    return [(route, name) for route, name in _walk(get_resolver().url_patterns) if not route.startswith("admin/")]


@pytest.fixture
def company_b(other_company, make_manager, make_user):
    manager_b = make_manager(other_company, login="bossb", name=f"{B_MARK}boss", email=f"{B_MARK.lower()}@b.test")
    synced = [Contact.objects.create(company=other_company, object_id=f"b0000000-0000-4000-8000-{i:012d}",
                                     first_name=f"{B_MARK}{i}", last_name=f"{B_MARK}Last", email=f"{B_MARK.lower()}{i}@b.test",
                                     user_principal_name=f"{B_MARK.lower()}{i}@b.onmicrosoft.com", synced=True,
                                     aad_state="active", office_phone="+82 2 555 0100") for i in range(3)]
    manual = Contact.objects.create(company=other_company, first_name=f"{B_MARK}Manual", last_name=f"{B_MARK}M")
    user_b = make_user(other_company, login="900", first_name=f"{B_MARK}User", last_name=f"{B_MARK}U",
                       email=f"{B_MARK.lower()}user@b.test", extension="900")
    user_b.aad_contact = synced[0]
    user_b.save()
    aad_settings_update(company=other_company, data={"use_lookup": True, "tenant_id": B_TENANT,
                        "client_id": B_TENANT.replace("b0b0", "c0c0")}, secret=f"{B_MARK}-secret",
                        actor=Actor(person=manager_b))
    run = SyncRun.objects.create(company=other_company, trigger="one-time", status="failed",
                                 error=f"{B_MARK} failure sentence")
    AccountChange.objects.create(run=run, object_id=synced[0].object_id, name=f"{B_MARK}0 {B_MARK}Last",
                                 user_principal_name=f"{B_MARK.lower()}0@b.onmicrosoft.com", kind="changed",
                                 fields={"first_name": [f"{B_MARK}old", f"{B_MARK}0"]})
    return {"company": other_company, "manager": manager_b, "user": user_b, "synced": synced, "manual": manual,
            "run": run, "site": other_company.sites.first()}


def _b_ids(company_b) -> dict:
    """Which of B's objects to put where a URL takes an id, by the URL's name."""
    return {
        "contact-edit": company_b["manual"].pk,
        "contact-delete": company_b["manual"].pk,
        "user-edit": company_b["user"].pk,
        "aad-run": company_b["run"].pk,
        "aad-run-csv": company_b["run"].pk,
    }


def _fill(route: str, name: str, company_b) -> str:
    ids = _b_ids(company_b)

    def value(match):
        if name not in ids:
            raise AssertionError(f"The isolation walk does not know which object of company B URL {name!r} takes: "
                                 "add it to _b_ids.")
        return str(ids[name])

    return "/" + re.sub(r"<(?:\w+:)?\w+>", value, route)


def _b_snapshot(company_b) -> tuple:
    company = company_b["company"]
    return (
        list(Contact.objects.filter(company=company).order_by("pk").values()),
        list(Person.objects.filter(company=company).order_by("pk").values()),
        list(AadSettings.objects.filter(company=company).values()),
        list(SyncRun.objects.filter(company=company).order_by("pk").values()),
    )


def _b_form_data(company_b) -> dict:
    """A POST body that names B's objects wherever a form takes one."""
    synced = company_b["synced"][1]
    return {
        "aad_contact": synced.object_id, "site": company_b["site"].pk, "extension": "777", "login": "777",
        "first_name": "Eve", "last_name": "A", "email": "eve@a.test", "name": "Eve", "group_member_type": "single",
        "package": "basic", "user_type": "normal", "password1": "Zz-123456", "password2": "Zz-123456",
        "aad_confirmed": "on", "use_lookup": "not-use", "period": "daily", "weekday": "0", "month_day": "1",
        "exec_hour": "1", "exec_minute": "0", "exec_second": "0", "q": B_MARK[:-1], "company": company_b["company"].slug,
    }


ROLES = ["anonymous", "manager_a", "user_a"]


@pytest.mark.parametrize("role", ROLES)
def test_every_url_denies_company_b_objects(client, role, company, manager, phone_user, company_b):
    person = {"manager_a": manager, "user_a": phone_user}.get(role)
    before = _b_snapshot(company_b)
    visited, answered = 0, set()
    for route, name in portal_routes():
        url = _fill(route, name, company_b)
        for method in ("get", "post"):
            if person is not None:
                client.force_login(person)  # again: the walk passes /logout/ too
            # "Bravox" matches every B name by prefix, and its echo in a search box is not B's data.
            query = {"q": B_MARK[:-1], "for": str(company_b["user"].pk), "page": "1"}
            if method == "get":
                response = client.get(url, query)
            else:
                response = client.post(url, _b_form_data(company_b))
            visited += 1
            answered.add((method, route, response.status_code))
            where = f"{role} {method.upper()} {url} -> {response.status_code}"
            assert response.status_code != 500, where
            body = b"".join(response.streaming_content) if response.streaming else response.content
            text = body.decode("utf-8", "replace")
            assert B_MARK not in text and B_MARK.lower() not in text and B_TENANT not in text, where
            if "<" in route:  # a URL naming one of B's objects
                if response.status_code == 302:
                    assert "login" in response.url, where
                elif method == "post" and response.status_code == 405:
                    pass  # a read-only page refuses every POST, whichever object it names: nothing is told
                else:
                    assert response.status_code in OK_DENIALS, where
    assert visited >= 2 * len(portal_routes())
    if role == "manager_a":  # the walk really reached the pages (not stopped at the door)
        assert {("get", "directory/", 200), ("get", "users/", 200), ("get", "aad/", 200),
                ("get", "directory/export.csv", 200), ("get", "aad/history/", 200)} <= answered
        assert ("get", "directory/aad-accounts/", 404) in answered  # ?for=<B's user> is nobody of A's
    assert _b_snapshot(company_b) == before
    # Nothing of A was tied to B's objects (a link, a site) by any of those requests.
    assert not Person.objects.filter(company=company, aad_contact__company=company_b["company"]).exists()
    assert not Person.objects.filter(company=company, site__company=company_b["company"]).exists()


def test_walk_covers_every_object_url(company_b):
    named = {name for route, name in portal_routes() if "<" in route}
    assert named <= set(_b_ids(company_b)), named - set(_b_ids(company_b))


def test_admin_is_for_staff_only(client, manager, company_b):
    client.force_login(manager)
    for url in ("/admin/", f"/admin/directory/contact/{company_b['manual'].pk}/change/",
                f"/admin/aadsync/aadsettings/{company_b['company'].aad_settings.pk}/change/"):
        response = client.get(url)
        assert response.status_code == 302 and "/admin/login/" in response.url
