"""The sync engine (aadsync/sync.py) against the fake Microsoft, through the real msal and requests code."""
import re
import threading
import time

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from aadsync.models import SyncRun
from aadsync.runs import SyncAlreadyRunning, sync_run_create, sync_run_progress
from aadsync.sync import sync_company_now, sync_run_execute
from directory.models import Contact, Person
from tests.fakems import generate_users, make_guest
from tests.fakems import make_user as graph_user

pytestmark = pytest.mark.django_db

COMMAND = SyncRun.Trigger.COMMAND


def sync(company, **kwargs) -> SyncRun:
    return sync_company_now(company=company, trigger=COMMAND, **kwargs)


def snapshot(company) -> list[tuple]:
    """Everything about the company's directory and its people, to compare before and after a run."""
    contacts = list(Contact.objects.filter(company=company).order_by("pk").values_list())
    people = list(Person.objects.filter(company=company).order_by("pk").values_list(
        "pk", "first_name", "last_name", "email", "display_name", "aad_contact_id"))
    return contacts + people


def statement(sql: str) -> str:
    """The statement's verb; Django logs an executemany as "N times: INSERT ..."."""
    return re.sub(r"^\d+ times: ", "", sql.lstrip()).split(None, 1)[0].upper()


def writes(queries) -> list[str]:
    """Writes to the directory (the run's own row and the stored delta position are aadsync's)."""
    return [q["sql"] for q in queries if statement(q["sql"]) in {"INSERT", "UPDATE", "DELETE", "COPY"}
            and "aadsync_" not in q["sql"]]


@pytest.fixture
def settings_fast_retries(settings):
    settings.AAD_GRAPH_MAX_RETRIES = 2
    settings.AAD_GRAPH_MAX_RETRY_SECONDS = 5
    settings.AAD_GRAPH_BACKOFF_SECONDS = 0.01
    return settings


# Field rules ------------------------------------------------------------------------------------------------

def test_sync_maps_the_seven_fields_and_marks_rows_synced(fake_ms, company):
    ada = graph_user(given_name="Ada", surname="Lovelace", upn="ada@cm1.example", mail="ada.l@cm1.example",
                    business_phones=["+82 2 1234 5678"], mobile_phone="+82 10 9876 5432")
    setup = fake_ms.configure(company, users=[ada])

    run = sync(company)

    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    contact = Contact.objects.get(company=company, object_id=ada["id"])
    assert (contact.user_principal_name, contact.first_name, contact.last_name, contact.email,
            contact.office_phone, contact.mobile_phone) == (
        "ada@cm1.example", "Ada", "Lovelace", "ada.l@cm1.example", "+82 2 1234 5678", "+82 10 9876 5432")
    assert contact.synced and contact.sync_label == "Yes"
    assert contact.aad_state == Contact.AadState.ACTIVE
    assert contact.last_synced_at is not None
    assert setup.tenant.tenant_id  # the run used the fake tenant's credentials


def test_sync_turns_nulls_into_empty_values(fake_ms, company):
    nobody = graph_user(given_name=None, surname=None, mail=None, business_phones=[], mobile_phone=None,
                       upn="room-101@cm1.example")
    fake_ms.configure(company, users=[nobody])

    sync(company)

    contact = Contact.objects.get(object_id=nobody["id"])
    assert (contact.first_name, contact.last_name, contact.email, contact.office_phone, contact.mobile_phone) == (
        "", "", "", "", "")
    assert contact.user_principal_name == "room-101@cm1.example"


def test_sync_keeps_the_first_of_several_business_phones(fake_ms, company):
    user = graph_user(business_phones=["+1 555 0100", "+1 555 0199"])
    fake_ms.configure(company, users=[user])

    sync(company)

    assert Contact.objects.get(object_id=user["id"]).office_phone == "+1 555 0100"


