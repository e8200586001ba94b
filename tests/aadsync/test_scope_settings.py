"""Choosing the look-up's scope on the MS AAD page and with aadconfig: the group search (/aad/groups/), groups named
by Microsoft on save, a group Microsoft does not know refused next to the field, and the field-source table."""
import pytest
from django.core.management import CommandError, call_command

from aadsync.models import AadSettings, AadSettingsChange
from tests.aadsync.test_settings_check import GUID_C, GUID_T, _post
from tests.conftest import SECRET
from tests.fakems.groups import GROUP_MEMBER_READ_ALL
from tests.fakems.model import USER_READ_ALL

pytestmark = pytest.mark.django_db
MISSING_GROUP = "0b0b0b0b-0000-4000-8000-000000000001"


@pytest.fixture
def tenant(fake_ms, company):
    tenant = fake_ms.add_tenant(GUID_T)
    app = fake_ms.add_app(tenant, GUID_C, secret=SECRET, permissions=(USER_READ_ALL, GROUP_MEMBER_READ_ALL))
    tenant.sales = tenant.groups.add("Sales Team")
    tenant.salaries = tenant.groups.add("Salaries Review", kind="m365")
    tenant.support = tenant.groups.add("Support")
    tenant.app = app
    return tenant


@pytest.fixture
def saved(manager_client, tenant, company):
    assert _post(manager_client).status_code == 302
    return tenant


def test_the_group_search_finds_groups_by_a_word_of_their_name(manager_client, saved, fake_ms):
    found = manager_client.get("/aad/groups/", {"q": "sal"}).json()["groups"]
    assert {(g["name"], g["kind"]) for g in found} == {("Sales Team", "Security"), ("Salaries Review", "Microsoft 365")}
    assert manager_client.get("/aad/groups/", {"q": "team"}).json()["groups"][0]["id"] == saved.sales.id
    (request,) = [r for r in fake_ms.requests if r["endpoint"] == "groups"][-1:]
    assert request["query"]["$search"] == '"displayName:team"'


def test_the_group_search_needs_saved_settings_first(manager_client, tenant):
    response = manager_client.get("/aad/groups/", {"q": "sal"})
    assert response.status_code == 409 and "Save the Tenant ID, Client ID and Secret Code first" in response.json()[
        "error"]


def test_the_group_search_says_which_permission_is_missing(manager_client, saved):
    saved.app.permissions.discard(GROUP_MEMBER_READ_ALL)
    response = manager_client.get("/aad/groups/", {"q": "sal"})
    assert response.status_code == 409 and "GroupMember.Read.All" in response.json()["error"]


def test_saving_groups_stores_them_named_by_microsoft_and_logs_the_change(manager_client, saved, company):
    response = _post(manager_client, secret="", scope="groups",
                     scope_groups=f"{saved.sales.id}\n{saved.support.id.upper()}")
    assert response.status_code == 302, response.content.decode()[:600]
    row = AadSettings.objects.get(company=company)
    assert row.scope == "groups"
    assert row.scope_groups == [{"id": saved.sales.id, "name": "Sales Team"}, {"id": saved.support.id, "name": "Support"}]
    assert {"Look-up scope", "Groups"} <= set(AadSettingsChange.objects.filter(company=company).first().fields)
    assert "Members of Sales Team, Support" in manager_client.get("/aad/").content.decode()


def test_a_group_microsoft_does_not_know_is_refused_next_to_the_field(manager_client, saved, company):
    response = _post(manager_client, secret="", scope="groups", scope_groups=MISSING_GROUP)
    html = response.content.decode()
    assert response.status_code == 200 and "error_1_id_scope_groups" in html  # the field's own error
    assert f"Microsoft found no group {MISSING_GROUP} in the tenant" in html
    assert AadSettings.objects.get(company=company).scope == "all"


@pytest.mark.parametrize("groups, words", [
    ("", "Choose at least one group"),
    ("not-a-guid", "“not-a-guid” is not a group"),
    ("\n".join(f"0b0b0b0b-0000-4000-8000-{n:012d}" for n in range(21)), "Choose at most 20 groups (21 chosen)"),
])
def test_bad_group_input_is_refused_with_a_sentence(manager_client, saved, groups, words):
    html = _post(manager_client, secret="", scope="groups", scope_groups=groups).content.decode()
    assert words in html


def test_aadconfig_sets_groups_and_all_users(tenant, company, capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin", __import__("io").StringIO(SECRET + "\n"))
    call_command("aadconfig", "--company", company.slug, "--tenant-id", GUID_T, "--client-id", GUID_C,
                 "--secret-stdin", "--use", "--groups", f"{tenant.sales.id},{tenant.salaries.id}")
    row = AadSettings.objects.get(company=company)
    assert [g["name"] for g in row.scope_groups] == ["Sales Team", "Salaries Review"] and row.scope == "groups"
    call_command("aadconfig", "--company", company.slug, "--tenant-id", GUID_T, "--client-id", GUID_C, "--all-users")
    row.refresh_from_db()
    assert (row.scope, row.scope_groups) == ("all", [])
    with pytest.raises(CommandError, match=r"Nothing saved\. Microsoft found no group"):
        call_command("aadconfig", "--company", company.slug, "--tenant-id", GUID_T, "--client-id", GUID_C,
                     "--groups", MISSING_GROUP)


def test_the_page_shows_where_each_synced_field_comes_from(manager_client):
    html = manager_client.get("/aad/").content.decode()
    for label, source in (("User Principal Name", "userPrincipalName"), ("Object ID", "id"), ("First Name", "givenName"),
                          ("Last Name", "surname"), ("E-mail", "mail"), ("Office Phone", "businessPhones[0]"),
                          ("Mobile Phone", "mobilePhone")):
        assert f"<tr><td>{label}</td><td><code>{source}</code></td></tr>" in html
