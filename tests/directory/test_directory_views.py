"""The Company Directory page, manual entries and the CSV export."""
import csv
import io

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from directory.models import Contact
from directory.selectors import contact_list, contact_listing, search_fold
from directory.services import person_link_aad

pytestmark = pytest.mark.django_db

HEADER = "first_name,last_name,email,office_phone,mobile_phone,user_principal_name,object_id,sync"
SCRIPT = "<script>alert(1)</script>"
NAME_ALPHABET = st.sampled_from(list("abAB_%\\.'- z"))


def _rows(response) -> list[str]:
    """The directory table's rows as text, in order."""
    html = response.content.decode().replace("<wbr>", "")
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return list(body.split("<tr")[1:])


def test_lists_every_column_and_the_sync_state(manager_client, company, make_synced, make_manual):
    make_synced(company, "Minsu", "Kim", email="minsu@vertical.com", upn="minsu@vertical.onmicrosoft.com",
                office_phone="+82 2 555 0101", mobile_phone="+82 10 5555 0101")
    make_synced(company, "Dis", "Abled", aad_state="disabled")
    make_synced(company, "Re", "Moved", aad_state="removed")
    make_manual(company, "Hana", "Lee", email="hana@vertical.com")
    html = manager_client.get("/directory/").content.decode().replace("<wbr>", "")
    for text in ("First Name", "Last Name", "E-mail", "Office Phone", "Mobile Phone", "User Principal Name", "Sync",
                 "minsu@vertical.com", "+82 2 555 0101", "+82 10 5555 0101", "minsu@vertical.onmicrosoft.com",
                 "Disabled in AAD", "Removed from AAD"):
        assert text in html
    rows = {row.split("</td>")[1].split(">")[-1]: row for row in _rows(manager_client.get("/directory/"))}
    assert 'data-testid="sync" data-label="Sync">Yes</td>' in rows["Kim"]
    assert 'data-testid="sync" data-label="Sync">No</td>' in rows["Lee"]


def test_synced_rows_have_no_edit_links_manual_rows_do(manager_client, company, make_synced, make_manual):
    synced = make_synced(company)
    manual = make_manual(company)
    html = manager_client.get("/directory/").content.decode().replace("<wbr>", "")
    assert f"/directory/{manual.pk}/edit/" in html
    assert f"/directory/{manual.pk}/delete/" in html
    assert f"/directory/{synced.pk}/edit/" not in html


def test_shows_who_a_synced_entry_is_linked_to(manager_client, manager, aad_account):
    person_link_aad(person=manager, contact=aad_account)
    assert "rich@cm1-vertical" in _rows(manager_client.get("/directory/"))[0]


@pytest.mark.parametrize("query", ["kim", "KIM", "minsu", "minsu k", "kim min", "minsu.kim@", "+82 2 555", "+82 10",
                                   "minsu.kim@vertical.onm"])
def test_search_matches_name_email_phone_and_upn_prefixes(manager_client, company, make_synced, query):
    make_synced(company, "Minsu", "Kim", email="minsu.kim@vertical.com", upn="minsu.kim@vertical.onmicrosoft.com",
                office_phone="+82 2 555 0101", mobile_phone="+82 10 5555 0101")
    make_synced(company, "Jane", "Doe", email="jane@vertical.com", upn="jane@vertical.onmicrosoft.com",
                office_phone="+1 425 555 0100")
    rows = _rows(manager_client.get("/directory/", {"q": query}))
    assert len(rows) == 1
    assert "Minsu" in rows[0]


def test_search_treats_like_wildcards_as_text(manager_client, company, make_synced):
    make_synced(company, "100%", "Real")
    make_synced(company, "1000", "Other")
    make_synced(company, "a_b", "Under")
    make_synced(company, "axb", "Lookalike")
    assert len(_rows(manager_client.get("/directory/", {"q": "100%"}))) == 1
    assert len(_rows(manager_client.get("/directory/", {"q": "a_"}))) == 1