def test_sync_keeps_non_ascii_markup_and_longest_values_intact(fake_ms, company):
    users = [
        graph_user(given_name="민수", surname="Ødegaard-Šťastný", mail="minsu@cm1.example"),
        graph_user(given_name="<script>alert(1)</script>", surname="Robert'); DROP TABLE x;--"),
        graph_user(given_name="G" * 64, surname="S" * 64, upn="u" * 97 + "@cm1.example.com", mail="m" * 244 + "@cm1.example"),
    ]
    fake_ms.configure(company, users=users)

    run = sync(company)

    assert run.created == 3
    by_id = {c.object_id: c for c in Contact.objects.filter(company=company)}
    assert (by_id[users[0]["id"]].first_name, by_id[users[0]["id"]].last_name) == ("민수", "Ødegaard-Šťastný")
    assert by_id[users[1]["id"]].first_name == "<script>alert(1)</script>"
    longest = by_id[users[2]["id"]]
    assert (len(longest.first_name), len(longest.last_name), len(longest.user_principal_name), len(longest.email)) == (
        64, 64, 113, 256)



def test_sync_keeps_copy_s_special_characters_in_rows_and_account_lines(fake_ms, company):
    """PostgreSQL writes by COPY, whose text format gives tab, newline, backslash and \\N a meaning of their own."""
    odd = "Tab\there\nnew line \\ back\\slash \\N"
    user = graph_user(given_name=odd, surname="\\N", mobile_phone="+1\t555\\0100")
    setup = fake_ms.configure(company, users=[user])

    run = sync(company)

    contact = Contact.objects.get(company=company, object_id=user["id"])
    assert (contact.first_name, contact.last_name, contact.mobile_phone) == (odd, "\\N", "+1\t555\\0100")
    line = run.account_changes.get()
    assert line.name == f"{odd} \\N" and line.fields is None
    setup.tenant.update_user(user["id"], givenName="Plain")
    changed = sync(company, full=True)
    assert changed.account_changes.get().fields == {"first_name": [odd, "Plain"]}

def test_sync_marks_disabled_accounts(fake_ms, company):
    off = graph_user(account_enabled=False)
    on = graph_user()
    fake_ms.configure(company, users=[off, on])

    run = sync(company)

    assert run.disabled == 1
    assert Contact.objects.get(object_id=off["id"]).aad_state == Contact.AadState.DISABLED
    assert Contact.objects.get(object_id=off["id"]).sync_label.lower() == "yes (disabled in aad)"
    assert Contact.objects.get(object_id=on["id"]).aad_state == Contact.AadState.ACTIVE


def test_sync_re_enabled_account_becomes_active_again(fake_ms, company):
    user = graph_user(account_enabled=False)
    setup = fake_ms.configure(company, users=[user])
    sync(company)
    setup.tenant.update_user(user["id"], accountEnabled=True)

    run = sync(company)

    assert run.updated == 1
    assert Contact.objects.get(object_id=user["id"]).aad_state == Contact.AadState.ACTIVE


def test_sync_skips_guests_unless_included(fake_ms, company):
    guest = make_guest()
    member = graph_user()
    fake_ms.configure(company, users=[guest, member])

    run = sync(company)

    assert (run.created, run.skipped) == (1, 1)
    assert not Contact.objects.filter(object_id=guest["id"]).exists()


def test_sync_includes_guests_when_asked(fake_ms, company):
    guest = make_guest()
    ext_only = graph_user(upn="pat_partner.example#EXT#@cm1.onmicrosoft.com", user_type="Member")
    fake_ms.configure(company, users=[guest, ext_only], include_guests=True)

    run = sync(company)

    assert (run.created, run.skipped) == (2, 0)
    assert Contact.objects.get(object_id=guest["id"]).is_guest
    assert Contact.objects.get(object_id=ext_only["id"]).is_guest  # #EXT# in the UPN is a guest too


def test_sync_never_touches_manual_entries(fake_ms, company):
    manual = Contact.objects.create(company=company, first_name="Walk", last_name="In", email="walk@in.example")
    fake_ms.configure(company, users=3)

    run = sync(company)

    manual.refresh_from_db()
    assert (manual.synced, manual.object_id, manual.aad_state, manual.first_name) == (False, None, "", "Walk")
    assert run.removed == 0


def test_sync_keys_by_object_id_not_upn(fake_ms, company):
    user = graph_user(upn="old.name@cm1.example")
    setup = fake_ms.configure(company, users=[user])
    sync(company)
    setup.tenant.update_user(user["id"], userPrincipalName="new.name@cm1.example", mail="new.name@cm1.example")

    run = sync(company)

    assert (run.created, run.updated) == (0, 1)
    contact = Contact.objects.get(company=company)
    assert (contact.object_id, contact.user_principal_name) == (user["id"], "new.name@cm1.example")


