"""Searches read a bounded part of what was typed: at most 5 words and 100 characters (the directory and the
AAID ID dropdown alike), so a query of fifty one-letter words costs what a query of five does."""
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from directory.selectors import (
    SEARCH_MAX_LENGTH,
    SEARCH_MAX_WORDS,
    aad_account_search,
    contact_list,
    search_text,
)

pytestmark = pytest.mark.django_db
MANY_WORDS = " ".join("abcdefghijklmnopqrstuvwxyz"[i % 26] for i in range(50))


def _sql(run) -> str:
    with CaptureQueriesContext(connection) as captured:
        run()
    return " ".join(query["sql"] for query in captured.captured_queries)


def test_only_the_first_five_words_are_read():
    assert search_text(MANY_WORDS).split(" ") == ["a", "b", "c", "d", "e"]
    assert SEARCH_MAX_WORDS == 5


def test_only_the_first_100_characters_are_read():
    assert search_text("x" * 5000) == "x" * SEARCH_MAX_LENGTH == "x" * 100


def test_directory_search_of_fifty_words_is_the_search_of_five(company, make_synced):
    make_synced(company, "Anna", "Bell", email="c.d@e.com")
    fifty = _sql(lambda: list(contact_list(company=company, search=MANY_WORDS)))
    five = _sql(lambda: list(contact_list(company=company, search="a b c d e")))
    assert fifty == five


def test_dropdown_search_of_fifty_words_is_the_search_of_five(company, make_synced):
    make_synced(company, "Anna", "Bell")
    fifty = _sql(lambda: aad_account_search(company=company, text=MANY_WORDS))
    five = _sql(lambda: aad_account_search(company=company, text="a b c d e"))
    assert fifty == five


def test_words_after_the_fifth_are_ignored(company, make_synced):
    kim = make_synced(company, "Minsu", "Kim")
    found = list(contact_list(company=company, search="kim min kim min kim " + "zzz " * 40))
    assert found == [kim]


def test_the_directory_page_answers_a_huge_search(manager_client):
    assert manager_client.get("/directory/", {"q": MANY_WORDS * 20}).status_code == 200
    assert manager_client.get("/directory/aad-accounts/", {"q": MANY_WORDS * 20}).status_code == 200
