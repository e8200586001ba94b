"""User > Link to AAD accounts (/users/match/): the proposals page and its one confirm."""
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from directory.models import Person
from directory.services import person_link_aad
from tests.directory.factories import phone_users

pytestmark = pytest.mark.django_db
URL = "/users/match/"


def _row(html, person):
    match = re.search(rf'<tr data-user="{person.pk}".*?</tr>', html, re.S)
    assert match, f"no row for {person.username}"
    return match.group(0)


def _messages(response):
    return [str(message) for message in response.wsgi_request._messages]


@pytest.fixture
def strong_user(company, make_user, make_synced):
    person = make_user(company, login="1001", extension="1001", first_name="Old", last_name="Kim",
                       email="minsu.kim@vertical.com")
    account = make_synced(company, "Minsu", "Kim", email="minsu.kim@vertical.com",
                          upn="minsu.kim@vertical.onmicrosoft.com")
    return person, account


@pytest.fixture
def name_user(company, make_user, make_synced):
    person = make_user(company, login="1002", extension="1002", first_name="Hana", last_name="Lee", email="")
    account = make_synced(company, "Hana", "Lee", email="hana.lee@vertical.com", upn="hana@vertical.onmicrosoft.com")
    return person, account


@pytest.fixture
def ambiguous_user(company, make_user, make_synced):
    person = make_user(company, login="1003", extension="1003", first_name="Jiwoo", last_name="Park", email="")
    return person, [make_synced(company, "Jiwoo", "Park"), make_synced(company, "JIWOO", "PARK")]


def test_anonymous_visitors_are_sent_to_sign_in(client):
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_phone_users_may_not_open_it(client, phone_user):
    client.force_login(phone_user)
    assert client.get(URL).status_code == 403
    assert client.post(URL, {"link": [phone_user.pk]}).status_code == 403


def test_strong_is_preticked_name_is_not_and_ambiguous_offers_unpicked_choices(
        manager_client, strong_user, name_user, ambiguous_user):
    html = manager_client.get(URL).content.decode()
    strong = _row(html, strong_user[0])
    assert re.search(r'name="link" value="\d+" id="link-\d+" checked', strong)
    assert "minsu.kim@vertical.onmicrosoft.com" in strong and "Strong" in strong
    name = _row(html, name_user[0])
    assert 'name="link"' in name and " checked" not in name
    assert "same first and last name" in name
    ambiguous = _row(html, ambiguous_user[0])
    assert " checked" not in ambiguous
    assert ambiguous.count('type="radio"') == 2
    assert "Ambiguous: 2 accounts" in ambiguous


def test_each_row_shows_what_aad_will_change(manager_client, strong_user, name_user):
    html = manager_client.get(URL).content.decode()
    strong = _row(html, strong_user[0])
    assert 'First name: <span class="aad-diff-old">Old</span> → Minsu' in strong
    assert "Last name:" not in strong  # Kim already
    name = _row(html, name_user[0])
    assert 'E-mail: <span class="aad-diff-old">(empty)</span> → hana.lee@vertical.com' in name


def test_markup_has_a_caption_header_scopes_and_a_label_for_every_box(manager_client, strong_user, ambiguous_user):
    html = manager_client.get(URL).content.decode()
    assert "<caption" in html
    assert 'scope="col"' in html and 'scope="row"' in html
    assert "cm-stack" in html and 'data-label="Proposed AAD account"' in html  # rows become cards on phones
    boxes = re.findall(r'<input class="form-check-input" type="(?:checkbox|radio)"[^>]* id="([^"]+)"', html)
    assert "match-all" in boxes
    for input_id in boxes:
        assert f'for="{input_id}"' in html
    assert "<legend" in html


def test_users_without_a_proposal_are_listed_with_a_way_to_the_user_form(manager_client, company, make_user):
    person = make_user(company, login="1009", extension="1009", email="")
    row = _row(manager_client.get(URL).content.decode(), person)
    assert "No proposal." in row and f'href="/users/{person.pk}/edit/"' in row
    assert 'name="link"' not in row


def test_only_this_company_is_shown(manager_client, other_company, make_user, make_synced, strong_user):
    stranger = make_user(other_company, login="1001", extension="1001", email="x@other.com")
    make_synced(other_company, email="x@other.com", upn="x@other.onmicrosoft.com")
    html = manager_client.get(URL).content.decode()
    assert f'data-user="{stranger.pk}"' not in html
    assert "x@other.onmicrosoft.com" not in html


def test_confirm_links_the_ticked_rows_and_says_how_many(manager_client, strong_user, name_user, ambiguous_user):
    (strong, strong_account), (name, name_account) = strong_user, name_user
    picked = ambiguous_user[1][1]
    response = manager_client.post(URL + "?show=all&page=1", {
        "link": [strong.pk, ambiguous_user[0].pk],
        f"account-{strong.pk}": strong_account.object_id,
        f"account-{name.pk}": name_account.object_id,  # shown, not ticked
        f"account-{ambiguous_user[0].pk}": picked.object_id,
    })
    assert response.status_code == 302
    assert response["Location"] == "/users/match/?show=all&page=1"
    assert _messages(response) == ["Linked 2 users to their AAD accounts."]
    strong.refresh_from_db()
    assert (strong.aad_contact, strong.first_name) == (strong_account, "Minsu")
    assert Person.objects.get(pk=ambiguous_user[0].pk).aad_contact == picked
    assert Person.objects.get(pk=name.pk).aad_contact is None