def test_sync_is_scoped_to_the_company(fake_ms, company, other_company):
    fake_ms.configure(company, users=5, seed=1)
    fake_ms.configure(other_company, users=7, seed=2)

    sync(company)

    assert Contact.objects.filter(company=company).count() == 5
    assert Contact.objects.filter(company=other_company).count() == 0


def test_sync_of_a_generated_tenant_counts_every_kind(fake_ms, company):
    users = generate_users(60, seed=3)
    fake_ms.configure(company, users=users)

    run = sync(company)

    guests = sum(u["userType"] == "Guest" for u in users)
    disabled = sum(u["accountEnabled"] is False and u["userType"] != "Guest" for u in users)
    # Every account looked up is counted once: a disabled new account as disabled, not also as created.
    assert (run.looked_up, run.created, run.disabled, run.skipped) == (60, 60 - guests - disabled, disabled, guests)
    assert run.looked_up == run.created + run.updated + run.unchanged + run.disabled + run.removed + run.skipped
    assert guests == 3 and disabled == 3
    assert Contact.objects.filter(company=company, synced=True).count() == run.created + run.disabled


# Paging -----------------------------------------------------------------------------------------------------

def test_full_sync_reads_every_page_of_users_999_at_a_time(fake_ms, company):
    fake_ms.configure(company, users=2500)

    run = sync(company)

    position, *pages = fake_ms.requests_to()
    assert run.mode == SyncRun.Mode.FULL
    assert position["query"]["$deltatoken"] == "latest"  # the change position, taken before the listing
    assert run.pages_read == 3 and len(pages) == 3  # ceil(2500 / 999), where /users/delta pages by 200
    assert {page["endpoint"] for page in pages} == {"users"}
    assert pages[0]["query"]["$select"].split(",") == [
        "id", "userPrincipalName", "givenName", "surname", "mail", "businessPhones", "mobilePhone",
        "accountEnabled", "userType"]
    assert pages[0]["query"]["$top"] == "999"
    assert all("$skiptoken" in page["query"] for page in pages[1:])
    assert run.looked_up == 2500 == run.users_applied + run.skipped
    assert Contact.objects.filter(company=company).count() == run.created + run.disabled


def test_sync_follows_a_server_that_ignores_top_and_pages_by_100(fake_ms, company):
    fake_ms.configure(company, users=450)
    fake_ms.ignore_top(100)

    run = sync(company)

    assert run.pages_read == 5
    assert run.users_applied + run.skipped == 450


def test_sync_applies_each_page_with_a_constant_number_of_queries(fake_ms, company, make_company):
    """Directory queries grow with the number of pages, never with the number of users."""
    fake_ms.ignore_top(100)

    def queries_for(users: int, slug: str) -> int:
        tenant_company = make_company(slug=slug)
        fake_ms.configure(tenant_company, users=[graph_user() for _ in range(users)])
        with CaptureQueriesContext(connection) as captured:
            run = sync(tenant_company)
        assert run.created == users
        contact_sql = [q["sql"] for q in captured.captured_queries if "directory_contact" in q["sql"]]
        # One INSERT (PostgreSQL: COPY) per page, whatever the page size.
        assert len([sql for sql in contact_sql if statement(sql) in {"INSERT", "COPY"}]) == run.pages_read
        return len(contact_sql)

    two, four, eight = queries_for(200, "t2"), queries_for(400, "t4"), queries_for(800, "t8")

    per_page = (four - two) / 2
    assert eight - four == 4 * per_page  # linear in pages
    assert per_page == 2  # one SELECT of the page's existing rows, one INSERT of the new ones


# Re-runs ----------------------------------------------------------------------------------------------------

def test_full_resync_with_no_change_writes_nothing(fake_ms, company, make_user):
    setup = fake_ms.configure(company, users=120)
    sync(company)
    linked = Contact.objects.filter(company=company).first()
    person = make_user(company, login="501", first_name=linked.first_name or "X", last_name=linked.last_name or "Y",
                       email=linked.email or "x@y.example", aad_contact=linked)
    sync(company)  # the linked person takes AAD's values once
    before = snapshot(company)

    with CaptureQueriesContext(connection) as queries:
        run = sync(company, full=True)

    assert run.status == SyncRun.Status.SUCCEEDED
    assert writes(queries.captured_queries) == []
    assert (run.created, run.updated, run.removed) == (0, 0, 0)
    assert run.unchanged == 120 - run.skipped and run.mode == SyncRun.Mode.FULL
    assert snapshot(company) == before
    assert setup and person.pk


