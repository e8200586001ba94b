"""Linking in bulk: each row through the single-link service in its own savepoint; refusals named per row."""
import contextlib
import threading

import pytest
from django.db import connection, connections

from directory import services
from directory.matching.services import LinkChoice, users_link_aad
from directory.models import Person
from directory.services import person_link_aad
from tests.directory.factories import synced_contact

pytestmark = pytest.mark.django_db


def _choice(person, contact):
    return LinkChoice(person_id=person.pk, object_id=contact.object_id if contact is not None else "")


def _aad_of(person):
    return Person.objects.get(pk=person.pk).aad_contact


@pytest.fixture
def two_users(company, make_user):
    return (make_user(company, login="1001", extension="1001", first_name="Old", last_name="One", email="o@x.com"),
            make_user(company, login="1002", extension="1002", first_name="Old", last_name="Two", email="t@x.com"))


def test_links_each_chosen_user_and_aad_wins(company, two_users, make_synced):
    one, two = two_users
    first = make_synced(company, "Minsu", "Kim", email="minsu.kim@vertical.com")
    second = make_synced(company, "Hana", "Lee", email="hana.lee@vertical.com")

    result = users_link_aad(company=company, choices=[_choice(one, first), _choice(two, second)])

    assert [person.pk for person in result.linked] == [one.pk, two.pk]
    assert result.failed == []
    one.refresh_from_db()
    assert (one.aad_contact, one.first_name, one.last_name, one.email) == (first, "Minsu", "Kim",
                                                                            "minsu.kim@vertical.com")
    assert _aad_of(two) == second


def test_an_account_another_manager_linked_a_moment_ago_names_the_holder_and_the_others_still_link(
        company, two_users, make_user, make_synced):
    one, two = two_users
    contested = make_synced(company, "Minsu", "Kim")
    free = make_synced(company, "Hana", "Lee")
    holder = make_user(company, login="1003", email="")
    person_link_aad(person=holder, contact=contested)  # between the page load and the confirm

    result = users_link_aad(company=company, choices=[_choice(one, contested), _choice(two, free)])

    assert [person.pk for person in result.linked] == [two.pk]
    (failure,) = result.failed
    assert failure.who == "1001@cm1-vertical"
    assert "already linked to user 1003@cm1-vertical" in failure.message
    assert _aad_of(one) is None
    assert _aad_of(two) == free


def test_a_disabled_account_is_refused_with_its_sentence(company, two_users, make_synced):
    one, _two = two_users
    disabled = make_synced(company, aad_state="disabled")
    (failure,) = users_link_aad(company=company, choices=[_choice(one, disabled)]).failed
    assert "disabled in AAD" in failure.message
    assert _aad_of(one) is None


def test_a_user_linked_meanwhile_is_not_relinked(company, two_users, make_synced):
    one, _two = two_users
    theirs, proposed = make_synced(company), make_synced(company)
    person_link_aad(person=one, contact=theirs)
    (failure,) = users_link_aad(company=company, choices=[_choice(one, proposed)]).failed
    assert f"already linked to AAD account {theirs.user_principal_name}" in failure.message
    assert _aad_of(one) == theirs


def test_an_ambiguous_row_without_a_pick_asks_for_one(company, two_users):
    one, _two = two_users
    (failure,) = users_link_aad(company=company, choices=[_choice(one, None)]).failed
    assert failure.message.startswith("No AAD account was picked for 1001@cm1-vertical")


def test_another_company_s_user_or_account_is_refused(company, other_company, two_users, make_user, make_synced):
    one, _two = two_users
    stranger = make_user(other_company, login="1001", email="")
    foreign = make_synced(other_company)
    result = users_link_aad(company=company, choices=[_choice(stranger, make_synced(company)),
                                                      _choice(one, foreign)])
    assert [failure.who for failure in result.failed] == [f"user #{stranger.pk}", "1001@cm1-vertical"]
    assert "not a phone user of your company" in result.failed[0].message
    assert "no longer in your Company Directory" in result.failed[1].message
    assert _aad_of(stranger) is None and _aad_of(one) is None


def test_a_manager_is_never_linked_here(company, manager, make_synced):
    (failure,) = users_link_aad(company=company, choices=[_choice(manager, make_synced(company))]).failed
    assert "not a phone user of your company" in failure.message
    assert _aad_of(manager) is None


# --- Two managers confirm at the same moment ---------------------------------------------------------------------

HOLD_SECONDS = 3


@pytest.mark.django_db(transaction=True)
def test_two_managers_linking_one_account_at_once(make_company, make_user, monkeypatch):
    """Real threads with their own connections. Both confirms are held right after the rules check of the
    contested account, so both believe it is free. PostgreSQL: both write, the unique column makes the second
    wait for the first transaction and then fail, and the holder's sentence comes from that IntegrityError.
    SQLite: the second transaction cannot start while the first holds the write lock, so its rules check
    already sees the holder. Either way the loser's other row links."""
    company = make_company()
    contested = synced_contact(company, "Minsu", "Kim", email="minsu.kim@vertical.com")
    rich_own, jane_own = synced_contact(company, "Hana", "Lee"), synced_contact(company, "Jiwoo", "Park")
    by_rich = make_user(company, login="1001", extension="1001", email="minsu.kim@vertical.com")
    by_jane = make_user(company, login="1002", extension="1002", first_name="Minsu", last_name="Kim", email="")
    rich_other = make_user(company, login="1003", extension="1003", email="")
    jane_other = make_user(company, login="1004", extension="1004", email="")

    barrier = threading.Barrier(2)
    passed = []
    real_check = services.aad_link_check

    def check_and_wait(*, person, contact):
        real_check(person=person, contact=contact)
        if contact.pk == contested.pk:
            passed.append(person.login)
            with contextlib.suppress(threading.BrokenBarrierError):
                barrier.wait(timeout=HOLD_SECONDS)

    monkeypatch.setattr(services, "aad_link_check", check_and_wait)
    results = {}

    def confirm(key, choices):
        def run():
            try:
                results[key] = users_link_aad(company=company, choices=choices)
            except Exception as error:  # pragma: no cover - shown by the assertions below
                results[key] = error
            finally:
                connections.close_all()

        return threading.Thread(target=run, name=f"confirm-{key}")

    threads = [
        confirm("rich", [_choice(by_rich, contested), _choice(rich_other, rich_own)]),
        confirm("jane", [_choice(by_jane, contested), _choice(jane_other, jane_own)]),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)

    assert all(not isinstance(result, Exception) for result in results.values()), results
    (winner,) = Person.objects.filter(aad_contact=contested)
    loser_key = "jane" if winner.pk == by_rich.pk else "rich"
    (failure,) = results[loser_key].failed
    assert f"already linked to user {winner.username}" in failure.message
    assert len(results[loser_key].linked) == 1, "the loser's other row still links"
    assert _aad_of(rich_other) == rich_own and _aad_of(jane_other) == jane_own
    if connection.vendor == "postgresql":
        assert len(passed) == 2, "both confirms passed the rules check before either wrote"