@pytest.mark.parametrize("sync, expected", [("yes", {"Kim", "Abled", "Moved"}), ("no", {"Lee"}),
                                            ("active", {"Kim"}), ("disabled", {"Abled"}), ("removed", {"Moved"}),
                                            ("", {"Kim", "Abled", "Moved", "Lee"}), ("bogus", {"Kim", "Abled", "Moved", "Lee"})])
def test_filter_by_sync(manager_client, company, make_synced, make_manual, sync, expected):
    make_synced(company, "Minsu", "Kim")
    make_synced(company, "Dis", "Abled", aad_state="disabled")
    make_synced(company, "Re", "Moved", aad_state="removed")
    make_manual(company, "Hana", "Lee")
    rows = _rows(manager_client.get("/directory/", {"sync": sync}))
    assert {row.split("</td>")[1].split(">")[-1] for row in rows} == expected


def test_sort_by_email_both_ways_and_unknown_sort_falls_back_to_name(manager_client, company, make_synced):
    make_synced(company, "A", "Zed", email="b@vertical.com")
    make_synced(company, "B", "Young", email="a@vertical.com")
    make_synced(company, "C", "Xavier", email="c@vertical.com")

    def emails(sort):
        return [row.split("</td>")[2].split(">")[-1] for row in _rows(manager_client.get("/directory/", {"sort": sort}))]

    assert emails("email") == ["a@vertical.com", "b@vertical.com", "c@vertical.com"]
    assert emails("-email") == ["c@vertical.com", "b@vertical.com", "a@vertical.com"]
    assert emails("nonsense") == ["c@vertical.com", "a@vertical.com", "b@vertical.com"]  # last name order


def test_paginates_50_a_page(manager_client, company):
    Contact.objects.bulk_create([Contact(company=company, first_name=f"P{i:03d}", last_name="Same") for i in range(120)])
    first = manager_client.get("/directory/")
    assert len(_rows(first)) == 50
    assert "Page 1 of 3" in first.content.decode().replace("<wbr>", "")
    last = manager_client.get("/directory/", {"page": 3})
    assert len(_rows(last)) == 20
    assert len(_rows(manager_client.get("/directory/", {"page": "999"}))) == 20
    assert len(_rows(manager_client.get("/directory/", {"page": "x"}))) == 50


def test_only_the_company_s_entries_are_listed(manager_client, other_company, make_synced):
    make_synced(other_company, "Foreign", "Person")
    assert "Foreign" not in manager_client.get("/directory/").content.decode().replace("<wbr>", "")


def test_markup_in_aad_names_shows_as_text(manager_client, company, make_synced):
    make_synced(company, SCRIPT, "Evil", email="evil@vertical.com")
    html = manager_client.get("/directory/").content.decode().replace("<wbr>", "")
    assert SCRIPT not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_queries_do_not_grow_with_the_page(manager_client, company, make_synced, django_assert_max_num_queries):
    for n in range(30):
        make_synced(company, f"N{n}", "Kim")
    with django_assert_max_num_queries(6):
        manager_client.get("/directory/", {"q": "kim"})


# --- manual entries ---


def test_manager_adds_a_manual_entry(manager_client, company):
    response = manager_client.post("/directory/new/", {"first_name": "Hana", "last_name": "Lee",
                                                       "email": "hana@vertical.com", "office_phone": "+82 2 555 0100"})
    assert response.status_code == 302
    contact = Contact.objects.get(company=company, last_name="Lee")
    assert (contact.synced, contact.object_id, contact.office_phone) == (False, None, "+82 2 555 0100")


def test_bad_manual_entry_keeps_what_was_typed(manager_client):
    response = manager_client.post("/directory/new/", {"first_name": "Hana", "email": "not-an-email"})
    html = response.content.decode().replace("<wbr>", "")
    assert response.status_code == 200
    assert 'value="Hana"' in html
    assert 'id="id_email_error"' in html
    assert 'aria-invalid="true"' in html


