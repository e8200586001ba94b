"""A look-up's page in Sync History (aadsync/views/history.py): each account's line, search, pages, CSV; scoped to
the manager's company; lines pruned after AAD_CHANGE_LOG_DAYS."""
import csv
import io
from datetime import timedelta

import pytest
from django.utils import timezone

from aadsync.dispatch import sync_due_dispatch
from aadsync.models import AccountChange, SyncRun
from aadsync.retention import account_changes_prune
from directory.models import Contact
from tests.aadsync.sync.test_engine import sync
from tests.fakems import generate_users
from tests.fakems import make_user as graph_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_runs(fake_ms, company):
    """A first look-up of 130 users, then one that renames, disables, removes and adds accounts."""
    generated = generate_users(130, seed=8)
    setup = fake_ms.configure(company, users=generated)
    first = sync(company)
    # Three members that are active (not guests, not disabled), renamed, disabled and removed below.
    users = [user for user in generated if user["userType"] == "Member" and user["accountEnabled"]]
    setup.tenant.update_user(users[5]["id"], givenName="=HYPERLINK(\"http://evil\")", mobilePhone="+82 10 1234 5678")
    setup.tenant.update_user(users[6]["id"], accountEnabled=False)
    setup.tenant.remove_user(users[7]["id"])
    setup.tenant.add_users([graph_user(given_name="Newbie", surname="Person")])
    second = sync(company)
    setup.users = users
    return setup, first, second


def test_a_first_look_up_writes_one_short_line_per_created_account(two_runs):
    _, first, _ = two_runs
    lines = AccountChange.objects.filter(run=first)
    assert lines.count() == first.created + first.disabled
    assert set(lines.values_list("kind", flat=True)) == {"created"} and not lines.exclude(fields=None).exists()


def test_a_change_keeps_each_field_s_old_and_new_value(two_runs):
    setup, _, second = two_runs
    renamed = AccountChange.objects.get(run=second, object_id=setup.users[5]["id"])
    assert renamed.kind == "changed"
    assert renamed.fields["first_name"][1] == '=HYPERLINK("http://evil")'
    assert renamed.fields["mobile_phone"][1] == "+82 10 1234 5678"
    kinds = dict(AccountChange.objects.filter(run=second).values_list("object_id", "kind"))
    assert (kinds[setup.users[6]["id"]], kinds[setup.users[7]["id"]]) == ("disabled", "removed")
    assert "created" in kinds.values()


def test_the_run_page_lists_searches_and_pages_the_lines(manager_client, two_runs):
    _, first, second = two_runs
    html = manager_client.get(f"/aad/history/{second.pk}/").content.decode()
    assert "Newbie Person" in html and "Removed from AAD" in html and "Disabled in AAD" in html
    assert second.counts_sentence in html
    found = manager_client.get(f"/aad/history/{second.pk}/", {"q": "newbie"}).content.decode()
    assert "Newbie Person" in found and "Removed from AAD" not in found
    paged = manager_client.get(f"/aad/history/{first.pk}/", {"page": 2}).content.decode()
    assert "Page 2 of 2" in paged


def test_the_history_links_each_run_to_its_page(manager_client, two_runs):
    _, first, second = two_runs
    html = manager_client.get("/aad/history/").content.decode()
    assert f'href="/aad/history/{first.pk}/"' in html and f'href="/aad/history/{second.pk}/"' in html


def test_the_csv_has_a_row_per_changed_field_and_neutralises_formulas(manager_client, two_runs):
    setup, _, second = two_runs
    response = manager_client.get(f"/aad/history/{second.pk}/changes.csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0] == ["change", "user_principal_name", "name", "object_id", "field", "old_value", "new_value"]
    renamed = [row for row in rows if row[3] == setup.users[5]["id"]]
    assert {row[4] for row in renamed} == {"First Name", "Mobile Phone"}
    first_name = next(row for row in renamed if row[4] == "First Name")
    assert first_name[6] == '\'=HYPERLINK("http://evil")'  # a formula is neutralised
    assert next(row for row in renamed if row[4] == "Mobile Phone")[6] == "+82 10 1234 5678"  # a phone stays


def test_another_company_s_run_page_is_not_found(client, other_company, make_manager, two_runs):
    _, first, _ = two_runs
    client.force_login(make_manager(other_company, login="boss", email="boss@other.example"))
    assert client.get(f"/aad/history/{first.pk}/").status_code == 404
    assert client.get(f"/aad/history/{first.pk}/changes.csv").status_code == 404


def test_lines_older_than_the_retention_are_pruned_by_the_dispatcher(two_runs, settings):
    _, first, second = two_runs
    settings.AAD_CHANGE_LOG_DAYS = 90
    SyncRun.objects.filter(pk=first.pk).update(finished_at=timezone.now() - timedelta(days=91))

    result = sync_due_dispatch()

    assert result.pruned == first.created + first.disabled
    assert not AccountChange.objects.filter(run=first).exists() and AccountChange.objects.filter(run=second).exists()
    assert SyncRun.objects.filter(pk=first.pk).exists()  # the run itself stays in the history
    assert account_changes_prune(now=timezone.now()) == 0
    assert Contact.objects.filter(synced=True).exists()
