"""Preview (a run with preview=True): reads Microsoft exactly as a look-up would and writes nothing to the
directory; its counts are what the following real look-up does."""
import pytest
from django.core.management import call_command

from aadsync.models import AadSettings, SyncRun
from aadsync.runs import SyncAlreadyRunning, sync_run_create
from aadsync.sync import sync_company_now
from tests.aadsync.run_helpers import published  # noqa: F401 (fixture)
from tests.aadsync.sync.test_engine import snapshot, sync
from tests.fakems import generate_users
from tests.fakems import make_user as graph_user

pytestmark = pytest.mark.django_db
COUNTS = ("looked_up", "created", "updated", "unchanged", "disabled", "removed", "skipped", "removals_held")


def preview(company, **kwargs) -> SyncRun:
    run = sync_company_now(company=company, trigger=SyncRun.Trigger.COMMAND, preview=True, **kwargs)
    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    return run


def _counts(run) -> dict:
    return {name: getattr(run, name) for name in COUNTS}


@pytest.fixture
def changed_tenant(fake_ms, company, make_user):
    """A synced tenant, then renames, a disabled account, a removal and new users for the next look-up."""
    users = generate_users(60, seed=4)
    setup = fake_ms.configure(company, users=users)
    sync(company)
    make_user(company, login="27001", aad_contact=setup.company.contacts.get(object_id=users[2]["id"]))
    for user in users[10:14]:
        setup.tenant.update_user(user["id"], givenName="Renamed")
    setup.tenant.update_user(users[20]["id"], accountEnabled=False)
    setup.tenant.remove_user(users[30]["id"])
    setup.tenant.add_users([graph_user(), graph_user()])
    setup.users = users
    return setup


@pytest.mark.parametrize("full", [False, True], ids=["incremental", "full"])
def test_preview_counts_are_what_the_following_look_up_does_and_it_writes_nothing(fake_ms, company,
                                                                                   changed_tenant, full):
    before = snapshot(company)
    link = AadSettings.objects.get(company=company).delta_link

    seen = preview(company, full=full)

    assert snapshot(company) == before  # the directory and linked people exactly as they were
    assert AadSettings.objects.get(company=company).delta_link == link  # the change position untouched
    assert seen.preview and seen.mode == (SyncRun.Mode.FULL if full else SyncRun.Mode.INCREMENTAL)
    done = sync(company, full=full)
    assert _counts(seen) == _counts(done)
    assert seen.updated >= 4 and seen.created == 2 and seen.disabled == 1 and seen.removed == 1


def test_a_user_microsoft_lists_again_on_a_later_page_is_counted_as_the_look_up_counts_it(fake_ms, company):
    """Microsoft may list a user more than once in one change round: the preview plans the later mention against
    what it would have written (the look-up finds the row it wrote), not against the directory as it was."""
    users = generate_users(20, seed=5)
    setup = fake_ms.configure(company, users=users)
    sync(company)
    new = [graph_user(), graph_user()]
    setup.tenant.add_users(new)
    for user in users[:5]:
        setup.tenant.update_user(user["id"], givenName="Renamed")
    fake_ms.ignore_top(3)  # pages of three: [new, new, renamed], [renamed x 3], [renamed] + the first three again
    fake_ms.repeat_in_delta(3)

    seen = preview(company)
    done = sync(company)

    assert _counts(seen) == _counts(done)
    assert (seen.created, seen.updated, seen.unchanged, seen.looked_up) == (2, 5, 3, 10)
    assert seen.account_changes.filter(kind="created").count() == 2


def test_preview_lines_show_each_field_change(fake_ms, company, changed_tenant):
    seen = preview(company)

    renamed = seen.account_changes.get(object_id=changed_tenant.users[10]["id"])
    assert renamed.kind == "changed" and renamed.fields["first_name"][1] == "Renamed"
    assert seen.account_changes.get(object_id=changed_tenant.users[20]["id"]).kind == "disabled"
    assert seen.account_changes.get(object_id=changed_tenant.users[30]["id"]).kind == "removed"


def test_preview_keeps_its_first_100_lines_only(fake_ms, company, changed_tenant):
    changed_tenant.tenant.add_users(generate_users(150, seed=9))

    seen = preview(company)

    assert seen.account_changes.count() == 100 and seen.created + seen.disabled > 100


def test_preview_says_when_the_removal_hold_would_trigger(fake_ms, company, changed_tenant):
    gone = [user["id"] for user in changed_tenant.users[:30]]
    for object_id in gone:
        changed_tenant.tenant.remove_user(object_id)
    synced = company.contacts.filter(object_id__in=[*gone, changed_tenant.users[30]["id"]]).count()

    seen = preview(company, full=True)

    assert seen.removals_held == synced and "safety limit" in seen.notice
    assert snapshot(company) and not company.contacts.filter(aad_state="removed").exists()


def test_a_preview_cannot_run_beside_a_look_up_of_the_same_company(fake_ms, company, changed_tenant):
    sync_run_create(company=company, trigger=SyncRun.Trigger.SCHEDULE)
    with pytest.raises(SyncAlreadyRunning):
        sync_run_create(company=company, trigger=SyncRun.Trigger.ONE_TIME, preview=True)


def test_the_command_previews_and_prints_what_would_change(fake_ms, company, changed_tenant, capsys):
    call_command("aadsync", "--company", company.slug, "--preview")

    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f"{company.slug} (incremental, preview: nothing changed): Looked up ")
    assert any(line.startswith("  Changed: ") and "'Renamed'" in line for line in out[1:])
    assert SyncRun.objects.filter(company=company).first().preview


def test_preview_button_queues_a_preview(manager_client, company, changed_tenant, published):
    response = manager_client.post("/aad/sync/", {"preview": "1"}, HTTP_ACCEPT="application/json")

    assert response.status_code == 202 and "Preview queued" in response.json()["message"]
    run = SyncRun.objects.filter(company=company).first()
    assert run.preview and run.status == "queued"
