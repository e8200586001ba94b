"""A look-up scoped to groups (aadsync/sync/sources.py GroupMembers) against the fake's groups: nested members,
members leaving and coming back, a group deleted in AAD, the group permission missing."""
import pytest

from aadsync.models import AadSettings, SyncRun
from aadsync.services import Actor, aad_settings_update
from directory.models import Contact
from tests.aadsync.sync.test_engine import snapshot, sync
from tests.fakems import make_guest, make_user
from tests.fakems.groups import GROUP_MEMBER_READ_ALL
from tests.fakems.model import USER_READ_ALL

pytestmark = pytest.mark.django_db
STATE = Contact.AadState


def _scope(company, *groups) -> None:
    aad_settings_update(company=company, data={"scope": "groups",
                                               "scope_groups": [{"id": g.id, "name": g.display_name} for g in groups]},
                        secret="", actor=Actor(person=None, source="test"))


@pytest.fixture
def tenant(fake_ms, company):
    """12 users: Sales holds 3 directly and Sales-EMEA (nested) holds 2 more; 7 users are in no group."""
    users = [make_user(given_name=f"U{n}", surname="Test", mail=f"u{n}@cm1.example") for n in range(12)]
    setup = fake_ms.configure(company, users=users, permissions=(USER_READ_ALL, GROUP_MEMBER_READ_ALL))
    setup.emea = setup.tenant.groups.add("Sales EMEA", members=[users[3]["id"], users[4]["id"]])
    setup.sales = setup.tenant.groups.add("Sales", members=[users[0]["id"], users[1]["id"], users[2]["id"],
                                                            setup.emea.id], kind="m365")
    setup.users = users
    return setup


def _states(company) -> dict[str, str]:
    return dict(Contact.objects.filter(company=company).values_list("object_id", "aad_state"))


def test_only_members_of_the_chosen_groups_are_looked_up_nested_ones_too(fake_ms, company, tenant):
    _scope(company, tenant.sales)

    run = sync(company)

    assert run.status == "succeeded" and run.looked_up == 5 and run.created == 5
    assert set(_states(company)) == {user["id"] for user in tenant.users[:5]}
    listed = fake_ms.requests_to("group_members")
    assert listed and all(r["query"]["$top"] == "999" for r in listed)


def test_a_user_in_two_groups_is_looked_up_once(fake_ms, company, tenant):
    _scope(company, tenant.sales, tenant.emea)

    run = sync(company)

    assert run.looked_up == 5 and Contact.objects.filter(company=company).count() == 5


def test_a_member_who_leaves_is_out_of_scope_and_current_again_when_back(fake_ms, company, tenant, settings):
    settings.AAD_REMOVAL_HOLD_PERCENT = 50
    _scope(company, tenant.sales)
    sync(company)
    leaver = tenant.users[3]["id"]
    tenant.emea.members.remove(leaver)

    run = sync(company)

    assert run.mode == SyncRun.Mode.FULL and run.removed == 1  # "removed or out of scope"
    contact = Contact.objects.get(company=company, object_id=leaver)
    assert (contact.aad_state, contact.synced) == (STATE.OUT_OF_SCOPE, True)  # kept, never deleted
    assert run.account_changes.get(object_id=leaver).kind == "out_scope"
    tenant.emea.members.append(leaver)

    back = sync(company)

    assert Contact.objects.get(company=company, object_id=leaver).aad_state == STATE.ACTIVE
    assert back.updated == 1 and back.account_changes.get(object_id=leaver).kind == "restored"


def test_leaving_the_scope_counts_toward_the_removal_hold(fake_ms, company, tenant):
    _scope(company, tenant.sales)
    sync(company)
    tenant.sales.members.remove(tenant.emea.id)  # 2 of 5 (40 %) leave at once

    run = sync(company)

    assert (run.removed, run.removals_held) == (0, 2)
    assert "no longer in the look-up's groups" in run.notice and "marked out of scope" in run.notice
    assert set(_states(company).values()) == {STATE.ACTIVE}


def test_the_guest_and_disabled_rules_work_the_same_inside_the_scope(fake_ms, company, tenant):
    guest = make_guest()
    tenant.tenant.add_users([guest])
    tenant.tenant.update_user(tenant.users[1]["id"], accountEnabled=False)
    tenant.sales.members.append(guest["id"])
    _scope(company, tenant.sales)

    run = sync(company)

    assert (run.looked_up, run.created, run.disabled, run.skipped) == (6, 4, 1, 1)
    assert _states(company)[tenant.users[1]["id"]] == STATE.DISABLED


def test_linked_people_follow_their_account_inside_the_scope(fake_ms, company, tenant, make_user):
    _scope(company, tenant.sales)
    sync(company)
    person = make_user(company, login="27000", aad_contact=Contact.objects.get(object_id=tenant.users[0]["id"]))
    tenant.tenant.update_user(tenant.users[0]["id"], givenName="Renamed")

    sync(company)

    person.refresh_from_db()
    assert person.first_name == "Renamed"


def test_changing_the_scope_starts_with_a_full_read_and_all_users_bring_everyone_back(fake_ms, company, tenant,
                                                                                     settings):
    settings.AAD_REMOVAL_HOLD_PERCENT = 100
    sync(company)  # all users, and a change position
    assert AadSettings.objects.get(company=company).delta_link
    _scope(company, tenant.sales)

    scoped = sync(company)

    assert scoped.mode == SyncRun.Mode.FULL and scoped.removed == 7  # the 7 outside the groups
    assert list(_states(company).values()).count(STATE.OUT_OF_SCOPE) == 7
    aad_settings_update(company=company, data={"scope": "all", "scope_groups": []}, secret="",
                        actor=Actor(person=None, source="test"))

    everyone = sync(company)

    assert everyone.mode == SyncRun.Mode.FULL and set(_states(company).values()) == {STATE.ACTIVE}


def test_a_group_deleted_in_aad_fails_the_run_with_a_sentence_and_changes_nothing(fake_ms, company, tenant):
    _scope(company, tenant.sales)
    sync(company)
    before = snapshot(company)
    tenant.tenant.groups.remove(tenant.sales.id)

    run = sync_company_failed(company)

    assert "Microsoft found no group Sales in the tenant" in run.error
    assert snapshot(company) == before


def test_without_the_group_permission_the_sentence_says_which_to_grant(fake_ms, company, tenant):
    tenant.app.permissions.discard(GROUP_MEMBER_READ_ALL)
    _scope(company, tenant.sales)

    run = sync_company_failed(company)

    assert "GroupMember.Read.All" in run.error and "Grant admin consent" in run.error
    assert not Contact.objects.filter(company=company).exists()


def sync_company_failed(company) -> SyncRun:
    from aadsync.sync import sync_company_now

    run = sync_company_now(company=company, trigger=SyncRun.Trigger.COMMAND)
    assert run.status == SyncRun.Status.FAILED
    return run
