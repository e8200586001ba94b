"""Incremental look-ups with Graph delta queries (aadsync/sync/), against the fake's /users/delta."""
import threading
import time

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from aadsync.models import AadSettings, SyncRun
from aadsync.services import Actor, aad_settings_update
from aadsync.sync import delta_link_drop, sync_company_now
from directory.models import Contact
from tests.aadsync.run_helpers import published  # noqa: F401 (fixture)
from tests.aadsync.sync.test_engine import snapshot, writes
from tests.fakems import make_guest, make_user

pytestmark = pytest.mark.django_db


def sync(company, **kwargs) -> SyncRun:
    run = sync_company_now(company=company, trigger=SyncRun.Trigger.COMMAND, **kwargs)
    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    return run


def stored_link(company) -> str:
    return AadSettings.objects.get(company=company).delta_link


@pytest.fixture
def synced(fake_ms, company):
    """A company whose first (full) look-up is done: 10 users, a stored deltaLink."""
    users = [make_user(given_name=f"User{n}", surname="Test", mail=f"user{n}@cm1.example",
                       business_phones=[f"+1 555 01{n:02d}"], mobile_phone=f"+1 555 02{n:02d}") for n in range(10)]
    setup = fake_ms.configure(company, users=users)
    sync(company)
    fake_ms.requests.clear()
    return setup, users


def test_first_run_is_full_and_stores_the_delta_link(fake_ms, company):
    fake_ms.configure(company, users=5)

    run = sync(company)

    assert run.mode == SyncRun.Mode.FULL
    assert "$deltatoken=" in stored_link(company)
    assert stored_link(company).startswith(fake_ms.graph_url + "/users/delta?")
    # "Sync from now" first (no users, a deltaLink), then the listing itself at 999 a page.
    first, *listing = fake_ms.requests_to()
    assert (first["endpoint"], first["query"]["$deltatoken"]) == ("users_delta", "latest")
    assert [(r["endpoint"], r["query"]["$top"]) for r in listing] == [("users", "999")]


def test_changes_made_while_a_full_listing_is_read_come_in_the_next_round(fake_ms, company):
    setup = fake_ms.configure(company, users=5)
    first = setup.tenant.users[0]
    fake_ms.add_latency(0.3, endpoint=("users",))  # the fake answers (and lists) at arrival, then waits

    def change_once_the_listing_is_asked_for():
        deadline = time.monotonic() + 10
        while not fake_ms.requests_to("users") and time.monotonic() < deadline:
            time.sleep(0.005)
        setup.tenant.update_user(first["id"], givenName="DuringTheListing")

    # AAD changes while the listing is read: the position was taken before it, so the next round has the change.
    changer = threading.Thread(target=change_once_the_listing_is_asked_for)
    changer.start()
    sync(company)
    changer.join()
    fake_ms.faults.clear()

    run = sync(company)

    assert run.mode == SyncRun.Mode.INCREMENTAL and run.updated == 1
    assert Contact.objects.get(object_id=first["id"]).first_name == "DuringTheListing"


def test_next_run_reads_only_the_changes(fake_ms, company, synced):
    setup, users = synced
    setup.tenant.update_user(users[3]["id"], givenName="Renamed")
    new = make_user(given_name="New", surname="Person")
    setup.tenant.add_users([new])

    run = sync(company)

    assert run.mode == SyncRun.Mode.INCREMENTAL
    assert (run.looked_up, run.created, run.updated, run.unchanged, run.removed) == (2, 1, 1, 0, 0)
    assert run.pages_read == 1
    delta, completion = fake_ms.requests_to()
    assert "$deltatoken" in delta["query"]
    assert completion["query"]["$filter"] == f"id in ('{new['id']}')"  # the new user's full record
    assert Contact.objects.get(object_id=users[3]["id"]).first_name == "Renamed"
    assert Contact.objects.get(object_id=new["id"]).first_name == "New"


def test_incremental_run_with_no_change_writes_nothing_to_the_directory(fake_ms, company, synced):
    before = snapshot(company)

    with CaptureQueriesContext(connection) as queries:
        run = sync(company)

    assert run.mode == SyncRun.Mode.INCREMENTAL
    assert (run.created, run.updated, run.removed, run.pages_read) == (0, 0, 0, 1)
    assert writes(queries.captured_queries) == []
    assert snapshot(company) == before


def test_return_minimal_changes_do_not_erase_fields_not_sent(fake_ms, company, synced):
    setup, users = synced
    setup.tenant.update_user(users[2]["id"], givenName="Only")

    run = sync(company)

    (request,) = fake_ms.requests_to()
    assert request["prefer"] == "return=minimal"
    contact = Contact.objects.get(object_id=users[2]["id"])
    assert run.updated == 1
    assert (contact.first_name, contact.last_name, contact.email, contact.office_phone, contact.mobile_phone) == (
        "Only", "Test", "user2@cm1.example", "+1 555 0102", "+1 555 0202")