def test_writes_helper_sees_updates(fake_ms, company):
    """The no-write checks above would prove nothing if writes() could not see the engine's UPDATEs."""
    user = graph_user()
    setup = fake_ms.configure(company, users=[user])
    sync(company)
    setup.tenant.update_user(user["id"], givenName="Changed")

    with CaptureQueriesContext(connection) as queries:
        sync(company, full=True)

    assert [statement(sql) for sql in writes(queries.captured_queries)] == ["UPDATE"]


def test_rename_in_aad_reaches_the_linked_user_and_manager(fake_ms, company, make_user, manager):
    users = [make_user_dict("Kim", "Minsu", "kim@cm1.example"), make_user_dict("Rich", "Lee", "rich@cm1.example")]
    setup = fake_ms.configure(company, users=users)
    sync(company)
    kim_contact = Contact.objects.get(object_id=users[0]["id"])
    rich_contact = Contact.objects.get(object_id=users[1]["id"])
    kim = make_user(company, login="27728", first_name="Kim", last_name="Minsu", email="kim@cm1.example",
                    aad_contact=kim_contact)
    manager.aad_contact = rich_contact
    manager.save()
    setup.tenant.update_user(users[0]["id"], givenName="Kimberly", surname="Park", mail="kimberly.park@cm1.example")
    setup.tenant.update_user(users[1]["id"], givenName="Richard", surname="Wolfeschlegelsteinhausen",
                             mail="richard@cm1.example")

    run = sync(company)

    assert run.updated == 2
    kim.refresh_from_db()
    manager.refresh_from_db()
    assert (kim.first_name, kim.last_name, kim.email) == ("Kimberly", "Park", "kimberly.park@cm1.example")
    assert (manager.first_name, manager.last_name, manager.email) == (
        "Richard", "Wolfeschlegelsteinhausen", "richard@cm1.example")
    assert manager.display_name == "Richard Wolfeschlegelste" and len(manager.display_name) == 24
    assert kim.aad_contact_id == kim_contact.pk  # still linked


def test_linked_person_edited_locally_is_brought_back_to_aad(fake_ms, company, make_user):
    user = make_user_dict("Kim", "Minsu", "kim@cm1.example")
    fake_ms.configure(company, users=[user])
    sync(company)
    person = make_user(company, first_name="Kimmy", last_name="M", email="other@example.com",
                       aad_contact=Contact.objects.get(object_id=user["id"]))

    run = sync(company)

    person.refresh_from_db()
    assert run.mode == SyncRun.Mode.INCREMENTAL and (run.updated, run.created) == (0, 0)  # nothing changed in AAD
    assert (person.first_name, person.last_name, person.email) == ("Kim", "Minsu", "kim@cm1.example")


def test_aad_value_that_is_empty_keeps_the_linked_persons_own(fake_ms, company, make_user):
    user = make_user_dict("Kim", "Minsu", None)
    fake_ms.configure(company, users=[user])
    sync(company)
    person = make_user(company, email="kim@vertical.com", aad_contact=Contact.objects.get(object_id=user["id"]))

    sync(company)

    person.refresh_from_db()
    assert person.email == "kim@vertical.com"


def make_user_dict(given, surname, mail):
    return graph_user(given_name=given, surname=surname, mail=mail)


# Removals ---------------------------------------------------------------------------------------------------

def test_user_gone_from_a_complete_listing_is_marked_removed_not_deleted(fake_ms, company, make_user):
    users = generate_users(10, seed=5)
    setup = fake_ms.configure(company, users=users)
    sync(company)
    gone = Contact.objects.get(object_id=users[0]["id"])
    person = make_user(company, aad_contact=gone)
    setup.tenant.remove_user(users[0]["id"])

    run = sync(company, full=True)

    assert run.removed == 1 and run.removals_held == 0 and run.notice == ""
    gone.refresh_from_db()
    assert (gone.aad_state, gone.synced, gone.removed_reason) == (Contact.AadState.REMOVED, True, "missing")
    assert gone.sync_label.lower() == "yes (removed from aad)"
    person.refresh_from_db()
    assert person.aad_contact_id == gone.pk  # the link stays visible


