"""The MS AAD page shows the latest look-up's result: counts, the held-removals notice, or the error sentence."""
import pytest
from django.urls import reverse

from aadsync.models import SyncRun
from aadsync.sync import sync_company_now
from tests.fakems import make_user

pytestmark = pytest.mark.django_db


def page(client, manager) -> str:
    client.force_login(manager)
    return client.get(reverse("aad-settings")).content.decode()


def test_page_shows_the_counts_of_the_latest_run(fake_ms, company, manager, client):
    fake_ms.configure(company, users=[make_user(), make_user(account_enabled=False)])
    sync_company_now(company=company, trigger=SyncRun.Trigger.COMMAND)

    html = page(client, manager)

    # Counts that add up: the disabled account is counted once, as disabled, not also as created.
    assert ("Looked up 2 accounts: 1 created, 0 changed, 0 unchanged, 1 disabled, 0 skipped (guests or out of "
            "scope); 0 removed or out of scope (no longer listed).") in html


def test_an_incremental_run_counts_its_changes(fake_ms, company, manager, client):
    users = [make_user(), make_user(), make_user()]
    setup = fake_ms.configure(company, users=users)
    sync_company_now(company=company, trigger=SyncRun.Trigger.COMMAND)
    setup.tenant.update_user(users[0]["id"], givenName="Renamed")
    setup.tenant.update_user(users[1]["id"], accountEnabled=False)
    setup.tenant.remove_user(users[2]["id"])
    sync_company_now(company=company, trigger=SyncRun.Trigger.COMMAND)

    html = page(client, manager)

    assert ("Looked up 3 changes: 0 created, 1 changed, 0 unchanged, 1 disabled, 1 removed, 0 skipped (guests or "
            "out of scope).") in html


def test_page_shows_held_removals_notice(fake_ms, company, manager, client):
    users = [make_user() for _ in range(4)]
    setup = fake_ms.configure(company, users=users)
    sync_company_now(company=company, trigger=SyncRun.Trigger.COMMAND)
    setup.tenant.remove_user(users[0]["id"])
    setup.tenant.remove_user(users[1]["id"])
    run = sync_company_now(company=company, trigger=SyncRun.Trigger.COMMAND, full=True)

    html = page(client, manager)

    assert run.removals_held == 2
    assert "2 of the 4 synced directory entries (50 %) are no longer in Microsoft" in html


def test_page_shows_the_error_sentence_escaped(fake_ms, company, manager, client):
    setup = fake_ms.configure(company)
    setup.app.permissions.clear()
    sync_company_now(company=company, trigger=SyncRun.Trigger.COMMAND)

    html = page(client, manager)

    assert "The app is not allowed to read users" in html
    assert "Grant admin consent" in html
    assert setup.secret not in html