def test_manager_edits_and_deletes_a_manual_entry(manager_client, company, make_manual):
    contact = make_manual(company)
    manager_client.post(f"/directory/{contact.pk}/edit/", {"first_name": "Hana", "last_name": "Park"})
    assert Contact.objects.get(pk=contact.pk).last_name == "Park"
    assert manager_client.get(f"/directory/{contact.pk}/delete/").status_code == 200
    manager_client.post(f"/directory/{contact.pk}/delete/")
    assert not Contact.objects.filter(pk=contact.pk).exists()


def test_synced_rows_cannot_be_edited_or_deleted(manager_client, aad_account):
    assert manager_client.post(f"/directory/{aad_account.pk}/edit/", {"first_name": "X"}).status_code == 404
    assert manager_client.post(f"/directory/{aad_account.pk}/delete/").status_code == 404
    assert Contact.objects.filter(pk=aad_account.pk, first_name="Minsu").exists()


def test_another_company_s_entries_answer_404(manager_client, other_company, make_manual):
    foreign = make_manual(other_company)
    assert manager_client.get(f"/directory/{foreign.pk}/edit/").status_code == 404
    assert manager_client.post(f"/directory/{foreign.pk}/delete/").status_code == 404
    assert Contact.objects.filter(pk=foreign.pk).exists()


def test_users_cannot_open_the_directory(client, phone_user):
    client.force_login(phone_user)
    assert client.get("/directory/").status_code == 403
    assert client.get("/directory/export.csv").status_code == 403


def test_anonymous_visitors_are_sent_to_login(client):
    assert client.get("/directory/").url.startswith("/login/")


# --- CSV ---


def _csv(response) -> tuple[str, list[list[str]]]:
    body = b"".join(response.streaming_content).decode("utf-8")
    return body.split("\r\n", 1)[0], list(csv.reader(io.StringIO(body)))


def test_csv_has_the_exact_header_and_yes_no_sync(manager_client, company, make_synced, make_manual):
    synced = make_synced(company, "Minsu", "Kim", office_phone="+82 2 555 0101")
    make_manual(company, "Hana", "Lee")
    response = manager_client.get("/directory/export.csv")
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith("attachment;")
    header, rows = _csv(response)
    assert header == HEADER
    assert rows[1] == ["Minsu", "Kim", synced.email, "+82 2 555 0101", "", synced.user_principal_name,
                       synced.object_id, "Yes"]
    assert rows[2] == ["Hana", "Lee", "", "", "", "", "", "No"]


def test_csv_quotes_commas_quotes_newlines_and_keeps_unicode_and_markup(manager_client, company, make_synced):
    make_synced(company, 'Kim, "Min"\nsu', SCRIPT, email="zoë@vertical.com")
    response = manager_client.get("/directory/export.csv")
    body = b"".join(response.streaming_content)
    assert b'"Kim, ""Min""\nsu"' in body
    _, rows = _csv(manager_client.get("/directory/export.csv"))
    assert rows[1][:3] == ['Kim, "Min"\nsu', SCRIPT, "zoë@vertical.com"]


def test_csv_is_scoped_to_the_company(manager_client, company, other_company, make_synced):
    make_synced(company, "Mine", "Kim")
    make_synced(other_company, "Foreign", "Person")
    _, rows = _csv(manager_client.get("/directory/export.csv"))
    assert [row[0] for row in rows[1:]] == ["Mine"]


def test_csv_streams_in_chunks(manager_client, company):
    Contact.objects.bulk_create([Contact(company=company, first_name=f"P{i}") for i in range(1200)])
    response = manager_client.get("/directory/export.csv")
    assert response.streaming
    chunks = list(response.streaming_content)
    assert len(chunks) >= 3
    assert sum(chunk.count(b"\r\n") for chunk in chunks) == 1201