def test_removed_user_coming_back_is_restored(fake_ms, company):
    users = generate_users(10, seed=5)
    setup = fake_ms.configure(company, users=users)
    sync(company)
    back = setup.tenant.remove_user(users[1]["id"])
    sync(company)
    setup.tenant.add_users([back])

    run = sync(company)

    contact = Contact.objects.get(object_id=back["id"])
    assert (contact.aad_state, contact.removed_reason) == (Contact.AadState.ACTIVE, "")
    assert run.updated == 1 and run.created == 0


def test_removing_more_than_20_percent_is_held_and_said(fake_ms, company):
    users = [graph_user() for _ in range(10)]
    setup = fake_ms.configure(company, users=users)
    sync(company)
    for user in users[:3]:
        setup.tenant.remove_user(user["id"])
    before = snapshot(company)

    run = sync(company, full=True)

    assert run.status == SyncRun.Status.SUCCEEDED
    assert (run.removed, run.removals_held) == (0, 3)
    assert "3 of the 10 synced directory entries (30 %)" in run.notice
    assert "20 % safety limit" in run.notice
    assert snapshot(company) == before


def test_removing_exactly_20_percent_is_applied(fake_ms, company):
    users = [graph_user() for _ in range(10)]
    setup = fake_ms.configure(company, users=users)
    sync(company)
    for user in users[:2]:
        setup.tenant.remove_user(user["id"])

    run = sync(company, full=True)

    assert (run.removed, run.removals_held) == (2, 0)


def test_held_removals_are_applied_when_allowed(fake_ms, company):
    users = [graph_user() for _ in range(4)]
    setup = fake_ms.configure(company, users=users)
    sync(company)
    for user in users[:3]:
        setup.tenant.remove_user(user["id"])

    run = sync(company, allow_removals=True, full=True)

    assert (run.removed, run.removals_held) == (3, 0)
    assert Contact.objects.filter(company=company, aad_state=Contact.AadState.REMOVED).count() == 3


def test_skipped_guests_are_not_marked_removed(fake_ms, company):
    guest = make_guest()
    fake_ms.configure(company, users=[guest, graph_user()], include_guests=True)
    sync(company)
    from aadsync.services import Actor, aad_settings_update

    aad_settings_update(company=company, data={"include_guests": False}, secret=None, actor=Actor(person=None))

    run = sync(company)

    assert (run.skipped, run.removed) == (1, 0)
    assert Contact.objects.get(object_id=guest["id"]).aad_state == Contact.AadState.ACTIVE


# Failures leave the directory as it was ---------------------------------------------------------------------

def test_failure_on_page_3_of_5_leaves_the_directory_untouched(fake_ms, company, make_user, settings_fast_retries):
    users = generate_users(500, seed=7)
    setup = fake_ms.configure(company, users=users)
    fake_ms.ignore_top(100)
    sync(company)
    linked = make_user(company, aad_contact=Contact.objects.get(object_id=users[250]["id"]))
    sync(company)
    # Change everything: renames on every page, one user gone (it would be removed), one new.
    for user in users[::7]:
        setup.tenant.update_user(user["id"], givenName="Renamed")
    setup.tenant.update_user(users[250]["id"], givenName="Linked", surname="Renamed")
    setup.tenant.remove_user(users[3]["id"])
    setup.tenant.add_users([graph_user()])
    before = snapshot(company)
    fake_ms.drop_connection(page=3)

    run = sync(company, full=True)

    assert run.status == SyncRun.Status.FAILED
    assert "could not be reached" in run.error and "the connection was dropped" in run.error
    assert "Nothing in the Company Directory was changed." in run.error
    assert [r["page"] for r in fake_ms.requests_to("users")][-1] == 3
    assert snapshot(company) == before
    linked.refresh_from_db()
    assert linked.first_name != "Linked"


def test_malformed_json_fails_the_run_and_changes_nothing(fake_ms, company):
    fake_ms.configure(company, users=300)
    fake_ms.ignore_top(100)
    fake_ms.malformed_json(page=2)

    run = sync(company)

    assert run.status == SyncRun.Status.FAILED
    assert run.error.startswith("Microsoft Graph sent a page of users that is not valid JSON (page 2).")
    assert not Contact.objects.filter(company=company).exists()


