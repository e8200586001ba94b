"""The AAID ID dropdown's search endpoint and selector: synced, active accounts by prefix, 20 at most; those someone
else linked come with who holds them, to be shown disabled."""
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from directory.models import Contact
from directory.selectors import aad_account_search, person_for_aad_object_id, search_fold
from directory.services import person_link_aad

pytestmark = pytest.mark.django_db
URL = "/directory/aad-accounts/"


def _ids(response) -> list[str]:
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    return [row["id"] for row in response.json()["results"]]


def test_finds_by_first_name_last_name_email_and_upn_prefix(manager_client, company, make_synced):
    kim = make_synced(company, "Minsu", "Kim", email="mk@vertical.com", upn="minsu.kim@vertical.onmicrosoft.com")
    make_synced(company, "Jane", "Doe", email="jd@vertical.com", upn="jane.doe@vertical.onmicrosoft.com")
    for query in ("min", "KIM", "mk@", "minsu.kim@vert", "minsu kim", "kim min", " Minsu  "):
        assert _ids(manager_client.get(URL, {"q": query})) == [kim.object_id], query


def test_result_rows_carry_what_the_form_fills(manager_client, aad_account):
    row = manager_client.get(URL, {"q": "minsu"}).json()["results"][0]
    assert row == {"id": aad_account.object_id, "label": "Minsu Kim (minsu.kim@vertical.onmicrosoft.com)",
                   "first_name": "Minsu", "last_name": "Kim", "email": "minsu.kim@vertical.com",
                   "upn": "minsu.kim@vertical.onmicrosoft.com", "name": "Minsu Kim", "linked_to": "",
                   "disabled": False}


def test_offers_synced_active_accounts_of_the_company_and_names_who_holds_a_linked_one(
        manager_client, company, other_company, make_synced, make_manual, phone_user):
    free = make_synced(company, "Kim", "Free")
    make_synced(company, "Kim", "Disabled", aad_state="disabled")
    make_synced(company, "Kim", "Removed", aad_state="removed")
    make_manual(company, "Kim", "Typed")
    make_synced(other_company, "Kim", "Foreign")
    taken = make_synced(company, "Kim", "Taken")
    person_link_aad(person=phone_user, contact=taken)
    rows = manager_client.get(URL, {"q": "kim"}).json()["results"]
    assert [(row["id"], row["disabled"], row["linked_to"]) for row in rows] == [
        (free.object_id, False, ""), (taken.object_id, True, "27728 Kim Taken")]


def test_an_account_a_manager_holds_is_named_as_the_manager_s(manager_client, company, make_synced, manager,
                                                               phone_user):
    mine = make_synced(company, "Rich", "Kang")
    person_link_aad(person=manager, contact=mine)
    row = manager_client.get(URL, {"q": "rich", "for": phone_user.pk}).json()["results"][0]
    assert (row["disabled"], row["linked_to"]) == (True, "manager rich (Rich Kang)")


def test_the_person_s_own_account_is_theirs_to_keep(manager_client, company, make_synced, phone_user, manager):
    own = make_synced(company, "Kim", "Own")
    person_link_aad(person=phone_user, contact=own)
    rows = {row["id"]: row for row in manager_client.get(URL, {"q": "kim", "for": phone_user.pk}).json()["results"]}
    assert rows[own.object_id]["disabled"] is False
    mine = make_synced(company, "Kim", "Mine")
    person_link_aad(person=manager, contact=mine)
    rows = {row["id"]: row for row in manager_client.get(URL, {"q": "kim", "for": "me"}).json()["results"]}
    assert rows[mine.object_id]["disabled"] is False
    assert rows[own.object_id]["disabled"] is True and rows[own.object_id]["linked_to"] == "27728 Kim Own"


def test_for_must_be_a_user_of_the_company(manager_client, other_company, make_user, other_manager):
    foreign = make_user(other_company, login="5000")
    assert manager_client.get(URL, {"for": foreign.pk}).status_code == 404
    assert manager_client.get(URL, {"for": other_manager.pk}).status_code == 404
    assert manager_client.get(URL, {"for": "x"}).status_code == 404


def test_returns_at_most_20_in_name_order_and_says_there_are_more(manager_client, company):
    Contact.objects.bulk_create([
        Contact(company=company, first_name="Kim", last_name=f"N{n:02d}", object_id=f"id-{n}", synced=True,
                aad_state="active")
        for n in range(25)
    ])
    body = manager_client.get(URL, {"q": "kim"}).json()
    assert [row["last_name"] for row in body["results"]] == [f"N{n:02d}" for n in range(20)]
    assert body["more"] is True
    assert manager_client.get(URL, {"q": "n2"}).json()["more"] is False


def test_empty_query_lists_the_first_accounts(manager_client, aad_account):
    assert _ids(manager_client.get(URL)) == [aad_account.object_id]


def test_markup_in_names_comes_back_as_plain_json_text(manager_client, company, make_synced):
    make_synced(company, "<script>alert(1)</script>", "Evil")
    row = manager_client.get(URL, {"q": "<scr"}).json()["results"][0]
    assert row["first_name"] == "<script>alert(1)</script>"
    assert manager_client.get(URL, {"q": "<scr"})["Content-Type"] == "application/json"


def test_one_query_for_the_search_whatever_the_size(manager_client, company, django_assert_num_queries):
    Contact.objects.bulk_create([
        Contact(company=company, first_name=f"Kim{n}", object_id=f"id-{n}", synced=True, aad_state="active")
        for n in range(300)
    ])
    manager_client.get(URL, {"q": "kim"})  # warm the session
    with django_assert_num_queries(4):  # session, signed-in manager, their company, the search
        manager_client.get(URL, {"q": "kim"})


def test_only_managers_may_search(client, phone_user):
    assert client.get(URL).status_code == 302
    client.force_login(phone_user)
    assert client.get(URL).status_code == 403


def test_person_for_aad_object_id_finds_the_active_linked_person(company, other_company, phone_user, aad_account):
    assert person_for_aad_object_id(company=company, object_id=aad_account.object_id) is None
    person_link_aad(person=phone_user, contact=aad_account)
    assert person_for_aad_object_id(company=company, object_id=aad_account.object_id) == phone_user
    assert person_for_aad_object_id(company=other_company, object_id=aad_account.object_id) is None
    phone_user.is_active = False
    phone_user.save()
    assert person_for_aad_object_id(company=company, object_id=aad_account.object_id) is None


NAME_ALPHABET = st.sampled_from(list("abcAB_%\\.'- z"))


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(names=st.lists(st.text(NAME_ALPHABET, min_size=1, max_size=6), min_size=1, max_size=8),
       query=st.text(NAME_ALPHABET, min_size=1, max_size=5))
def test_prefix_search_agrees_with_python(company, names, query):
    """The index-friendly SQL (LIKE on PostgreSQL, a range on SQLite) finds exactly the Python prefix matches."""
    Contact.objects.filter(company=company).delete()
    Contact.objects.bulk_create([
        Contact(company=company, first_name=name, object_id=f"id-{n}", synced=True, aad_state="active",
                user_principal_name=f"u{n}@x")
        for n, name in enumerate(names)
    ])
    accounts, _ = aad_account_search(company=company, text=query, limit=50)
    words = search_fold(query).split()
    expected = set()
    for n, name in enumerate(names):
        fields = [search_fold(name), f"u{n}@x"]
        whole = " ".join(words)
        if not words or any(f.startswith(whole) for f in fields) or all(
                any(f.startswith(w) for f in fields) for w in words):
            expected.add(f"id-{n}")
    assert {account.object_id for account in accounts} == expected