def test_an_account_taken_between_page_and_confirm_is_reported_and_the_rest_link(
        manager_client, company, make_user, strong_user, name_user):
    (strong, strong_account), (name, name_account) = strong_user, name_user
    page = manager_client.get(URL).content.decode()
    assert f'data-user="{strong.pk}"' in page
    other = make_user(company, login="2000", email="")
    person_link_aad(person=other, contact=strong_account)  # another manager, a moment ago

    response = manager_client.post(URL, {
        "link": [strong.pk, name.pk],
        f"account-{strong.pk}": strong_account.object_id,
        f"account-{name.pk}": name_account.object_id,
    })

    (message,) = _messages(response)
    assert message.startswith("Linked 1 user; 1 could not be linked: 1001@cm1-vertical: This AAD account is "
                              "already linked to user 2000@cm1-vertical")
    assert Person.objects.get(pk=strong.pk).aad_contact is None
    assert Person.objects.get(pk=name.pk).aad_contact == name_account


def test_confirm_without_a_tick_links_nothing(manager_client, strong_user):
    response = manager_client.post(URL, {f"account-{strong_user[0].pk}": strong_user[1].object_id})
    assert _messages(response) == ["Tick the users to link first; nothing was linked."]
    assert Person.objects.get(pk=strong_user[0].pk).aad_contact is None


def test_filter_shows_one_kind_with_counts(manager_client, strong_user, name_user):
    html = manager_client.get(URL + "?show=name").content.decode()
    assert f'data-user="{name_user[0].pk}"' in html
    assert f'data-user="{strong_user[0].pk}"' not in html
    assert re.search(r'Strong <span class="badge text-bg-light">1</span>', html)


def test_a_hundred_rows_a_page(manager_client, company):
    phone_users(company, [{"login": f"u{n}", "extension": str(1000 + n)} for n in range(130)])
    first = manager_client.get(URL).content.decode()
    second = manager_client.get(URL + "?page=2").content.decode()
    assert first.count("<tr data-user=") == 100
    assert second.count("<tr data-user=") == 30
    assert "Page 1 of 2" in first


def test_queries_per_page_do_not_grow_with_users(manager_client, company, make_synced,
                                                 django_assert_max_num_queries):
    def grow(start, count):
        phone_users(company, [{"login": f"u{n}", "extension": str(1000 + n), "first_name": f"F{n}", "last_name": "L",
                               "email": f"u{n}@vertical.com"} for n in range(start, start + count)])
        for n in range(start, start + count):
            make_synced(company, f"F{n}", "L", email=f"u{n}@vertical.com" if n % 2 else "")

    grow(0, 5)
    with CaptureQueriesContext(connection) as small:
        assert manager_client.get(URL).status_code == 200
    assert len(small) <= 8  # session, manager, company, then the selector's four
    grow(5, 150)
    with django_assert_max_num_queries(len(small)):
        assert manager_client.get(URL).status_code == 200


def test_user_page_and_menu_link_to_it(manager_client):
    html = manager_client.get("/users/").content.decode()
    assert html.count('href="/users/match/"') == 2  # the User page's button and the menu



def test_another_company_s_user_and_account_cannot_be_linked_from_here(manager_client, other_company, make_user,
                                                                        make_synced):
    stranger = make_user(other_company, login="1001", extension="1001", email="x@other.com")
    account = make_synced(other_company, email="x@other.com")
    response = manager_client.post(URL, {"link": [stranger.pk], f"account-{stranger.pk}": account.object_id})
    (message,) = _messages(response)
    assert message.startswith(f"Linked 0 users; 1 could not be linked: user #{stranger.pk}: This is not a phone user")
    assert Person.objects.get(pk=stranger.pk).aad_contact is None


def test_a_filter_pages_through_its_own_kind(manager_client, company, make_synced):
    phone_users(company, [{"login": f"u{n}", "extension": str(1000 + n), "first_name": f"F{n}", "last_name": "L"}
                          for n in range(230)])
    for n in range(0, 230, 2):
        make_synced(company, f"F{n}", "L")  # 115 name proposals, 115 without
    first = manager_client.get(URL + "?show=name").content.decode()
    second = manager_client.get(URL + "?show=name&page=2").content.decode()
    assert first.count('<tr data-user="') == first.count('data-kind="name"') == 100
    assert second.count('<tr data-user="') == second.count('data-kind="name"') == 15
    assert "Page 2 of 2: 115 users" in second
    assert re.search(r'No proposal <span class="badge text-bg-light">115</span>', second)
    assert 'data-user="' + str(company.people.get(login="u228").pk) + '"' in second  # the last one, by extension