def test_connection_dropped_mid_body_fails_cleanly(fake_ms, company, settings_fast_retries):
    fake_ms.configure(company, users=300)
    fake_ms.ignore_top(100)
    fake_ms.drop_connection(page=2, mid_body=True)

    run = sync(company)

    assert run.status == SyncRun.Status.FAILED
    assert "could not be reached" in run.error
    assert not Contact.objects.filter(company=company).exists()


def test_one_dropped_connection_is_retried(fake_ms, company, settings_fast_retries):
    fake_ms.configure(company, users=300)
    fake_ms.ignore_top(100)
    fake_ms.drop_connection(page=2, times=1)

    run = sync(company)

    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    assert [r["page"] for r in fake_ms.requests_to("users")] == [1, 2, 2, 3]


def test_nextlink_loop_fails_the_run(fake_ms, company):
    fake_ms.configure(company, users=300)
    fake_ms.ignore_top(100)
    fake_ms.nextlink_loop(page=2)

    run = sync(company)

    assert run.status == SyncRun.Status.FAILED
    assert "next-page link that was already read (page 2)" in run.error
    assert len(fake_ms.requests_to("users")) == 2
    assert not Contact.objects.filter(company=company).exists()


def test_throttling_is_waited_out(fake_ms, company, settings_fast_retries):
    fake_ms.configure(company, users=300)
    fake_ms.ignore_top(100)
    fake_ms.throttle(times=2, retry_after="0.05", page=2)

    run = sync(company)

    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    assert [r["page"] for r in fake_ms.requests_to("users")] == [1, 2, 2, 2, 3]


def test_throttling_is_waited_out_until_the_run_s_time_limit_then_fails_with_its_sentence(
        fake_ms, company, settings_fast_retries):
    settings_fast_retries.AAD_SYNC_TIME_LIMIT = 3  # soft limit 2 s; reading must end by 1.8 s
    fake_ms.configure(company, users=300)
    fake_ms.ignore_top(100)
    fake_ms.throttle(times=None, retry_after="0.2", page=2)

    run = sync(company)

    assert run.status == SyncRun.Status.FAILED
    assert run.error.startswith("Microsoft is throttling the look-up (HTTP 429, too many requests) and asked it to "
                                "wait 0 seconds more, longer than the")
    # Far more than AAD_GRAPH_MAX_RETRIES (2): throttling alone never gives up before the run's limit.
    assert 6 <= len(fake_ms.requests_to("users")) - 1 <= 10
    assert not Contact.objects.filter(company=company).exists()


def test_a_retry_after_longer_than_the_time_left_fails_at_once(fake_ms, company, settings_fast_retries):
    fake_ms.configure(company, users=300)
    fake_ms.ignore_top(100)
    fake_ms.throttle(times=None, retry_after="86400", page=2)  # a day: past AAD_SYNC_TIME_LIMIT (30 min)

    run = sync(company)

    assert run.status == SyncRun.Status.FAILED
    assert "asked it to wait 86400 seconds more" in run.error
    assert len(fake_ms.requests_to("users")) == 2


# Error sentences ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("arrange", "start"),
    [
        (lambda ms, s: s.app.secrets.clear() or s.app.add_secret("another-value"),
         "Microsoft rejected the Secret Code (AADSTS7000215)"),
        (lambda ms, s: setattr(s.app.secrets[0], "expires_at", 1.0), "The Secret Code has expired (AADSTS7000222)"),
        (lambda ms, s: s.tenant.apps.clear(), "Microsoft found no app with this Client ID in the tenant (AADSTS700016)"),
        (lambda ms, s: ms.directory.tenants.clear(), "Microsoft found no tenant with this Tenant ID (AADSTS90002)"),
        (lambda ms, s: s.app.permissions.clear(), ("The app is not allowed to read users: the Microsoft Graph "
                                                   "application permission User.Read.All is missing")),
        (lambda ms, s: ms.server_error(503, times=None), "Microsoft Graph kept answering with server errors (HTTP 503)"),
    ],
    ids=["wrong-secret", "expired-secret", "unknown-client", "unknown-tenant", "no-permission", "graph-down"],
)
def test_each_failure_has_its_own_sentence(fake_ms, fake_tenant, arrange, start, settings_fast_retries):
    arrange(fake_ms, fake_tenant)

    run = sync(fake_tenant.company)

    assert run.status == SyncRun.Status.FAILED
    assert run.error.startswith(start), run.error
    assert run.error.endswith("Nothing in the Company Directory was changed.")
    assert run.finished_at is not None