def test_a_property_set_to_null_is_cleared(fake_ms, company, synced):
    setup, users = synced
    setup.tenant.update_user(users[2]["id"], mobilePhone=None, businessPhones=[])

    sync(company)

    contact = Contact.objects.get(object_id=users[2]["id"])
    assert (contact.mobile_phone, contact.office_phone, contact.email) == ("", "", "user2@cm1.example")


def test_disabling_an_account_reaches_the_directory(fake_ms, company, synced):
    setup, users = synced
    setup.tenant.update_user(users[1]["id"], accountEnabled=False)

    run = sync(company)

    assert run.disabled == 1
    assert Contact.objects.get(object_id=users[1]["id"]).aad_state == Contact.AadState.DISABLED


@pytest.mark.parametrize("reason", ["deleted", "changed"])
def test_removed_users_are_marked_with_microsofts_reason(fake_ms, company, synced, reason):
    setup, users = synced
    setup.tenant.remove_user(users[4]["id"], reason=reason)

    run = sync(company)

    contact = Contact.objects.get(object_id=users[4]["id"])
    assert run.removed == 1
    assert (contact.aad_state, contact.removed_reason, contact.synced) == (Contact.AadState.REMOVED, reason, True)


def test_a_soft_deleted_user_restored_comes_back(fake_ms, company, synced):
    setup, users = synced
    gone = setup.tenant.remove_user(users[5]["id"], reason="changed")
    sync(company)
    setup.tenant.add_users([gone])

    run = sync(company)

    contact = Contact.objects.get(object_id=users[5]["id"])
    assert run.updated == 1
    assert (contact.aad_state, contact.removed_reason, contact.first_name) == (Contact.AadState.ACTIVE, "", "User5")


def test_removals_named_by_microsoft_are_not_held(fake_ms, company, synced):
    """Explicit @removed entries are Microsoft's word, not an inference from a listing that may be partial."""
    setup, users = synced
    for user in users[:5]:
        setup.tenant.remove_user(user["id"])

    run = sync(company)

    assert (run.removed, run.removals_held) == (5, 0)


def test_soft_deleted_users_are_no_longer_listed_by_a_full_read_and_are_marked_removed(fake_ms, company, synced):
    """A full read lists /users, where soft-deleted users no longer appear: removed, reason "missing" (a change
    round, which names them, keeps Microsoft's own reason: test_removed_users_are_marked_with_microsofts_reason)."""
    setup, users = synced
    setup.tenant.remove_user(users[6]["id"], reason="changed")

    run = sync(company, full=True)

    assert run.mode == SyncRun.Mode.FULL and run.removed == 1
    assert Contact.objects.get(object_id=users[6]["id"]).aad_state == Contact.AadState.REMOVED


def test_new_guest_in_a_delta_round_is_skipped_unless_included(fake_ms, company, synced):
    setup, _ = synced
    setup.tenant.add_users([make_guest()])

    run = sync(company)

    assert (run.created, run.skipped) == (0, 1)


@pytest.mark.parametrize(("status", "code"), [(400, "syncStateNotFound"), (400, "SyncStateNotFound"),
                                              (400, "SYNCSTATENOTFOUND"), (400, "resyncRequired"),
                                              (400, "ResyncRequired"), (404, "syncStateNotFound"),
                                              (410, None), (410, "resyncRequired"), (410, "Gone")])
def test_expired_delta_token_falls_back_to_a_full_listing_in_the_same_run(fake_ms, company, synced, status, code):
    setup, users = synced
    setup.tenant.update_user(users[0]["id"], givenName="Changed")
    fake_ms.expire_delta_tokens(setup.tenant, status=status, code=code)
    old_link = stored_link(company)

    run = sync(company)

    assert run.mode == SyncRun.Mode.FULL
    assert (run.removed, run.removals_held, run.updated, run.unchanged) == (0, 0, 1, 9)
    assert "expires after about 7 days" in run.notice
    refused, latest, *listing = fake_ms.requests_to()
    assert refused["query"]["$deltatoken"] not in ("", "latest") and refused["status"] == status
    assert latest["query"]["$deltatoken"] == "latest" and [r["endpoint"] for r in listing] == ["users"]
    assert stored_link(company) not in ("", old_link)
    assert Contact.objects.filter(company=company, aad_state=Contact.AadState.REMOVED).count() == 0


def test_fallback_full_listing_still_marks_a_really_deleted_user(fake_ms, company, synced):
    setup, users = synced
    setup.tenant.remove_user(users[9]["id"])
    fake_ms.expire_delta_tokens(setup.tenant)

    run = sync(company)

    assert run.mode == SyncRun.Mode.FULL and run.removed == 1
    assert Contact.objects.get(object_id=users[9]["id"]).removed_reason == "missing"