@pytest.mark.parametrize("params", [{}, {"sort": "-email"}, {"sort": "sync"}, {"q": "p1"}, {"sort": "first_name", "q": "same"}])
def test_pages_read_from_the_end_keep_the_same_order(manager_client, company, params):
    """The second half of the pages is fetched in reverse; together the pages are the whole list in order."""
    Contact.objects.bulk_create([
        Contact(company=company, first_name=f"P{i % 7}{i:03d}", last_name="Same" if i % 3 else "Other",
                email=f"e{(i * 37) % 101:03d}@x.com", synced=bool(i % 2), object_id=f"o{i}" if i % 2 else None,
                aad_state="active" if i % 2 else "")
        for i in range(130)
    ])
    html = manager_client.get("/directory/", params).content.decode().replace("<wbr>", "")
    pages = int(html.split("Page 1 of ")[1].split("<")[0]) if "Page 1 of " in html else 1
    seen = []
    for number in range(1, pages + 1):
        seen += [row.split('data-contact="')[1].split('"')[0]
                 for row in _rows(manager_client.get("/directory/", {**params, "page": number}))]
    assert len(seen) == len(set(seen))
    from directory.views.contacts import _parse_sort

    sort, descending = _parse_sort(params.get("sort", "name"))
    listing = contact_listing(company=company, search=params.get("q", ""), sort=sort, descending=descending)
    assert seen == [str(contact.pk) for contact in listing[0:listing.count()]]
    ordered = contact_list(company=company, search=params.get("q", ""), sort=sort, descending=descending)
    assert sorted(seen) == sorted(str(pk) for pk in ordered.values_list("pk", flat=True))


@pytest.mark.parametrize("sort, field", [("name", "last_name"), ("first_name", "first_name"), ("email", "email"),
                                         ("upn", "user_principal_name")])
def test_blank_values_of_the_sort_column_come_last_on_every_page(manager_client, company, sort, field):
    """Rows without a last name (rooms, typed-in e-mails) no longer open the directory: in an ascending sort they
    follow the others, also across a page boundary and on the pages read from the far end; descending too."""
    Contact.objects.bulk_create([
        Contact(company=company, first_name=f"F{i:03d}" if i % 9 else "", last_name=f"L{i:03d}" if i % 4 else "",
                email=f"e{i:03d}@x.com" if i % 5 else "", user_principal_name=f"u{i:03d}@x" if i % 6 else "")
        for i in range(1, 131)
    ])
    for descending in (False, True):
        ids = []
        for number in (1, 2, 3):
            response = manager_client.get("/directory/", {"sort": f"-{sort}" if descending else sort, "page": number})
            ids += [int(row.split('data-contact="')[1].split('"')[0]) for row in _rows(response)]
        values = Contact.objects.in_bulk(ids)
        seen = [getattr(values[pk], field) for pk in ids]
        filled = [value for value in seen if value]
        assert len(seen) == 130
        assert seen == filled + [""] * (130 - len(filled)), (sort, descending)
        assert filled == sorted(filled, reverse=descending)


@pytest.mark.parametrize("descending", [False, True])
def test_a_search_lists_its_matches_without_a_last_name_after_the_others(manager_client, company, descending,
                                                                          django_assert_max_num_queries):
    """Blanks last holds while searching too, where the database sorts the matches with one more key."""
    Contact.objects.bulk_create([Contact(company=company, first_name=first, last_name=last) for first, last in [
        ("Kim", ""), ("Ann", "Kang"), ("Kira", "Lee"), ("Kai", ""), ("Bob", "Park"), ("Ken", "Zed")]])
    manager_client.get("/directory/")

    with django_assert_max_num_queries(6):  # session, manager, company, the count, the page, linked people
        response = manager_client.get("/directory/", {"q": "k", "sort": "-name" if descending else "name"})

    pks = [int(row.split('data-contact="')[1].split('"')[0]) for row in _rows(response)]
    found = Contact.objects.in_bulk(pks)
    names = [f"{found[pk].first_name} {found[pk].last_name}".strip() for pk in pks]
    if descending:  # '' sorts last by itself
        assert names == ["Ken Zed", "Kira Lee", "Ann Kang", "Kim", "Kai"]
    else:
        assert names == ["Ann Kang", "Kira Lee", "Ken Zed", "Kai", "Kim"]