def test_unreachable_microsoft_has_its_sentence(fake_ms, fake_tenant, settings):
    settings.AAD_AUTHORITY_HOST = fake_ms.closed_url()

    run = sync(fake_tenant.company)

    assert run.status == SyncRun.Status.FAILED
    assert run.error.startswith("Microsoft could not be reached (127.0.0.1:")
    assert "the connection failed" in run.error


def test_unreachable_graph_has_its_sentence(fake_ms, fake_tenant, settings, settings_fast_retries):
    settings.GRAPH_API_URL = fake_ms.closed_url() + "/v1.0"

    run = sync(fake_tenant.company)

    assert run.status == SyncRun.Status.FAILED
    assert run.error.startswith("Microsoft could not be reached (127.0.0.1:")


def test_incomplete_settings_say_what_to_enter(company):
    run = sync(company)

    assert run.status == SyncRun.Status.FAILED
    assert run.error.startswith("The MS AAD settings are incomplete")


# Runs -------------------------------------------------------------------------------------------------------

def test_second_run_while_one_is_active_is_refused(fake_tenant):
    active = sync_run_create(company=fake_tenant.company, trigger=SyncRun.Trigger.ONE_TIME)

    with pytest.raises(SyncAlreadyRunning) as refused:
        sync(fake_tenant.company)

    assert refused.value.active == active
    assert "already running" in str(refused.value)
    assert SyncRun.objects.filter(company=fake_tenant.company).count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_runs_from_two_connections_leave_one_running(fake_ms, company):
    """Two threads (two database connections) start a sync of a slow tenant at once: one runs, one is refused."""
    fake_ms.configure(company, users=300)
    fake_ms.ignore_top(100)
    fake_ms.add_latency(0.2)
    results, barrier = [], threading.Barrier(2)

    def start():
        barrier.wait()
        try:
            results.append(sync(company).status)
        except SyncAlreadyRunning:
            results.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=start) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(results) == ["refused", SyncRun.Status.SUCCEEDED]
    assert SyncRun.objects.filter(company=company).count() == 1


def test_executing_a_run_that_is_not_queued_does_nothing(fake_ms, fake_tenant):
    run = sync(fake_tenant.company)
    requests_before = len(fake_ms.requests)

    again = sync_run_execute(run=run)

    assert again.status == SyncRun.Status.SUCCEEDED and again.pk == run.pk
    assert len(fake_ms.requests) == requests_before


def test_run_records_trigger_times_counts_and_pages(fake_tenant):
    run = sync(fake_tenant.company)

    run.refresh_from_db()
    assert run.trigger == SyncRun.Trigger.COMMAND
    assert run.started_at <= run.finished_at
    assert run.pages_read == 1
    assert run.looked_up == 20 == run.created + run.disabled + run.skipped
    assert sync_run_progress(run)["created"] == run.created


@pytest.mark.django_db(transaction=True)
def test_progress_is_visible_from_another_connection_while_running(fake_ms, company):
    """While page 4 of 4 is slow, the run's progress (pages and users read) is readable from elsewhere; nothing is
    written while Microsoft is still being read."""
    fake_ms.configure(company, users=400)
    fake_ms.ignore_top(100)
    fake_ms.add_fault("latency", delay=1.5, page=4)  # a window of six progress ticks, even on a loaded machine
    run = sync_run_create(company=company, trigger=COMMAND)
    seen = []

    def watch():
        import time

        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            loaded = SyncRun.objects.get(pk=run.pk)  # this thread's own connection
            progress = sync_run_progress(loaded)
            if progress["status"] == "running" and progress["pages_read"] >= 3:
                seen.append(progress)
                break
            time.sleep(0.02)
        connection.close()

    watcher = threading.Thread(target=watch)
    watcher.start()
    sync_run_execute(run=run)
    watcher.join()

    assert seen and (seen[0]["pages_read"], seen[0]["users_read"], seen[0].get("users_applied", 0)) == (3, 300, 0)


# The command --------------------------------------------------------------------------------------------------

