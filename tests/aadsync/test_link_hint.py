"""After a look-up, the MS AAD page's latest-run block says how many existing phone users can be linked."""
import pytest
from django.urls import reverse

from aadsync.link_hint import linkable_users_after
from aadsync.models import SyncRun
from aadsync.sync import sync_company_now
from tests.directory.factories import synced_contact
from tests.fakems import make_user as graph_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def existing_users(company, make_user):
    """Two phone users from before MS AAD was turned on; their e-mails are AAD accounts' mail and UPN."""
    return [make_user(company, login="1001", extension="1001", email="ada@contoso.com"),
            make_user(company, login="1002", extension="1002", email="Grace.Hopper@contoso.onmicrosoft.com")]


def _look_up(fake_ms, company, **faults):
    setup = fake_ms.configure(company, users=[
        graph_user(given_name="Ada", surname="Lovelace", mail="ada@contoso.com"),
        graph_user(given_name="Grace", surname="Hopper", mail=None),  # UPN grace.hopper@contoso.onmicrosoft.com
        graph_user(given_name="Alan", surname="Turing"),
    ])
    if faults.get("permission_missing"):
        setup.app.permissions.clear()
    return sync_company_now(company=company, trigger=SyncRun.Trigger.COMMAND)


def _block(client, manager) -> str:
    client.force_login(manager)
    html = client.get(reverse("aad-settings")).content.decode()
    return html.split('data-testid="latest-run"', 1)[1].split("</section>", 1)[0]


def test_after_a_look_up_the_page_says_how_many_existing_users_can_be_linked(
        fake_ms, company, manager, client, existing_users):
    _look_up(fake_ms, company)
    block = _block(client, manager)
    assert '<a href="/users/match/">2 existing users can be linked</a>' in block


def test_the_live_status_says_it_too(fake_ms, company, manager, client, existing_users):
    _look_up(fake_ms, company)
    client.force_login(manager)
    html = client.get(reverse("aad-sync-status")).json()["html"]
    assert "2 existing users can be linked" in html


def test_nothing_is_said_when_no_existing_user_matches(fake_ms, company, manager, client, make_user):
    make_user(company, login="1001", email="someone@else.com")
    _look_up(fake_ms, company)
    assert "can be linked" not in _block(client, manager)


def test_nothing_is_said_after_a_failed_look_up(fake_ms, company, manager, client, existing_users):
    synced_contact(company, email="ada@contoso.com")  # an account from an earlier look-up
    run = _look_up(fake_ms, company, permission_missing=True)
    assert run.status == SyncRun.Status.FAILED
    assert linkable_users_after(company=company, run=run) == 0
    assert "can be linked" not in _block(client, manager)


def test_linked_users_are_no_longer_counted(fake_ms, company, existing_users):
    from directory.matching.selectors import link_proposals
    from directory.matching.services import LinkChoice, users_link_aad

    run = _look_up(fake_ms, company)
    proposal = next(p for p in link_proposals(company=company) if p.person_id == existing_users[0].pk)
    users_link_aad(company=company, choices=[LinkChoice(proposal.person_id, proposal.account.object_id)])
    assert linkable_users_after(company=company, run=run) == 1
