"""Two requests link the same AAD account at the same moment: exactly one wins, the other gets the form error.

Real threads with their own database connections against a committed database (transactional test).
Both requests are held right after the rules check, so both believe the account is free:
- PostgreSQL: both go on to write; the unique column makes the second wait for the first and then fail, and
  the service turns that IntegrityError into the form error that names the winner.
- SQLite: transactions start IMMEDIATE (settings), so the second request cannot even start its transaction
  while the first holds the write lock; the hold times out, the first commits, and the second's rules check
  already sees the link. Same outcome, reached by serialisation instead of the constraint.
"""
import contextlib
import threading

import pytest
from django.db import connection, connections

from directory import services
from directory.models import Person
from tests.conftest import PASSWORD
from tests.directory.factories import synced_contact

HOLD_SECONDS = 3


@pytest.fixture
def held_after_check(monkeypatch):
    """Make every link check wait until two requests have passed it (or HOLD_SECONDS went by)."""
    barrier = threading.Barrier(2)
    real_check = services.aad_link_check
    passed = []

    def check_and_wait(*, person, contact):
        real_check(person=person, contact=contact)
        passed.append(person.login)
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait(timeout=HOLD_SECONDS)

    monkeypatch.setattr(services, "aad_link_check", check_and_wait)
    return passed


def _in_thread(results, key, make_request):
    def run():
        try:
            results[key] = make_request()
        except Exception as error:  # pragma: no cover - shown by the assertion below
            results[key] = error
        finally:
            connections.close_all()

    return threading.Thread(target=run, name=f"race-{key}")


@pytest.mark.django_db(transaction=True)
def test_two_requests_linking_one_account_at_once(make_company, make_manager, held_after_check):
    from django.test import Client

    company = make_company()
    rich = make_manager(company)
    jane = make_manager(company, login="jane", name="jane", email="jane@vertical.com")
    account = synced_contact(company, "Minsu", "Kim", email="minsu.kim@vertical.com")
    rich_client, jane_client = Client(), Client()
    rich_client.force_login(rich)
    jane_client.force_login(jane)
    user_form = {
        "extension": "27728", "first_name": "Minsu", "last_name": "Kim", "site": company.sites.first().pk,
        "group_member_type": "single", "login": "27728", "password": PASSWORD, "password_confirm": PASSWORD,
        "email": "minsu.kim@vertical.com", "aad_contact": account.object_id, "package": "basic",
        "user_type": "normal",
    }
    my_info = {"name": "jane", "email": "jane@vertical.com", "password": "", "password_confirm": "",
               "aad_contact": account.object_id, "aad_confirmed": "True"}

    results = {}
    threads = [
        _in_thread(results, "user", lambda: rich_client.post("/users/new/", user_form)),
        _in_thread(results, "manager", lambda: jane_client.post("/my-information/", my_info)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)

    statuses = {key: getattr(response, "status_code", response) for key, response in results.items()}
    assert sorted(statuses.values()) == [200, 302], statuses
    loser = next(key for key, status in statuses.items() if status == 200)
    html = results[loser].content.decode()
    holders = list(Person.objects.filter(aad_contact=account))
    assert len(holders) == 1
    winner = holders[0]
    assert f"already linked to {winner.get_role_display().lower()} {winner.username}" in html
    assert 'id="id_aad_contact_error"' in html
    if loser == "user":
        assert not Person.objects.filter(login="27728").exists()
    if connection.vendor == "postgresql":
        assert len(held_after_check) == 2, "both requests passed the rules check before either wrote"