def test_command_prints_one_summary_line(fake_tenant, capsys):
    call_command("aadsync", "--company", fake_tenant.company.slug)

    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1
    assert out[0].startswith("cm1-vertical (full): ")
    assert out[0].startswith("cm1-vertical (full): Looked up 20 accounts: 18 created, 0 changed, 0 unchanged, "
                             "1 disabled, 1 skipped (guests or out of scope); 0 removed or out of scope (no longer listed); 1 pages in ")
    assert out[0].endswith(" s")


def test_command_failure_prints_the_sentence_and_exits_1(fake_ms, fake_tenant):
    fake_tenant.app.permissions.clear()

    with pytest.raises(CommandError) as failed:
        call_command("aadsync", "--company", fake_tenant.company.slug)

    assert str(failed.value).startswith("The app is not allowed to read users")
    assert failed.value.returncode == 1


def test_command_keeps_stdout_one_line_and_says_held_removals_on_stderr(fake_ms, company, capsys):
    users = [graph_user() for _ in range(4)]
    setup = fake_ms.configure(company, users=users)
    sync(company)
    setup.tenant.remove_user(users[0]["id"])
    setup.tenant.remove_user(users[1]["id"])

    call_command("aadsync", "--company", company.slug, "--full")

    captured = capsys.readouterr()
    assert len(captured.out.strip().splitlines()) == 1
    assert "; 2 removals held back; 1 pages in " in captured.out
    assert "safety limit" in captured.err


def test_a_wait_for_the_next_page_stays_shown_while_the_engine_applies_the_page_before_it(company):
    """Pages are read ahead: the reader waiting for page 2 and the engine then counting page 1 must not make the
    page forget the wait (it did, and the 150 s test below failed whenever the count came first)."""
    from aadsync.sync.progress import ProgressPublisher

    run = sync_run_create(company=company, trigger=COMMAND)
    run.status = SyncRun.Status.RUNNING
    publisher = ProgressPublisher(run)
    publisher.waiting(150, "throttled")  # the reader, for page 2
    publisher.update(pages_read=1, users_read=100)  # then the engine, for page 1
    with publisher:  # its thread publishes what it holds before it looks at the stop
        pass

    shown = sync_run_progress(run)
    assert shown["pages_read"] == 1 and shown["users_read"] == 100
    assert 148 <= shown["waiting_seconds"] <= 150 and shown["waiting_why"] == "throttled"


def test_a_wait_that_is_over_is_no_longer_shown(company):
    from aadsync.sync.progress import ProgressPublisher

    run = sync_run_create(company=company, trigger=COMMAND)
    run.status = SyncRun.Status.RUNNING
    publisher = ProgressPublisher(run)
    publisher.waiting(-1, "HTTP 503")  # a wait whose time has passed
    publisher.update(pages_read=2)
    with publisher:
        pass

    assert sync_run_progress(run)["waiting_seconds"] == 0


def test_a_retry_after_of_150_seconds_is_waited_out_and_shown_while_it_lasts(fake_ms, company):
    """Time-compressed: the client's clock and sleep are the test's, so 150 s of Retry-After pass at once, while
    the page's progress (published by the engine's thread) says how long the look-up waits and why."""
    from aadsync.microsoft.graph import GraphClient
    from aadsync.microsoft.tokens import Credentials, TokenSource

    setup = fake_ms.configure(company, users=300)
    fake_ms.ignore_top(100)
    fake_ms.throttle(times=1, retry_after="150", page=2)  # longer than the two minutes the old client allowed
    run = sync_run_create(company=company, trigger=COMMAND)
    now = [1000.0]
    shown = []

    def sleep(seconds):
        # Real time for the progress thread to publish the wait. (This is the prefetch thread, whose connection
        # cannot see the test's transaction: read the cache directly.)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            progress = sync_run_progress(SyncRun(pk=run.pk, queued_at=run.queued_at, status="running"))
            if progress["waiting_seconds"]:
                break
            time.sleep(0.05)
        shown.append(progress)
        now[0] += seconds

    client = GraphClient(TokenSource(Credentials(setup.tenant.tenant_id, setup.app.client_id, setup.secret)),
                         sleep=sleep, clock=lambda: now[0], deadline=now[0] + 1740)
    sync_run_execute(run=run, client=client)

    run.refresh_from_db()
    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    assert [r["page"] for r in fake_ms.requests_to("users")] == [1, 2, 2, 3]
    assert len(shown) == 1 and 148 <= shown[0]["waiting_seconds"] <= 150 and shown[0]["waiting_why"] == "throttled"