def test_blanks_last_costs_no_extra_query_on_the_first_pages(manager_client, company, make_synced,
                                                             django_assert_max_num_queries):
    for n in range(200):
        make_synced(company, f"N{n}", "" if n % 4 == 0 else "Kim")  # 150 named, then 50 blanks: 4 pages
    manager_client.get("/directory/")
    with django_assert_max_num_queries(6):  # session, manager, company, the count, the page, linked people
        manager_client.get("/directory/", {"page": 1})
    with django_assert_max_num_queries(7):  # the far half also counts the blanks, to read its run in reverse
        manager_client.get("/directory/", {"page": 4})


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(names=st.lists(st.tuples(st.text(NAME_ALPHABET, min_size=1, max_size=5),
                                st.text(NAME_ALPHABET, max_size=5)), min_size=1, max_size=8),
       query=st.text(NAME_ALPHABET, min_size=1, max_size=6))
def test_directory_search_agrees_with_python(company, names, query):
    """Whole text starts a field, or every word starts one: the SQL finds exactly what Python finds."""
    Contact.objects.filter(company=company).delete()
    Contact.objects.bulk_create([
        Contact(company=company, first_name=first, last_name=last, office_phone=f"+1 {n}")
        for n, (first, last) in enumerate(names)
    ])
    found = set(contact_list(company=company, search=query).values_list("office_phone", flat=True))
    words = search_fold(query).split()
    expected = set()
    for n, (first, last) in enumerate(names):
        fields = [search_fold(first), search_fold(last), f"+1 {n}"]
        whole = " ".join(words)
        if not words or any(f.startswith(whole) for f in fields) or all(
                any(f.startswith(w) for f in fields) for w in words):
            expected.add(f"+1 {n}")
    assert found == expected


def test_long_addresses_may_wrap_after_the_at_and_before_dots_and_stay_escaped():
    from directory.templatetags.addresses import breakable

    assert breakable("anna.kim@vertical.onmicrosoft.com") == "anna<wbr>.kim@<wbr>vertical<wbr>.onmicrosoft<wbr>.com"
    assert breakable("<b>x</b>@y.z") == "&lt;b&gt;x&lt;/b&gt;@<wbr>y<wbr>.z"
    assert breakable(None) == ""


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(last_names=st.lists(st.sampled_from(["", "a", "b", "B", "c"]), min_size=1, max_size=12),
       window=st.tuples(st.integers(0, 14), st.integers(0, 14)), descending=st.booleans())
def test_any_slice_of_the_listing_is_the_order_with_blanks_last(company, last_names, window, descending):
    """Whatever the slice (forward, across the runs, in the far half read in reverse), it is the slice of one order:
    the database's order of the filled rows, then the blanks (descending puts '' last by itself)."""
    Contact.objects.filter(company=company).delete()
    Contact.objects.bulk_create([Contact(company=company, last_name=name, first_name=f"f{n}")
                                 for n, name in enumerate(last_names)])
    ordered = list(contact_list(company=company, sort="name", descending=descending))
    expected = [c.pk for c in ordered if c.last_name] + [c.pk for c in ordered if not c.last_name]
    start, stop = sorted(window)
    listing = contact_listing(company=company, sort="name", descending=descending)
    assert [c.pk for c in listing[start:stop]] == expected[start:stop]
    assert listing.count() == len(expected)