def test_an_old_token_expires_after_seven_days(fake_ms, company, synced):
    fake_ms.delta_token_ttl = 0  # every stored token is now older than Microsoft keeps them

    run = sync(company)

    assert run.mode == SyncRun.Mode.FULL


def test_full_flag_drops_the_stored_position(fake_ms, company, synced):
    run = sync(company, full=True)

    assert run.mode == SyncRun.Mode.FULL
    assert [r["query"].get("$deltatoken") for r in fake_ms.requests_to()] == ["latest", None]  # never the old one
    assert stored_link(company)  # and a new one is stored


def test_command_full_option_reads_the_full_listing(fake_ms, company, synced, capsys):
    call_command("aadsync", "--company", company.slug, "--full")

    run = SyncRun.objects.filter(company=company).first()
    assert run.mode == SyncRun.Mode.FULL
    assert capsys.readouterr().out.startswith(f"{company.slug} (full): ")


def test_changing_the_tenant_or_client_makes_the_next_run_full(fake_ms, company, synced):
    setup, _ = synced
    other = fake_ms.add_app(setup.tenant, secret="other-app-secret")
    aad_settings_update(company=company, data={"client_id": other.client_id}, secret="other-app-secret",
                        actor=Actor(person=None))

    run = sync(company)

    assert run.mode == SyncRun.Mode.FULL


def test_turning_guests_on_makes_the_next_run_full(fake_ms, company, synced):
    setup, _ = synced
    guest = make_guest()
    setup.tenant.add_users([guest])
    sync(company)  # incremental: the guest is skipped
    aad_settings_update(company=company, data={"include_guests": True}, secret=None, actor=Actor(person=None))

    run = sync(company)

    assert run.mode == SyncRun.Mode.FULL
    assert Contact.objects.filter(object_id=guest["id"]).exists()


def test_failed_incremental_run_keeps_the_directory_and_the_position(fake_ms, company, synced, settings):
    settings.AAD_GRAPH_MAX_RETRIES = 0
    setup, users = synced
    for user in users:
        setup.tenant.update_user(user["id"], givenName="Changed")
    fake_ms.ignore_top(3)
    fake_ms.drop_connection(page=2)
    link, before = stored_link(company), snapshot(company)

    run = sync_company_now(company=company, trigger=SyncRun.Trigger.COMMAND)

    assert run.status == SyncRun.Status.FAILED and run.mode == SyncRun.Mode.INCREMENTAL
    assert snapshot(company) == before and stored_link(company) == link
    fake_ms.faults.clear()
    again = sync(company)  # the same changes come again from the kept position
    assert again.updated == 10


def test_history_keeps_the_mode_of_each_run(fake_ms, company, synced):
    delta_link_drop(company=company)
    sync(company)
    sync(company)

    assert list(SyncRun.objects.filter(company=company).order_by("pk").values_list("mode", flat=True)) == [
        "full", "full", "incremental"]


# The MS AAD page ----------------------------------------------------------------------------------------------

def test_full_resync_button_drops_the_position_and_queues_a_full_run(fake_ms, company, synced, manager_client,
                                                                     published, django_capture_on_commit_callbacks):
    from aadsync.sync import sync_run_execute

    page = manager_client.get("/aad/").content.decode()
    assert 'data-testid="full-resync"' in page
    with django_capture_on_commit_callbacks(execute=True):
        response = manager_client.post("/aad/sync/", {"full": "1"})

    assert response.status_code == 302
    assert stored_link(company) == ""
    run = SyncRun.objects.get(pk=published[-1])
    assert run.status == SyncRun.Status.QUEUED
    assert sync_run_execute(run=run).mode == SyncRun.Mode.FULL


def test_page_and_history_show_whether_runs_were_full_or_incremental(fake_ms, company, synced, manager_client):
    sync(company)

    latest = manager_client.get("/aad/").content.decode()
    history = manager_client.get("/aad/history/").content.decode()

    assert 'data-testid="run-mode">(incremental)' in latest
    assert history.count('data-testid="run-mode">Incremental') == 1
    assert history.count('data-testid="run-mode">Full') == 1


def test_a_change_to_a_skipped_guest_does_not_create_a_row(fake_ms, company):
    """Under return=minimal a renamed guest arrives as {id, givenName}: nothing says it is a guest."""
    guest = make_guest()
    setup = fake_ms.configure(company, users=[guest, make_user()])
    sync(company)
    setup.tenant.update_user(guest["id"], givenName="Renamed")

    run = sync(company)

    assert (run.mode, run.created, run.skipped) == (SyncRun.Mode.INCREMENTAL, 0, 1)
    assert not Contact.objects.filter(object_id=guest["id"]).exists()
