"""Generated input to every form and query of the portal: never a 500, never half-written, always a message.

Each example posts arbitrary Unicode (NUL and other control characters, right-to-left marks, emoji, markup,
over-long strings) or wrong-typed values into every field of a form, then checks: no server error; a
refused form re-renders with a message and changes nothing; an accepted one stores only valid rows.
"""
import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aadsync.models import AadSettings, AadSettingsChange
from directory.models import Contact, Person

pytestmark = pytest.mark.django_db

NASTY = st.one_of(
    st.text(max_size=40),
    st.text(min_size=200, max_size=400),
    st.sampled_from(["", " ", "\x00", "a\x00b", "<script>alert(1)</script>", "=cmd|' /C calc'!A0", "\u202eevil",
                     "00000000-0000-0000-0000-000000000000", "99999999999999999999", "-1", "24", "1e9", "None",
                     "😀" * 30, "rich@cm1-vertical", "x" * 10_000]),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
)
FIELD_VALUE = st.one_of(NASTY, st.lists(NASTY, min_size=2, max_size=3))

FORMS = {
    "/aad/": ["use_lookup", "tenant_id", "client_id", "secret", "period", "weekday", "month_day", "exec_hour",
              "exec_minute", "exec_second", "include_guests"],
    "/users/new/": ["extension", "first_name", "last_name", "site", "group_member_type", "login", "password",
                    "password_confirm", "email", "aad_contact", "package", "user_type", "aad_confirmed"],
    "/my-information/": ["name", "email", "password", "password_confirm", "aad_contact", "aad_confirmed"],
    "/directory/new/": ["first_name", "last_name", "email", "office_phone", "mobile_phone"],
    "/login/": ["username", "password"],
    "/cu/login/": ["username", "password"],
}
QUERIES = {
    "/directory/": ["q", "sync", "sort", "page"],
    "/users/": ["q", "page"],
    "/directory/aad-accounts/": ["q", "for"],
    "/aad/history/": ["page"],
    "/login/microsoft/": ["company", "login_hint", "portal"],
}
MESSAGE_MARKERS = ("invalid-feedback", "alert-danger", "errorlist", "text-danger")
FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                        HealthCheck.too_slow])


def _snapshot(company):
    return (
        list(Person.objects.filter(company=company).order_by("pk").values()),
        list(Contact.objects.filter(company=company).order_by("pk").values()),
        list(AadSettings.objects.filter(company=company).values()),
        AadSettingsChange.objects.filter(company=company).count(),
    )


def _stored_rows_are_valid(company):
    for person in Person.objects.filter(company=company):
        person.full_clean(exclude=["password", "username"])
    for contact in Contact.objects.filter(company=company):
        contact.full_clean()
    for row in AadSettings.objects.filter(company=company):
        row.full_clean()


def _body(response) -> str:
    content = b"".join(response.streaming_content) if response.streaming else response.content
    return content.decode("utf-8", "replace")


def _in_savepoint(check):
    """Run one example and undo its writes, so that every example starts from the same data."""
    sid = transaction.savepoint()
    try:
        check()
    finally:
        transaction.savepoint_rollback(sid)


@pytest.mark.parametrize("url", list(FORMS))
def test_generated_form_input_never_500s_and_never_half_writes(url, client, manager, company):
    from aadsync.services import aad_settings_get

    aad_settings_get(company=company)  # the page creates the default row on first view; that is no half-write
    fields = FORMS[url]

    @FUZZ
    @given(data=st.fixed_dictionaries({}, optional=dict.fromkeys(fields, FIELD_VALUE)))
    def run(data):
        def check():
            client.force_login(manager)
            before = _snapshot(company)
            response = client.post(url, data)
            assert response.status_code < 500, (url, data)
            if response.status_code == 200:  # refused: a message, and nothing written
                assert any(marker in _body(response) for marker in MESSAGE_MARKERS), (url, data)
                assert _snapshot(company) == before, (url, data)
            else:
                assert response.status_code in (302, 403, 429), (url, data, response.status_code)
                _stored_rows_are_valid(company)

        _in_savepoint(check)

    run()


@pytest.mark.parametrize("url", list(QUERIES))
def test_generated_query_parameters_never_500(url, client, manager, company):
    names = QUERIES[url]

    @FUZZ
    @given(query=st.fixed_dictionaries({}, optional=dict.fromkeys(names, NASTY)))
    def run(query):
        def check():
            client.force_login(manager)
            response = client.get(url, query)
            assert response.status_code < 500, (url, query)
            if any("\x00" in value for value in query.values()):
                assert response.status_code == 400, (url, query)

        _in_savepoint(check)

    run()
